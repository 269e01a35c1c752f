// AccessControl: turns the credential of an HTTP request into a Principal (auth/
// principal.h says what principals may do). Credentials, all sent as
// `Authorization: Bearer <credential>` or `?access_token=<credential>`:
//   --http-token T     the admin token (as before roles existed)
//   --api-keys FILE    hashed API keys with roles on queue globs (auth/api_keys.h)
//   --jwt-secret S / --jwt-jwks FILE   JWTs (auth/jwt.h)
//   stream tokens      minted for each job in its 202 (auth/stream_tokens.h)
// With none of the first three configured, access control is off: every request is the
// anonymous admin (loopback-only unless --insecure; config.cc enforces it).
//
// Thread-safety: Authenticate, MintStreamToken and StillValid from any thread; Reload
// from one thread at a time (SIGHUP). A reload swaps whole snapshots under a mutex, so a
// request sees either the old keys or the new ones, never a mix.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "edge/auth/api_keys.h"
#include "edge/auth/jwt.h"
#include "edge/auth/principal.h"
#include "edge/auth/stream_tokens.h"
#include "store/status.h"

namespace redge::auth {

struct AccessOptions {
  std::string http_token;
  std::string api_keys_file;
  std::string jwt_secret;
  std::string jwt_jwks_file;
  JwtPolicy jwt;
  std::string data_dir;  // where the stream-token keys live
  int64_t stream_token_ttl_ms = 3'600'000;
};

class AccessControl {
 public:
  // Loads every configured file; fails (naming the file and line) if one is invalid.
  static store::Result<std::unique_ptr<AccessControl>> Create(AccessOptions options);

  // Whether any credential is configured (else every request is the anonymous admin).
  bool enabled() const { return enabled_; }

  struct Outcome {
    enum class Kind {
      kOk,
      kMissing,  // no credential at all
      kInvalid,  // a guess: unknown token or key, bad signature, malformed
      kStale,    // a genuine credential that is expired, not yet valid or for another
                 // audience: refused, but not counted as a guess
    };
    Kind kind = Kind::kMissing;
    std::shared_ptr<const Principal> principal;  // set for kOk
    std::string reason;                          // for logs; never contains the credential
  };
  // `credential` is nullopt when the request carries none.
  Outcome Authenticate(const std::optional<std::string>& credential, int64_t now_ms) const;

  // Re-reads --api-keys, --jwt-jwks and the stream-token keys (SIGHUP). A file that fails
  // to load keeps its previous contents; each failure is returned (for the log).
  std::vector<std::string> Reload();

  // A stream token for `job_id`, valid for the configured TTL from `now_ms`.
  std::string MintStreamToken(std::string_view job_id, int64_t now_ms,
                              int64_t* expires_at_ms) const;

  // Whether a principal authenticated earlier would still be accepted now: its API key
  // is still in the file with the same grants (a reload can revoke a key); other kinds
  // are valid until their expiry.
  bool StillValid(const Principal& p) const;

  // "bearer token, 3 API keys, JWT (HS256, 2 JWKS keys)" for the startup log.
  std::string Describe() const;

 private:
  explicit AccessControl(AccessOptions options) : options_(std::move(options)) {}
  struct Snapshot {
    std::shared_ptr<const ApiKeys> api_keys;
    std::shared_ptr<const JwtKeySet> jwt_keys;
    std::shared_ptr<const StreamTokenKeys> stream_keys;
  };
  Snapshot snapshot() const;
  store::Result<std::shared_ptr<const JwtKeySet>> LoadJwtKeys() const;

  const AccessOptions options_;
  bool enabled_ = false;
  mutable std::mutex mu_;
  Snapshot state_;
};

}  // namespace redge::auth
