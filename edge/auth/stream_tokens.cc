#include "edge/auth/stream_tokens.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "edge/auth/crypto.h"
#include "edge/auth_guard.h"
#include "store/strings.h"

namespace redge::auth {

using store::Status;

namespace {

std::string KeyPath(const std::string& dir) { return dir + "/" + kStreamKeyFile; }

StreamTokenKeys::Key FreshKey() { return {HexEncode(RandomBytes(4)), RandomBytes(32), 0}; }

std::string Format(const std::vector<StreamTokenKeys::Key>& keys) {
  std::string out =
      "# redge stream-token keys (secret: keep this file private). One key a line: KID "
      "HEX_SECRET NOT_AFTER_MS\n# (0 = the current key, which signs new tokens; redge "
      "rotate-stream-key rotates).\n";
  for (const auto& k : keys) {
    out += k.kid + " " + HexEncode(k.secret) + " " + std::to_string(k.not_after_ms) + "\n";
  }
  return out;
}

// Writes `text` to `path` atomically with mode 0600 (a temporary file, fsync, rename). A
// file that exists keeps its owner: root rotating the key of a service that runs as
// another user (systemd's DynamicUser) must not lock the service out of it.
Status WritePrivate(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::InvalidArgument("cannot write " + tmp + ": " + std::strerror(errno));
  struct stat old {};
  if (::stat(path.c_str(), &old) == 0 && (old.st_uid != ::geteuid() || old.st_gid != ::getegid())) {
    if (::fchown(fd, old.st_uid, old.st_gid) != 0) {
      const int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::InvalidArgument("cannot give " + tmp + " the owner of " + path + ": " +
                                     std::strerror(e));
    }
  }
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::InvalidArgument("cannot write " + tmp + ": " + std::strerror(e));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return Status::InvalidArgument("cannot write " + path + ": " + std::strerror(e));
  }
  return Status::OK();
}

store::Result<std::vector<StreamTokenKeys::Key>> Parse(const std::string& path,
                                                       const std::string& text) {
  std::vector<StreamTokenKeys::Key> keys;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    n++;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::string kid, hex, not_after;
    int64_t na = 0;
    auto secret = (f >> kid >> hex >> not_after) ? HexDecode(hex) : std::nullopt;
    if (!secret || secret->size() != 32 || kid.size() != 8 || !HexDecode(kid) ||
        !store::strings::ParseInt64(not_after, &na) || na < 0) {
      return Status::InvalidArgument(path + ":" + std::to_string(n) +
                                     ": expected KID HEX_SECRET NOT_AFTER_MS");
    }
    keys.push_back({kid, std::move(*secret), na});
  }
  if (keys.empty() || keys.front().not_after_ms != 0) {
    return Status::InvalidArgument(path + ": the first key must be the current one (NOT_AFTER 0)");
  }
  return keys;
}

bool Digits(std::string_view s) {
  if (s.empty() || s.size() > 12) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

store::Result<StreamTokenKeys> StreamTokenKeys::Load(const std::string& dir) {
  const std::string path = KeyPath(dir);
  std::ifstream f(path);
  if (!f) return Status::InvalidArgument("cannot read " + path);
  std::stringstream text;
  text << f.rdbuf();
  auto keys = Parse(path, text.str());
  if (!keys.ok()) return keys.status();
  StreamTokenKeys out;
  out.keys_ = std::move(*keys);
  return out;
}

store::Result<StreamTokenKeys> StreamTokenKeys::LoadOrCreate(const std::string& dir) {
  const std::string path = KeyPath(dir);
  if (::access(path.c_str(), F_OK) != 0) {
    if (errno != ENOENT)
      return Status::InvalidArgument("cannot read " + path + ": " + std::strerror(errno));
    if (auto s = WritePrivate(path, Format({FreshKey()})); !s.ok()) return s;
  }
  return Load(dir);
}

Status StreamTokenKeys::Rotate(const std::string& dir, int64_t grace_ms, int64_t now_ms) {
  auto loaded = LoadOrCreate(dir);
  if (!loaded.ok()) return loaded.status();
  std::vector<Key> keys{FreshKey()};
  for (Key k : loaded->keys_) {
    if (k.not_after_ms == 0) k.not_after_ms = now_ms + grace_ms;
    if (k.not_after_ms > now_ms) keys.push_back(std::move(k));
  }
  return WritePrivate(KeyPath(dir), Format(keys));
}

std::string StreamTokenKeys::Mint(std::string_view job_id, int64_t expires_at_ms) const {
  const Key& k = keys_.front();
  std::string body = std::string(kStreamTokenPrefix) + std::string(job_id) + "." +
                     std::to_string(expires_at_ms / 1000) + "." + k.kid;
  return body + "." + Base64UrlEncode(HmacSha256(k.secret, body));
}

StreamTokenKeys::Verified StreamTokenKeys::Verify(std::string_view token, int64_t now_ms) const {
  Verified v;
  if (token.size() > 512 || !LooksLikeStreamToken(token)) return v;
  // rst1.<job>.<exp>.<kid>.<mac>: split from the right (job ids have no dots, but the
  // fields after them are fixed).
  const size_t mac_dot = token.rfind('.');
  const size_t kid_dot = token.rfind('.', mac_dot - 1);
  const size_t exp_dot = token.rfind('.', kid_dot - 1);
  const size_t prefix = sizeof(kStreamTokenPrefix) - 1;
  if (exp_dot == std::string_view::npos || exp_dot < prefix) return v;
  const std::string_view job = token.substr(prefix, exp_dot - prefix);
  const std::string_view exp = token.substr(exp_dot + 1, kid_dot - exp_dot - 1);
  const std::string_view kid = token.substr(kid_dot + 1, mac_dot - kid_dot - 1);
  auto mac = Base64UrlDecode(token.substr(mac_dot + 1));
  if (job.empty() || job.find('.') != std::string_view::npos || !Digits(exp) || !mac) return v;
  const Key* key = nullptr;
  for (const Key& k : keys_) {
    if (k.kid == kid) key = &k;
  }
  if (key == nullptr) {
    v.check = Check::kUnknownKey;
    return v;
  }
  if (!SecretEquals(*mac, HmacSha256(key->secret, token.substr(0, mac_dot)))) {
    v.check = Check::kBadMac;
    return v;
  }
  const int64_t expires_ms = std::stoll(std::string(exp)) * 1000;
  if (now_ms >= expires_ms) {
    v.check = Check::kExpired;
    return v;
  }
  if (key->not_after_ms != 0 && now_ms >= key->not_after_ms) {
    v.check = Check::kKeyRetired;
    return v;
  }
  v.check = Check::kOk;
  v.principal.kind = Principal::Kind::kStreamToken;
  v.principal.name = "stream-token";
  v.principal.stream_job = std::string(job);
  v.principal.expires_at_ms =
      key->not_after_ms != 0 ? std::min(expires_ms, key->not_after_ms) : expires_ms;
  return v;
}

std::string_view StreamTokenCheckText(StreamTokenKeys::Check c) {
  switch (c) {
    case StreamTokenKeys::Check::kOk:
      return "ok";
    case StreamTokenKeys::Check::kMalformed:
      return "stream token: malformed";
    case StreamTokenKeys::Check::kUnknownKey:
      return "stream token: unknown key";
    case StreamTokenKeys::Check::kBadMac:
      return "stream token: bad signature";
    case StreamTokenKeys::Check::kExpired:
      return "stream token: expired";
    case StreamTokenKeys::Check::kKeyRetired:
      return "stream token: its key was rotated out";
  }
  return "stream token: refused";
}

}  // namespace redge::auth
