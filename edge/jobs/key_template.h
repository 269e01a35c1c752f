// KeyTemplate: a key or channel name with one placeholder, e.g. "redge:response:{id}" or a
// bare "{id}", so deployments keep the names their legacy workers already use.
//
// Thread-safety: immutable after construction.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace redge::jobs {

class KeyTemplate {
 public:
  // `tmpl` must contain `placeholder` (e.g. "{id}") exactly once (the config checks it).
  KeyTemplate(std::string tmpl, std::string_view placeholder);

  std::string Format(std::string_view value) const {
    return prefix_ + std::string(value) + suffix_;
  }
  // The placeholder's value if `name` has this template's shape and a non-empty value.
  std::optional<std::string_view> Match(std::string_view name) const;
  // Everything before the placeholder: observers register for this prefix.
  const std::string& prefix() const { return prefix_; }
  const std::string& text() const { return text_; }

 private:
  std::string text_, prefix_, suffix_;
};

}  // namespace redge::jobs
