#include "edge/auth/api_keys.h"

#include <fstream>
#include <sstream>

#include "edge/auth/crypto.h"
#include "edge/auth_guard.h"

namespace redge::auth {

using store::Status;

bool ValidKeyName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-' || c == '.' || c == ':' || c == '@')) {
      return false;
    }
  }
  return true;
}

store::Result<ApiKeys> ApiKeys::Parse(std::string_view text, const std::string& path) {
  ApiKeys out;
  std::istringstream in{std::string(text)};
  std::string line;
  int n = 0;
  auto error = [&](const std::string& what) {
    return Status::InvalidArgument(path + ":" + std::to_string(n) + ": " + what);
  };
  while (std::getline(in, line)) {
    n++;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    if (f.empty()) continue;
    if (f.size() < 3 || f.size() > 4) {
      return error("expected ROLE QUEUE_GLOB SHA256_HEX_OF_KEY [NAME]");
    }
    std::optional<Role> role = ParseRole(f[0]);
    if (!role)
      return error("unknown role '" + f[0] + "' (admin, producer, worker, reader, metrics)");
    if (!ValidQueueGlob(f[1]))
      return error("the queue glob must be printable ASCII without spaces");
    if (!IsSha256Hex(f[2])) {
      return error(
          "the third field must be the SHA-256 of the key: 64 lower-case hex digits "
          "(redge new-key prints it)");
    }
    std::string name = f.size() == 4 ? f[3] : f[2].substr(0, 12);
    if (!ValidKeyName(name)) return error("names are 1-64 characters of A-Z a-z 0-9 _ - . : @");
    ApiKey* entry = nullptr;
    for (ApiKey& k : out.keys_) {
      if (k.hash == f[2]) entry = &k;
    }
    if (entry == nullptr) {
      out.keys_.push_back(ApiKey{f[2], name, {}});
      entry = &out.keys_.back();
    } else if (entry->name != name) {
      return error("this key appears on an earlier line under the name '" + entry->name + "'");
    }
    Grant g{*role, f[1]};
    bool seen = false;
    for (const Grant& have : entry->grants) seen = seen || have == g;
    if (!seen) entry->grants.push_back(std::move(g));
  }
  for (size_t i = 0; i < out.keys_.size(); ++i) {
    for (size_t j = i + 1; j < out.keys_.size(); ++j) {
      if (out.keys_[i].name == out.keys_[j].name) {
        return Status::InvalidArgument(path + ": two different keys are named '" +
                                       out.keys_[i].name + "'");
      }
    }
  }
  return out;
}

store::Result<ApiKeys> ApiKeys::Load(const std::string& path) {
  std::ifstream f(path);
  if (!f) return Status::InvalidArgument("cannot read the API key file " + path);
  std::stringstream text;
  text << f.rdbuf();
  if (f.bad()) return Status::InvalidArgument("cannot read the API key file " + path);
  return Parse(text.str(), path);
}

const ApiKey* ApiKeys::Find(std::string_view key) const {
  const std::string hash = Sha256Hex(key);
  const ApiKey* found = nullptr;
  for (const ApiKey& k : keys_) {
    // Every entry is compared whatever matched before.
    if (SecretEquals(hash, k.hash)) found = &k;
  }
  return found;
}

const ApiKey* ApiKeys::FindByHash(std::string_view hash) const {
  for (const ApiKey& k : keys_) {
    if (k.hash == hash) return &k;
  }
  return nullptr;
}

store::Result<NewApiKey> MakeApiKey(std::string_view role, std::string_view queue_glob,
                                    std::string_view name) {
  if (!ParseRole(role)) {
    return Status::InvalidArgument("unknown role '" + std::string(role) +
                                   "' (admin, producer, worker, reader, metrics)");
  }
  if (!ValidQueueGlob(queue_glob)) {
    return Status::InvalidArgument("the queue glob must be printable ASCII without spaces");
  }
  if (!name.empty() && !ValidKeyName(name)) {
    return Status::InvalidArgument("names are 1-64 characters of A-Z a-z 0-9 _ - . : @");
  }
  NewApiKey k;
  k.key = "rk_" + Base64UrlEncode(RandomBytes(32));
  k.line = std::string(role) + " " + std::string(queue_glob) + " " + Sha256Hex(k.key);
  if (!name.empty()) k.line += " " + std::string(name);
  return k;
}

}  // namespace redge::auth
