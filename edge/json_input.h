// JSON from outside the process, read and written without recursion on untrusted depth.
//
// nlohmann::json parses and destroys iteratively, but dump(), copies and comparisons
// recurse once per nesting level: a 100,000-level array (a 200 KB body) overflows a
// thread's stack in dump(). Every JSON text redge did not build itself (HTTP bodies, the
// legacy-worker bridge's SET and PUBLISH values, records in the store, which any RESP
// client can overwrite) is therefore parsed with ParseJson, which refuses a text nesting
// arrays and objects deeper than a limit before nlohmann builds anything, so nothing
// recursive ever runs on more than that depth.
//
// dump() also throws on a string that is not valid UTF-8 (a worker's raw SET value kept as
// a string); DumpJson replaces such bytes with U+FFFD instead, so serializing a stored
// value can never throw out of a store transaction or an event loop.
//
// Thread-safety: free functions without state.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace redge {

// Deepest nesting of arrays and objects accepted from a client: an HTTP body, a worker's
// result or progress message (docs/http-api.md, "Limits").
inline constexpr int kMaxJsonInputDepth = 128;
// Records redge writes wrap a client's value in a few levels of their own (a job record
// holds the payload, an event record its data, an API reply a list of events), so reading
// them back allows that much more.
inline constexpr int kMaxJsonRecordDepth = kMaxJsonInputDepth + 8;

// The deepest nesting of arrays and objects in `text`, counted outside strings ("1" is 0,
// "[[1]]" is 2); stops counting (and returns a value > limit) once `limit` is passed.
// Only meaningful for texts that are JSON; a malformed text fails to parse anyway.
inline int JsonNestingDepth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

enum class JsonError { kNone, kSyntax, kTooDeep };

// Parses `text` into *out unless it is not JSON (kSyntax) or nests deeper than
// `max_depth` (kTooDeep); *out is then unchanged. Never throws.
inline JsonError ParseJson(std::string_view text, nlohmann::json* out,
                           int max_depth = kMaxJsonInputDepth) {
  if (JsonNestingDepth(text, max_depth) > max_depth) return JsonError::kTooDeep;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return JsonError::kSyntax;
  *out = std::move(j);
  return JsonError::kNone;
}

// A stored record redge wrote: the value, or a discarded json when it is not JSON or
// nests deeper than kMaxJsonRecordDepth (someone overwrote it over RESP).
inline nlohmann::json ParseRecord(std::string_view text) {
  nlohmann::json j(nlohmann::json::value_t::discarded);
  (void)ParseJson(text, &j, kMaxJsonRecordDepth);
  return j;
}

// The message of a 400 or of a refused bridge message for `error`.
inline std::string JsonErrorText(JsonError error) {
  if (error == JsonError::kTooDeep) {
    return "JSON nests arrays and objects deeper than " + std::to_string(kMaxJsonInputDepth) +
           " levels";
  }
  return "not valid JSON";
}

// Compact JSON text of `j`; bytes of strings that are not UTF-8 become U+FFFD. Never
// throws. `j` must come from ParseJson/ParseRecord or from redge's own code (its depth is
// then bounded).
inline std::string DumpJson(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace redge
