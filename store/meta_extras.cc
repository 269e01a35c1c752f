#include "store/meta_extras.h"

#include <cstdint>
#include <cstring>
#include <functional>

namespace redge::store::extras {
namespace {

constexpr size_t kHeader = 5;  // tag + 4-byte length

// Visits the records of `raw` until `fn` returns false. False if `raw` is malformed.
bool ForEach(std::string_view raw, const std::function<bool(char, std::string_view)>& fn) {
  if (raw.empty()) return true;
  if (raw[0] == kZSetHints) {  // legacy: the seek hints alone
    fn(kZSetHints, raw.substr(1));
    return true;
  }
  if (raw[0] != kVersion1) return false;
  size_t pos = 1;
  while (pos < raw.size()) {
    if (raw.size() - pos < kHeader) return false;
    uint32_t len = 0;
    memcpy(&len, raw.data() + pos + 1, sizeof(len));
    if (raw.size() - pos - kHeader < len) return false;
    if (!fn(raw[pos], raw.substr(pos + kHeader, len))) return true;
    pos += kHeader + len;
  }
  return true;
}

void AppendRecord(std::string* out, char tag, std::string_view payload) {
  out->push_back(tag);
  const auto len = static_cast<uint32_t>(payload.size());
  out->append(reinterpret_cast<const char*>(&len), sizeof(len));
  out->append(payload);
}

// Rebuilds `*raw` without `tag`, then with (tag, *payload) when given.
void Rewrite(std::string* raw, char tag, const std::string_view* payload) {
  std::string out(1, kVersion1);
  ForEach(*raw, [&](char t, std::string_view p) {
    if (t != tag) AppendRecord(&out, t, p);
    return true;
  });
  if (payload != nullptr) AppendRecord(&out, tag, *payload);
  if (out.size() == 1) out.clear();
  *raw = std::move(out);
}

}  // namespace

std::optional<std::string_view> Get(std::string_view raw, char tag) {
  std::optional<std::string_view> found;
  ForEach(raw, [&](char t, std::string_view p) {
    if (t != tag) return true;
    found = p;
    return false;
  });
  return found;
}

void Put(std::string* raw, char tag, std::string_view payload) {
  // A payload may point into *raw (a caller re-putting what it read): copy it first.
  std::string copy(payload);
  std::string_view p(copy);
  Rewrite(raw, tag, &p);
}

void Erase(std::string* raw, char tag) {
  if (!Get(*raw, tag)) return;
  Rewrite(raw, tag, nullptr);
}

}  // namespace redge::store::extras
