// API keys: the --api-keys file, one key per line
//
//   ROLE QUEUE_GLOB SHA256_HEX_OF_KEY [NAME]      # comment
//
// Only the SHA-256 of each key is stored, so the file (and a backup of it) does not hold
// a credential. Several lines with the same hash give one key several grants (e.g. a
// backend that is producer and reader on "chat*"); they must agree on the name. A key
// without a name is called by the first 12 hex digits of its hash. `redge new-key` makes
// a key and its line.
//
// Thread-safety: an ApiKeys is an immutable value once loaded; share it freely.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "edge/auth/principal.h"
#include "store/status.h"

namespace redge::auth {

struct ApiKey {
  std::string hash;  // 64 lower-case hex characters
  std::string name;
  std::vector<Grant> grants;
};

class ApiKeys {
 public:
  // Parses the file's text; errors name `path`, the line and what is wrong (never a
  // key: the file holds none).
  static store::Result<ApiKeys> Parse(std::string_view text, const std::string& path);
  static store::Result<ApiKeys> Load(const std::string& path);

  // The key whose hash is SHA-256(`key`), or null. The hash is compared with every entry
  // in constant time (no early exit), so timing tells nothing about which entry, or how
  // much of one, matched.
  const ApiKey* Find(std::string_view key) const;
  // The entry with this hash, or null (reload checks of open streams).
  const ApiKey* FindByHash(std::string_view hash) const;
  size_t size() const { return keys_.size(); }

 private:
  std::vector<ApiKey> keys_;
};

// Names of keys and owners: 1-64 characters of A-Z a-z 0-9 _ - . : @
bool ValidKeyName(std::string_view name);

struct NewApiKey {
  std::string key;   // "rk_" + 43 base64url characters (256 random bits)
  std::string line;  // the line for the --api-keys file
};
// A fresh random key for `role` on `queue_glob` (redge new-key). Errors say which
// argument is wrong.
store::Result<NewApiKey> MakeApiKey(std::string_view role, std::string_view queue_glob,
                                    std::string_view name);

}  // namespace redge::auth
