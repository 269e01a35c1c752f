#include "edge/jobs/key_template.h"

#include "edge/log.h"

namespace redge::jobs {

KeyTemplate::KeyTemplate(std::string tmpl, std::string_view placeholder) : text_(std::move(tmpl)) {
  size_t at = text_.find(placeholder);
  if (at == std::string::npos) {
    prefix_ = text_;
    return;
  }
  prefix_ = text_.substr(0, at);
  suffix_ = text_.substr(at + placeholder.size());
}

std::optional<std::string_view> KeyTemplate::Match(std::string_view name) const {
  if (name.size() <= prefix_.size() + suffix_.size()) return std::nullopt;
  if (name.substr(0, prefix_.size()) != prefix_) return std::nullopt;
  if (name.substr(name.size() - suffix_.size()) != suffix_) return std::nullopt;
  return name.substr(prefix_.size(), name.size() - prefix_.size() - suffix_.size());
}

}  // namespace redge::jobs
