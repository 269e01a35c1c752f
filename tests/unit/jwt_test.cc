// edge/auth/jwt: HS256/RS256/ES256 verification with keys made here by OpenSSL, JWKS
// parsing, algorithm pinning (none, HS/RS confusion), and the claims.
#include "edge/auth/jwt.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "edge/auth/crypto.h"

namespace redge::auth {
namespace {

using nlohmann::json;

constexpr int64_t kNowS = 1'700'000'000;
constexpr int64_t kNowMs = kNowS * 1000;
const std::string kSecret = "0123456789abcdef0123456789abcdef";

struct KeyPair {
  std::shared_ptr<EVP_PKEY> key;
  json jwk;
};

std::string Bn(EVP_PKEY* k, const char* name) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(k, name, &bn), 1);
  std::string out(BN_num_bytes(bn), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

KeyPair Rsa(const std::string& kid, int bits = 2048) {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
  KeyPair p{std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free), {}};
  p.jwk = {{"kty", "RSA"},
           {"kid", kid},
           {"use", "sig"},
           {"alg", "RS256"},
           {"n", Base64UrlEncode(Bn(k, OSSL_PKEY_PARAM_RSA_N))},
           {"e", Base64UrlEncode(Bn(k, OSSL_PKEY_PARAM_RSA_E))}};
  return p;
}

KeyPair P256(const std::string& kid) {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  KeyPair p{std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free), {}};
  unsigned char pub[65];
  size_t len = 0;
  EXPECT_EQ(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &len), 1);
  EXPECT_EQ(len, 65u);
  p.jwk = {{"kty", "EC"},
           {"kid", kid},
           {"crv", "P-256"},
           {"x", Base64UrlEncode(std::string(reinterpret_cast<char*>(pub) + 1, 32))},
           {"y", Base64UrlEncode(std::string(reinterpret_cast<char*>(pub) + 33, 32))}};
  return p;
}

std::string Sign(EVP_PKEY* k, std::string_view data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  EXPECT_EQ(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, k), 1);
  EXPECT_EQ(EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                           data.size()),
            1);
  std::string sig(len, '\0');
  EXPECT_EQ(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()),
            1);
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {  // DER -> r || s
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string rs(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(rs.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(rs.data()) + 32, 32);
    ECDSA_SIG_free(es);
    return rs;
  }
  return sig;
}

// header.payload signed by `key` (null: HS256 with `secret`; "" secret: no signature).
std::string Token(const json& header, const json& payload, EVP_PKEY* key,
                  const std::string& secret = kSecret) {
  std::string signed_part = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(payload.dump());
  std::string sig = key              ? Sign(key, signed_part)
                    : secret.empty() ? ""
                                     : HmacSha256(secret, signed_part);
  return signed_part + "." + Base64UrlEncode(sig);
}

json Claims() {
  return {{"sub", "user-1"},
          {"iss", "https://issuer"},
          {"aud", "proj"},
          {"iat", kNowS - 10},
          {"exp", kNowS + 300}};
}

JwtPolicy Policy() {
  JwtPolicy p;
  p.issuer = "https://issuer";
  p.audience = "proj";
  return p;
}

JwtKeySet Jwks(const std::vector<json>& jwks) {
  auto set = JwtKeySet::FromJwks(json{{"keys", jwks}}.dump(), "test");
  EXPECT_TRUE(set.ok()) << set.status().message();
  return set.ok() ? *set : JwtKeySet();
}

JwtError Check(const std::string& token, const JwtKeySet& keys, JwtPolicy policy = Policy()) {
  return VerifyJwt(token, keys, policy, kNowMs).error;
}

TEST(Jwt, Hs256WithTheSecret) {
  auto keys = JwtKeySet::FromSecret(kSecret);
  ASSERT_TRUE(keys.ok());
  JwtResult r = VerifyJwt(Token({{"alg", "HS256"}, {"typ", "JWT"}}, Claims(), nullptr), *keys,
                          Policy(), kNowMs);
  ASSERT_EQ(r.error, JwtError::kNone);
  EXPECT_EQ(r.principal.owner, "jwt:user-1");
  EXPECT_EQ(r.principal.expires_at_ms, (kNowS + 300 + 60) * 1000);
  EXPECT_EQ(r.principal.grants, (std::vector<Grant>{{Role::kProducer, "*"}}));
  EXPECT_EQ(
      Check(Token({{"alg", "HS256"}}, Claims(), nullptr, "another-secret-another-secret!!"), *keys),
      JwtError::kBadSignature);
  EXPECT_FALSE(JwtKeySet::FromSecret("short").ok());
}

TEST(Jwt, Rs256AndEs256FromJwksWithKid) {
  KeyPair rsa = Rsa("r1"), ec = P256("e1");
  JwtKeySet keys = Jwks({rsa.jwk, ec.jwk});
  EXPECT_EQ(Check(Token({{"alg", "RS256"}, {"kid", "r1"}}, Claims(), rsa.key.get()), keys),
            JwtError::kNone);
  EXPECT_EQ(Check(Token({{"alg", "ES256"}, {"kid", "e1"}}, Claims(), ec.key.get()), keys),
            JwtError::kNone);
  // Without a kid every key of the algorithm is tried.
  EXPECT_EQ(Check(Token({{"alg", "RS256"}}, Claims(), rsa.key.get()), keys), JwtError::kNone);
  // A kid that is not in the file; a key that is not the one signing.
  EXPECT_EQ(Check(Token({{"alg", "RS256"}, {"kid", "r9"}}, Claims(), rsa.key.get()), keys),
            JwtError::kUnknownKey);
  KeyPair stranger = Rsa("r1");
  EXPECT_EQ(Check(Token({{"alg", "RS256"}, {"kid", "r1"}}, Claims(), stranger.key.get()), keys),
            JwtError::kBadSignature);
}

TEST(Jwt, AlgorithmsArePinned) {
  KeyPair rsa = Rsa("r1");
  JwtKeySet keys = Jwks({rsa.jwk});
  // alg none, with or without a signature.
  EXPECT_EQ(Check(Token({{"alg", "none"}}, Claims(), nullptr, ""), keys), JwtError::kAlgorithm);
  EXPECT_EQ(Check(Token({{"alg", "None"}, {"kid", "r1"}}, Claims(), nullptr), keys),
            JwtError::kAlgorithm);
  EXPECT_EQ(Check(Token({{"alg", "RS512"}, {"kid", "r1"}}, Claims(), rsa.key.get()), keys),
            JwtError::kAlgorithm);
  // HS/RS confusion: HS256 "signed" with the RSA public key (as PEM or as the raw JWK
  // modulus) under the RSA key's kid.
  const std::string modulus = *Base64UrlDecode(rsa.jwk["n"].get<std::string>());
  EXPECT_EQ(Check(Token({{"alg", "HS256"}, {"kid", "r1"}}, Claims(), nullptr, modulus), keys),
            JwtError::kAlgorithm);
  EXPECT_EQ(Check(Token({{"alg", "HS256"}}, Claims(), nullptr, modulus), keys),
            JwtError::kUnknownKey);
  // With a secret configured too, the RSA key still never verifies HMACs.
  JwtKeySet both = keys;
  both.Merge(*JwtKeySet::FromSecret(kSecret));
  EXPECT_EQ(Check(Token({{"alg", "HS256"}, {"kid", "r1"}}, Claims(), nullptr, modulus), both),
            JwtError::kBadSignature);
  // An ES256 token naming the RSA key.
  KeyPair ec = P256("x");
  EXPECT_EQ(Check(Token({{"alg", "ES256"}, {"kid", "r1"}}, Claims(), ec.key.get()), keys),
            JwtError::kAlgorithm);
  // A JWK that declares another algorithm than its key type is skipped, not trusted.
  json mislabeled = rsa.jwk;
  mislabeled["alg"] = "HS256";
  int skipped = 0;
  EXPECT_FALSE(JwtKeySet::FromJwks(json{{"keys", {mislabeled}}}.dump(), "t", &skipped).ok());
  EXPECT_EQ(skipped, 1);
  EXPECT_EQ(
      Check(Token({{"alg", "RS256"}, {"kid", "r1"}, {"crit", {"exp"}}}, Claims(), rsa.key.get()),
            keys),
      JwtError::kMalformed);
}

TEST(Jwt, TimeIssuerAudienceAndOwner) {
  auto keys = *JwtKeySet::FromSecret(kSecret);
  auto with = [&](json changes) {
    json c = Claims();
    for (auto& [k, v] : changes.items()) {
      if (v.is_null()) {
        c.erase(k);
      } else {
        c[k] = v;
      }
    }
    return Check(Token({{"alg", "HS256"}}, c, nullptr), keys);
  };
  EXPECT_EQ(with({{"exp", kNowS - 61}}), JwtError::kExpired);
  EXPECT_EQ(with({{"exp", kNowS - 59}}), JwtError::kNone);  // within the clock skew
  EXPECT_EQ(with({{"exp", nullptr}}), JwtError::kNoExpiry);
  EXPECT_EQ(with({{"exp", "soon"}}), JwtError::kMalformed);
  EXPECT_EQ(with({{"nbf", kNowS + 61}}), JwtError::kNotYetValid);
  EXPECT_EQ(with({{"nbf", kNowS + 30}}), JwtError::kNone);
  EXPECT_EQ(with({{"iat", kNowS + 600}}), JwtError::kNotYetValid);
  EXPECT_EQ(with({{"iss", "https://evil"}}), JwtError::kIssuer);
  EXPECT_EQ(with({{"iss", nullptr}}), JwtError::kIssuer);
  EXPECT_EQ(with({{"aud", "other"}}), JwtError::kAudience);
  EXPECT_EQ(with({{"aud", {"x", "proj"}}}), JwtError::kNone);
  EXPECT_EQ(with({{"aud", nullptr}}), JwtError::kAudience);
  EXPECT_EQ(with({{"sub", ""}}), JwtError::kNoOwner);
  EXPECT_EQ(with({{"sub", 42}}), JwtError::kNoOwner);
  EXPECT_EQ(with({{"sub", "a\nb"}}), JwtError::kNoOwner);
  EXPECT_TRUE(JwtSignatureWasValid(JwtError::kExpired));
  EXPECT_FALSE(JwtSignatureWasValid(JwtError::kBadSignature));
}

TEST(Jwt, RolesClaimAndOwnerClaim) {
  auto keys = *JwtKeySet::FromSecret(kSecret);
  JwtPolicy p = Policy();
  p.roles_claim = "app.roles";
  p.owner_claim = "user_id";
  json c = Claims();
  c["user_id"] = "u-7";
  c["app"] = {{"roles", {"reader:chat*", "worker:gpu", "superuser", "producer:bad glob"}}};
  JwtResult r = VerifyJwt(Token({{"alg", "HS256"}}, c, nullptr), keys, p, kNowMs);
  ASSERT_EQ(r.error, JwtError::kNone);
  EXPECT_EQ(r.principal.owner, "jwt:u-7");
  EXPECT_EQ(r.principal.grants,
            (std::vector<Grant>{{Role::kReader, "chat*"}, {Role::kWorker, "gpu"}}));
  c["app"]["roles"] = "metrics, reader";
  r = VerifyJwt(Token({{"alg", "HS256"}}, c, nullptr), keys, p, kNowMs);
  EXPECT_EQ(r.principal.grants, (std::vector<Grant>{{Role::kMetrics, "*"}, {Role::kReader, "*"}}));
  c.erase("app");  // no claim: the default grants
  p.default_grants = {{Role::kReader, "public"}};
  r = VerifyJwt(Token({{"alg", "HS256"}}, c, nullptr), keys, p, kNowMs);
  EXPECT_EQ(r.principal.grants, (std::vector<Grant>{{Role::kReader, "public"}}));
}

TEST(Jwt, MalformedTokensAndJwks) {
  auto keys = *JwtKeySet::FromSecret(kSecret);
  for (std::string bad : {"", "a.b", "a.b.c.d", "..", "a..c", "YQ.YQ.YQ", "a b.c.d"}) {
    EXPECT_NE(Check(bad, keys), JwtError::kNone) << bad;
  }
  EXPECT_FALSE(LooksLikeJwt(std::string(kMaxJwtBytes, 'a') + ".b.c"));
  EXPECT_FALSE(JwtKeySet::FromJwks("[]", "t").ok());
  EXPECT_FALSE(JwtKeySet::FromJwks(R"({"keys": []})", "t").ok());
  EXPECT_FALSE(JwtKeySet::FromJwks(R"({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]})", "t")
                   .ok());  // far too small
  KeyPair small = Rsa("s", 1024);
  auto r = JwtKeySet::FromJwks(json{{"keys", {small.jwk}}}.dump(), "t");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("2048"), std::string::npos);
  KeyPair a = Rsa("dup"), b = Rsa("dup");
  EXPECT_FALSE(JwtKeySet::FromJwks(json{{"keys", {a.jwk, b.jwk}}}.dump(), "t").ok());
  json enc = a.jwk;
  enc["use"] = "enc";
  int skipped = 0;
  auto only_sig = JwtKeySet::FromJwks(json{{"keys", {enc, P256("e").jwk}}}.dump(), "t", &skipped);
  ASSERT_TRUE(only_sig.ok());
  EXPECT_EQ(skipped, 1);
  EXPECT_EQ(only_sig->keys().size(), 1u);
}

}  // namespace
}  // namespace redge::auth
