#include "edge/auth/access_control.h"

#include "edge/auth_guard.h"
#include "edge/log.h"

namespace redge::auth {

using store::Status;

store::Result<std::shared_ptr<const JwtKeySet>> AccessControl::LoadJwtKeys() const {
  if (options_.jwt_secret.empty() && options_.jwt_jwks_file.empty()) {
    return std::shared_ptr<const JwtKeySet>();
  }
  JwtKeySet keys;
  if (!options_.jwt_secret.empty()) {
    auto secret = JwtKeySet::FromSecret(options_.jwt_secret);
    if (!secret.ok()) return secret.status();
    keys.Merge(*secret);
  }
  if (!options_.jwt_jwks_file.empty()) {
    int skipped = 0;
    auto jwks = JwtKeySet::LoadJwksFile(options_.jwt_jwks_file, &skipped);
    if (!jwks.ok()) return jwks.status();
    if (skipped > 0) {
      Log(spdlog::level::info, "jwks: keys of other types or algorithms skipped",
          {{"file", options_.jwt_jwks_file}, {"skipped", std::to_string(skipped)}});
    }
    keys.Merge(*jwks);
  }
  return std::shared_ptr<const JwtKeySet>(std::make_shared<JwtKeySet>(std::move(keys)));
}

store::Result<std::unique_ptr<AccessControl>> AccessControl::Create(AccessOptions options) {
  std::unique_ptr<AccessControl> ac(new AccessControl(std::move(options)));
  const AccessOptions& o = ac->options_;
  if (!o.api_keys_file.empty()) {
    auto keys = ApiKeys::Load(o.api_keys_file);
    if (!keys.ok()) return keys.status();
    ac->state_.api_keys = std::make_shared<ApiKeys>(std::move(*keys));
  }
  auto jwt = ac->LoadJwtKeys();
  if (!jwt.ok()) return jwt.status();
  ac->state_.jwt_keys = *jwt;
  if (!o.data_dir.empty()) {
    auto stream = StreamTokenKeys::LoadOrCreate(o.data_dir);
    if (!stream.ok()) return stream.status();
    ac->state_.stream_keys = std::make_shared<StreamTokenKeys>(std::move(*stream));
  }
  ac->enabled_ = !o.http_token.empty() || !o.api_keys_file.empty() || ac->state_.jwt_keys;
  return ac;
}

AccessControl::Snapshot AccessControl::snapshot() const {
  std::lock_guard lock(mu_);
  return state_;
}

std::vector<std::string> AccessControl::Reload() {
  std::vector<std::string> errors;
  Snapshot next = snapshot();
  if (!options_.api_keys_file.empty()) {
    auto keys = ApiKeys::Load(options_.api_keys_file);
    if (keys.ok()) {
      next.api_keys = std::make_shared<ApiKeys>(std::move(*keys));
    } else {
      errors.push_back(keys.status().message().substr(4));
    }
  }
  if (!options_.jwt_jwks_file.empty()) {
    auto jwt = LoadJwtKeys();
    if (jwt.ok()) {
      next.jwt_keys = *jwt;
    } else {
      errors.push_back(jwt.status().message().substr(4));
    }
  }
  if (!options_.data_dir.empty()) {
    auto stream = StreamTokenKeys::Load(options_.data_dir);
    if (stream.ok()) {
      next.stream_keys = std::make_shared<StreamTokenKeys>(std::move(*stream));
    } else {
      errors.push_back(stream.status().message().substr(4));
    }
  }
  std::lock_guard lock(mu_);
  state_ = std::move(next);
  return errors;
}

AccessControl::Outcome AccessControl::Authenticate(const std::optional<std::string>& credential,
                                                   int64_t now_ms) const {
  Outcome out;
  if (!credential || credential->empty()) {
    out.kind = Outcome::Kind::kMissing;
    out.reason = credential ? "empty bearer credential" : "no credential";
    if (credential) out.kind = Outcome::Kind::kInvalid;
    return out;
  }
  const std::string& c = *credential;
  const Snapshot s = snapshot();
  auto ok = [&](Principal p) {
    out.kind = Outcome::Kind::kOk;
    out.principal = std::make_shared<const Principal>(std::move(p));
    return out;
  };
  if (LooksLikeStreamToken(c)) {
    if (!s.stream_keys) {
      out.kind = Outcome::Kind::kInvalid;
      out.reason = "stream token: no keys";
      return out;
    }
    StreamTokenKeys::Verified v = s.stream_keys->Verify(c, now_ms);
    if (v.check == StreamTokenKeys::Check::kOk) return ok(std::move(v.principal));
    out.kind = v.check == StreamTokenKeys::Check::kExpired ||
                       v.check == StreamTokenKeys::Check::kKeyRetired
                   ? Outcome::Kind::kStale
                   : Outcome::Kind::kInvalid;
    out.reason = std::string(StreamTokenCheckText(v.check));
    return out;
  }
  // The admin token and the API keys are both compared, whichever matches: the time taken
  // says nothing about which kind of credential was tried.
  const bool is_token = !options_.http_token.empty() && SecretEquals(c, options_.http_token);
  const ApiKey* key = s.api_keys ? s.api_keys->Find(c) : nullptr;
  if (is_token) {
    Principal p;
    p.kind = Principal::Kind::kHttpToken;
    p.name = "http-token";
    p.grants = {Grant{Role::kAdmin, "*"}};
    return ok(std::move(p));
  }
  if (key != nullptr) {
    Principal p;
    p.kind = Principal::Kind::kApiKey;
    p.name = "key:" + key->name;
    p.owner = p.name;
    p.grants = key->grants;
    p.key_hash = key->hash;
    return ok(std::move(p));
  }
  if (s.jwt_keys && LooksLikeJwt(c)) {
    JwtResult r = VerifyJwt(c, *s.jwt_keys, options_.jwt, now_ms);
    if (r.error == JwtError::kNone) return ok(std::move(r.principal));
    out.kind = JwtSignatureWasValid(r.error) ? Outcome::Kind::kStale : Outcome::Kind::kInvalid;
    out.reason = std::string(JwtErrorText(r.error));
    return out;
  }
  out.kind = Outcome::Kind::kInvalid;
  out.reason = "unknown bearer credential";
  return out;
}

std::string AccessControl::MintStreamToken(std::string_view job_id, int64_t now_ms,
                                           int64_t* expires_at_ms) const {
  const Snapshot s = snapshot();
  if (!s.stream_keys) return "";
  const int64_t expires = (now_ms + options_.stream_token_ttl_ms) / 1000 * 1000;
  if (expires_at_ms) *expires_at_ms = expires;
  return s.stream_keys->Mint(job_id, expires);
}

bool AccessControl::StillValid(const Principal& p) const {
  if (p.kind != Principal::Kind::kApiKey) return true;
  const Snapshot s = snapshot();
  const ApiKey* key = s.api_keys ? s.api_keys->FindByHash(p.key_hash) : nullptr;
  return key != nullptr && key->grants == p.grants && "key:" + key->name == p.name;
}

std::string AccessControl::Describe() const {
  const Snapshot s = snapshot();
  std::vector<std::string> parts;
  if (!options_.http_token.empty()) parts.push_back("bearer token");
  if (s.api_keys) parts.push_back(std::to_string(s.api_keys->size()) + " API keys");
  if (s.jwt_keys) {
    int hs = 0, pk = 0;
    for (const JwtKey& k : s.jwt_keys->keys()) (k.alg == "HS256" ? hs : pk)++;
    std::string jwt = "JWT (";
    if (hs) jwt += "HS256";
    if (pk) jwt += std::string(hs ? ", " : "") + std::to_string(pk) + " JWKS keys";
    parts.push_back(jwt + ")");
  }
  if (parts.empty()) return "none";
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace redge::auth
