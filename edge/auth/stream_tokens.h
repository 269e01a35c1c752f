// Per-job stream tokens: what an app backend hands a browser so that it can watch one job
// (its SSE stream, long-poll and GET routes) and nothing else, until the token expires.
//
//   rst1.<job id>.<expiry, unix seconds>.<kid>.<base64url HMAC-SHA256>
//
// The MAC covers everything before it, under a server key kept in the data directory
// (file `stream-token-keys`, mode 0600, created at the first start). Keys are rotatable:
// `redge rotate-stream-key` puts a new current key first and keeps the old one for a grace
// period (its `not_after`), after which tokens it signed are refused even if unexpired; a
// running server picks the new file up on SIGHUP. Several instances behind one address
// share the file.
//
// Thread-safety: StreamTokenKeys is immutable once loaded (share it through a shared_ptr).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "edge/auth/principal.h"
#include "store/status.h"

namespace redge::auth {

inline constexpr char kStreamTokenPrefix[] = "rst1.";
inline constexpr char kStreamKeyFile[] = "stream-token-keys";

class StreamTokenKeys {
 public:
  struct Key {
    std::string kid;       // 8 hex digits
    std::string secret;    // 32 bytes
    int64_t not_after_ms;  // 0: the current key; else accepted until then
  };

  // Reads `dir`/stream-token-keys; creates it with one fresh key when it does not exist.
  static store::Result<StreamTokenKeys> LoadOrCreate(const std::string& dir);
  static store::Result<StreamTokenKeys> Load(const std::string& dir);
  // redge rotate-stream-key: a new current key; the previous current one is accepted for
  // `grace_ms` more; keys whose grace ended are dropped. Writes the file atomically.
  static store::Status Rotate(const std::string& dir, int64_t grace_ms, int64_t now_ms);

  // A token for `job_id` valid until `expires_at_ms` (rounded down to the second).
  std::string Mint(std::string_view job_id, int64_t expires_at_ms) const;

  enum class Check { kOk, kMalformed, kUnknownKey, kBadMac, kExpired, kKeyRetired };
  struct Verified {
    Check check = Check::kMalformed;
    Principal principal;  // kStreamToken for the job, when kOk
  };
  Verified Verify(std::string_view token, int64_t now_ms) const;

  const std::vector<Key>& keys() const { return keys_; }

 private:
  std::vector<Key> keys_;  // current first
};

std::string_view StreamTokenCheckText(StreamTokenKeys::Check c);
inline bool LooksLikeStreamToken(std::string_view token) {
  return token.substr(0, sizeof(kStreamTokenPrefix) - 1) == kStreamTokenPrefix;
}

}  // namespace redge::auth
