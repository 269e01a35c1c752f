#include "edge/auth/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "edge/auth/crypto.h"
#include "edge/auth_guard.h"
#include "edge/json_input.h"

namespace redge::auth {

using nlohmann::json;
using store::Status;

namespace {

constexpr size_t kMaxJwksBytes = 1 << 20;
// JSON of headers, payloads and JWKS documents nests a few levels at most.
constexpr int kMaxJwtJsonDepth = 16;

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

BnPtr Bn(const std::string& bytes) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                         static_cast<int>(bytes.size()), nullptr));
}

// Builds a public key of `type` ("RSA", "EC") from OpenSSL parameters.
std::shared_ptr<EVP_PKEY> FromParams(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  if (params == nullptr) return nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* pkey = nullptr;
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    pkey = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return pkey ? std::shared_ptr<EVP_PKEY>(pkey, PkeyFree()) : nullptr;
}

std::shared_ptr<EVP_PKEY> RsaKey(const std::string& n, const std::string& e) {
  BnPtr bn_n = Bn(n), bn_e = Bn(e);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  std::shared_ptr<EVP_PKEY> key;
  if (bld && bn_n && bn_e && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n.get()) &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    key = FromParams("RSA", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  return key;
}

std::shared_ptr<EVP_PKEY> P256Key(const std::string& x, const std::string& y) {
  if (x.size() != 32 || y.size() != 32) return nullptr;
  std::string point = "\x04" + x + y;  // uncompressed SEC1 point
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  std::shared_ptr<EVP_PKEY> key;
  if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size())) {
    key = FromParams("EC", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  return key;
}

// The public key of a DER X.509 certificate (a JWK's x5c).
std::shared_ptr<EVP_PKEY> CertKey(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (cert == nullptr) return nullptr;
  EVP_PKEY* pkey = X509_get_pubkey(cert);
  X509_free(cert);
  return pkey ? std::shared_ptr<EVP_PKEY>(pkey, PkeyFree()) : nullptr;
}

bool IsP256(EVP_PKEY* key) {
  char group[64] = {0};
  size_t len = 0;
  return EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        &len) == 1 &&
         std::string_view(group, len) == "prime256v1";
}

std::optional<std::string> B64Field(const json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return std::nullopt;
  return Base64UrlDecode(it->get<std::string>());
}

std::string StringField(const json& obj, const char* name) {
  auto it = obj.find(name);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool VerifyWith(const JwtKey& key, std::string_view signed_part, const std::string& sig) {
  if (key.alg == "HS256") {
    return SecretEquals(sig, HmacSha256(key.secret, signed_part));
  }
  std::string der;
  if (key.alg == "ES256") {
    // JWS carries r || s (32 bytes each); OpenSSL verifies DER.
    if (sig.size() != 64) return false;
    ECDSA_SIG* es = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr);
    if (es == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(es, r, s) != 1) {
      BN_free(r);
      BN_free(s);
      ECDSA_SIG_free(es);
      return false;
    }
    unsigned char* out = nullptr;
    const int len = i2d_ECDSA_SIG(es, &out);
    ECDSA_SIG_free(es);
    if (len <= 0) return false;
    der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(len));
    OPENSSL_free(out);
  } else if (key.alg == "RS256") {
    if (static_cast<int>(sig.size()) != EVP_PKEY_get_size(key.public_key.get())) return false;
  } else {
    return false;
  }
  const std::string& to_verify = key.alg == "ES256" ? der : sig;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok =
      ctx != nullptr &&
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.public_key.get()) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(to_verify.data()),
                       to_verify.size(), reinterpret_cast<const unsigned char*>(signed_part.data()),
                       signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

// The value at a dotted path ("realm_access.roles"), or null.
const json* ClaimAt(const json& payload, std::string_view path) {
  const json* at = &payload;
  while (true) {
    if (!at->is_object()) return nullptr;
    const size_t dot = path.find('.');
    auto it = at->find(std::string(path.substr(0, dot)));
    if (it == at->end()) return nullptr;
    at = &*it;
    if (dot == std::string_view::npos) return at;
    path.remove_prefix(dot + 1);
  }
}

// A NumericDate claim as whole seconds; nullopt when absent or not a finite number.
std::optional<int64_t> NumericDate(const json& payload, const char* name, bool* malformed) {
  auto it = payload.find(name);
  if (it == payload.end()) return std::nullopt;
  if (!it->is_number() || !std::isfinite(it->get<double>()) || std::abs(it->get<double>()) > 1e15) {
    *malformed = true;
    return std::nullopt;
  }
  return static_cast<int64_t>(std::floor(it->get<double>()));
}

std::vector<Grant> GrantsFromClaim(const json& claim) {
  std::vector<std::string> items;
  if (claim.is_array()) {
    for (const json& v : claim) {
      if (v.is_string()) items.push_back(v.get<std::string>());
    }
  } else if (claim.is_string()) {
    std::string s = claim.get<std::string>();
    for (char& c : s) {
      if (c == ',') c = ' ';
    }
    std::istringstream in(s);
    for (std::string w; in >> w;) items.push_back(w);
  }
  std::vector<Grant> grants;
  for (const std::string& item : items) {
    if (auto g = ParseGrant(item)) grants.push_back(std::move(*g));
  }
  return grants;
}

bool UsableOwner(const std::string& s) {
  if (s.empty() || s.size() > 256) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

store::Result<JwtKeySet> JwtKeySet::FromJwks(std::string_view text, const std::string& source,
                                             int* skipped) {
  if (skipped) *skipped = 0;
  json doc;
  if (text.size() > kMaxJwksBytes || ParseJson(text, &doc, kMaxJwtJsonDepth) != JsonError::kNone ||
      !doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
    return Status::InvalidArgument(source + ": not a JWKS document ({\"keys\": [...]})");
  }
  JwtKeySet set;
  int index = -1;
  for (const json& jwk : doc["keys"]) {
    index++;
    const std::string where = source + ": key " + std::to_string(index);
    if (!jwk.is_object()) return Status::InvalidArgument(where + " is not an object");
    const std::string kty = StringField(jwk, "kty");
    const std::string use = StringField(jwk, "use");
    const std::string alg = StringField(jwk, "alg");
    const std::string kid = StringField(jwk, "kid");
    auto skip = [&] {
      if (skipped) (*skipped)++;
    };
    if (!use.empty() && use != "sig") {
      skip();
      continue;
    }
    JwtKey key;
    key.kid = kid;
    if (kty == "RSA" && (alg.empty() || alg == "RS256")) {
      key.alg = "RS256";
      auto n = B64Field(jwk, "n"), e = B64Field(jwk, "e");
      if (n && e) {
        key.public_key = RsaKey(*n, *e);
      } else if (jwk.contains("x5c") && jwk["x5c"].is_array() && !jwk["x5c"].empty() &&
                 jwk["x5c"][0].is_string()) {
        if (auto der = Base64Decode(jwk["x5c"][0].get<std::string>()))
          key.public_key = CertKey(*der);
        if (key.public_key && EVP_PKEY_get_base_id(key.public_key.get()) != EVP_PKEY_RSA) {
          key.public_key = nullptr;
        }
      }
      if (!key.public_key) return Status::InvalidArgument(where + ": malformed RSA key");
      if (EVP_PKEY_get_bits(key.public_key.get()) < 2048) {
        return Status::InvalidArgument(where + ": RSA keys must have at least 2048 bits");
      }
    } else if (kty == "EC" && StringField(jwk, "crv") == "P-256" &&
               (alg.empty() || alg == "ES256")) {
      key.alg = "ES256";
      auto x = B64Field(jwk, "x"), y = B64Field(jwk, "y");
      if (x && y) key.public_key = P256Key(*x, *y);
      if (!key.public_key || !IsP256(key.public_key.get())) {
        return Status::InvalidArgument(where + ": malformed EC P-256 key");
      }
    } else {
      skip();  // another key type, curve or algorithm: never used to verify anything
      continue;
    }
    for (const JwtKey& k : set.keys_) {
      if (!kid.empty() && k.kid == kid) {
        return Status::InvalidArgument(where + ": kid '" + kid + "' appears twice");
      }
    }
    set.keys_.push_back(std::move(key));
  }
  if (set.keys_.empty()) {
    return Status::InvalidArgument(source + ": no RS256 or ES256 signing key in the JWKS");
  }
  return set;
}

store::Result<JwtKeySet> JwtKeySet::LoadJwksFile(const std::string& path, int* skipped) {
  std::ifstream f(path);
  if (!f) return Status::InvalidArgument("cannot read the JWKS file " + path);
  std::stringstream text;
  text << f.rdbuf();
  return FromJwks(text.str(), path, skipped);
}

store::Result<JwtKeySet> JwtKeySet::FromSecret(std::string secret) {
  if (secret.size() < 32) {
    return Status::InvalidArgument("jwt-secret must be at least 32 bytes (256 bits) for HS256");
  }
  JwtKeySet set;
  JwtKey key;
  key.alg = "HS256";
  key.secret = std::move(secret);
  set.keys_.push_back(std::move(key));
  return set;
}

void JwtKeySet::Merge(const JwtKeySet& other) {
  keys_.insert(keys_.end(), other.keys_.begin(), other.keys_.end());
}

std::string_view JwtErrorText(JwtError e) {
  switch (e) {
    case JwtError::kNone:
      return "ok";
    case JwtError::kMalformed:
      return "jwt: malformed";
    case JwtError::kAlgorithm:
      return "jwt: algorithm refused";
    case JwtError::kUnknownKey:
      return "jwt: no key for its kid and algorithm";
    case JwtError::kBadSignature:
      return "jwt: bad signature";
    case JwtError::kNoExpiry:
      return "jwt: no exp claim";
    case JwtError::kExpired:
      return "jwt: expired";
    case JwtError::kNotYetValid:
      return "jwt: not yet valid";
    case JwtError::kIssuer:
      return "jwt: wrong issuer";
    case JwtError::kAudience:
      return "jwt: wrong audience";
    case JwtError::kNoOwner:
      return "jwt: no usable owner claim";
  }
  return "jwt: refused";
}

bool JwtSignatureWasValid(JwtError e) {
  return e == JwtError::kExpired || e == JwtError::kNotYetValid || e == JwtError::kIssuer ||
         e == JwtError::kAudience || e == JwtError::kNoOwner || e == JwtError::kNoExpiry;
}

bool LooksLikeJwt(std::string_view token) {
  if (token.size() > kMaxJwtBytes) return false;
  int dots = 0;
  size_t part = 0;
  for (char c : token) {
    if (c == '.') {
      if (part == 0) return false;
      dots++;
      part = 0;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_')) {
      return false;
    }
    part++;
  }
  // An empty signature is an unsecured JWT (alg none): recognised, then refused.
  return dots == 2;
}

JwtResult VerifyJwt(std::string_view token, const JwtKeySet& keys, const JwtPolicy& policy,
                    int64_t now_ms) {
  JwtResult result;
  auto fail = [&](JwtError e) {
    result.error = e;
    return result;
  };
  if (!LooksLikeJwt(token)) return fail(JwtError::kMalformed);
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.find('.', dot1 + 1);
  const std::string_view signed_part = token.substr(0, dot2);
  auto header_text = Base64UrlDecode(token.substr(0, dot1));
  auto payload_text = Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto sig = Base64UrlDecode(token.substr(dot2 + 1));
  json header, payload;
  if (!header_text || !payload_text || !sig ||
      ParseJson(*header_text, &header, kMaxJwtJsonDepth) != JsonError::kNone ||
      ParseJson(*payload_text, &payload, kMaxJwtJsonDepth) != JsonError::kNone ||
      !header.is_object() || !payload.is_object()) {
    return fail(JwtError::kMalformed);
  }
  if (header.contains("crit")) return fail(JwtError::kMalformed);
  const std::string alg = StringField(header, "alg");
  if (alg != "HS256" && alg != "RS256" && alg != "ES256") return fail(JwtError::kAlgorithm);
  const bool has_kid = header.contains("kid");
  if (has_kid && !header["kid"].is_string()) return fail(JwtError::kMalformed);
  const std::string kid = has_kid ? header["kid"].get<std::string>() : "";

  // The key: pinned to one algorithm each; the secret key matches any kid.
  bool kid_of_other_alg = false;
  bool verified = false, tried = false;
  for (const JwtKey& key : keys.keys()) {
    const bool kid_matches = !has_kid || key.kid.empty() || key.kid == kid;
    if (!kid_matches) continue;
    if (key.alg != alg) {
      if (has_kid && !key.kid.empty()) kid_of_other_alg = true;
      continue;
    }
    tried = true;
    if (VerifyWith(key, signed_part, *sig)) {
      verified = true;
      break;
    }
  }
  if (!tried) return fail(kid_of_other_alg ? JwtError::kAlgorithm : JwtError::kUnknownKey);
  if (!verified) return fail(JwtError::kBadSignature);

  // Claims.
  const int64_t now_s = now_ms / 1000;
  bool malformed = false;
  auto exp = NumericDate(payload, "exp", &malformed);
  auto nbf = NumericDate(payload, "nbf", &malformed);
  auto iat = NumericDate(payload, "iat", &malformed);
  if (malformed) return fail(JwtError::kMalformed);
  if (!exp) return fail(JwtError::kNoExpiry);
  if (now_s >= *exp + policy.clock_skew_s) return fail(JwtError::kExpired);
  if (nbf && now_s + policy.clock_skew_s < *nbf) return fail(JwtError::kNotYetValid);
  if (iat && now_s + policy.clock_skew_s < *iat) return fail(JwtError::kNotYetValid);
  if (!policy.issuer.empty() && StringField(payload, "iss") != policy.issuer) {
    return fail(JwtError::kIssuer);
  }
  if (!policy.audience.empty()) {
    bool match = false;
    if (auto it = payload.find("aud"); it != payload.end()) {
      if (it->is_string()) match = it->get<std::string>() == policy.audience;
      if (it->is_array()) {
        for (const json& a : *it)
          match = match || (a.is_string() && a.get<std::string>() == policy.audience);
      }
    }
    if (!match) return fail(JwtError::kAudience);
  }
  const json* owner = ClaimAt(payload, policy.owner_claim);
  if (owner == nullptr || !owner->is_string() || !UsableOwner(owner->get<std::string>())) {
    return fail(JwtError::kNoOwner);
  }
  Principal& p = result.principal;
  p.kind = Principal::Kind::kJwt;
  p.owner = "jwt:" + owner->get<std::string>();
  p.name = p.owner;
  p.expires_at_ms = (*exp + policy.clock_skew_s) * 1000;
  const json* roles = policy.roles_claim.empty() ? nullptr : ClaimAt(payload, policy.roles_claim);
  p.grants = roles ? GrantsFromClaim(*roles) : policy.default_grants;
  return result;
}

}  // namespace redge::auth
