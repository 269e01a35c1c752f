// JSON Web Tokens (RFC 7519) for browsers and app users: HS256 with a shared secret
// (--jwt-secret), RS256 and ES256 with public keys from a JWKS file (--jwt-jwks; e.g.
// Google's keys for Firebase ID tokens, saved to a file). Verified with OpenSSL directly.
//
// What a token must satisfy:
//  - Three base64url parts, a JSON header and payload, at most kMaxJwtBytes in all; a
//    header with `crit` is refused (no extension is understood).
//  - `alg` is pinned per key: the secret verifies HS256 only, an RSA key RS256 only, a
//    P-256 key ES256 only (a JWK's own `alg`, when present, must say the same). `none`
//    and every other algorithm are refused, and so is a token whose `kid` names a key of
//    another algorithm (the HS256-signed-with-the-RSA-public-key confusion).
//  - `kid`, when present, selects the key; without one every key of the token's
//    algorithm is tried.
//  - `exp` is required; `exp`, `nbf` and `iat` are checked with the clock skew; `iss`
//    and `aud` must match the policy's when it names them.
//  - The owner claim (default `sub`) is a non-empty string of at most 256 printable
//    characters; it becomes the principal's owner "jwt:<value>".
//  - Roles: the policy's roles claim (a dotted path into the payload), when present in
//    the token, is a list of "ROLE" or "ROLE:QUEUE_GLOB" strings (or one string of them
//    separated by spaces or commas); unknown entries grant nothing. A token without the
//    claim gets the policy's default grants (producer on every queue by default).
//
// Thread-safety: JwtKeySet is immutable once built (share it through a shared_ptr);
// VerifyJwt is a pure function.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "edge/auth/principal.h"
#include "store/status.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace redge::auth {

inline constexpr size_t kMaxJwtBytes = 16 * 1024;

struct JwtKey {
  std::string kid;     // empty for the --jwt-secret key
  std::string alg;     // "HS256", "RS256" or "ES256": the only algorithm this key verifies
  std::string secret;  // HS256
  std::shared_ptr<EVP_PKEY> public_key;  // RS256, ES256
};

class JwtKeySet {
 public:
  // Keys of a JWKS document ({"keys": [...]}). RSA keys (>= 2048 bits) and EC P-256 keys
  // with `use` absent or "sig" are taken (n/e, x/y, or the first x5c certificate); keys of
  // other types, curves or algorithms are skipped and counted in *skipped. Fails when the
  // text is not a JWKS, a taken key is malformed, two keys share a kid, or no key is left.
  static store::Result<JwtKeySet> FromJwks(std::string_view json, const std::string& source,
                                           int* skipped = nullptr);
  static store::Result<JwtKeySet> LoadJwksFile(const std::string& path, int* skipped = nullptr);
  // The HS256 key. The secret must be at least 32 bytes (RFC 7518 3.2).
  static store::Result<JwtKeySet> FromSecret(std::string secret);
  void Merge(const JwtKeySet& other);
  const std::vector<JwtKey>& keys() const { return keys_; }

 private:
  std::vector<JwtKey> keys_;
};

struct JwtPolicy {
  std::string issuer;    // empty: any iss
  std::string audience;  // empty: any aud
  int64_t clock_skew_s = 60;
  std::string owner_claim = "sub";
  std::string roles_claim;  // empty: every token gets default_grants
  std::vector<Grant> default_grants{Grant{Role::kProducer, "*"}};
};

enum class JwtError {
  kNone,
  kMalformed,     // not a JWT, bad base64url or JSON, `crit`, too big
  kAlgorithm,     // alg none, unsupported, or not the algorithm of the key it names
  kUnknownKey,    // no key of the token's algorithm (with its kid)
  kBadSignature,  // a key was found and the signature does not verify
  kNoExpiry,      // no numeric exp
  kExpired,
  kNotYetValid,  // nbf or iat in the future
  kIssuer,
  kAudience,
  kNoOwner,  // the owner claim is missing or not a usable string
};

// For logs ("jwt: expired"); never contains anything of the token.
std::string_view JwtErrorText(JwtError e);
// Whether a failure says the token was signed by a key we trust (expired, not yet valid,
// wrong audience...): such a token is a stale or misdirected credential, not a guess.
bool JwtSignatureWasValid(JwtError e);

struct JwtResult {
  JwtError error = JwtError::kNone;
  Principal principal;  // set when error == kNone
};

// Verifies `token` at `now_ms` (milliseconds since the epoch).
JwtResult VerifyJwt(std::string_view token, const JwtKeySet& keys, const JwtPolicy& policy,
                    int64_t now_ms);
// Three dot-separated base64url parts (the first two non-empty): worth trying as a JWT.
bool LooksLikeJwt(std::string_view token);

}  // namespace redge::auth
