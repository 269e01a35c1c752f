#include "edge/resp/acl_registry.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

namespace redge::resp {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Trim(std::string s, const char* chars) {
  const size_t b = s.find_first_not_of(chars);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(chars) - b + 1);
}

bool HasSpaces(std::string_view s) {
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '\0') return true;
  }
  return false;
}

}  // namespace

AclRegistry::AclRegistry() {
  AclUser d = AclUser::Default();
  d.set_incarnation(next_incarnation_++);
  users_["default"] = std::make_shared<const AclUser>(std::move(d));
}

void AclRegistry::Bump() {
  const auto& d = users_.at("default");
  default_open_.store(d->enabled() && d->nopass(), std::memory_order_release);
  version_.fetch_add(1, std::memory_order_acq_rel);
}

std::shared_ptr<const AclUser> AclRegistry::Find(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = users_.find(std::string(name));
  return it == users_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const AclUser>> AclRegistry::Users() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<const AclUser>> out;
  for (auto& [name, u] : users_) out.push_back(u);
  return out;
}

std::string AclRegistry::SetUser(const std::string& name, const std::vector<std::string>& ops,
                                 std::shared_ptr<const AclUser>* before) {
  std::lock_guard lock(mu_);
  auto it = users_.find(name);
  std::shared_ptr<const AclUser> old = it == users_.end() ? nullptr : it->second;
  if (before) *before = old;
  auto result =
      AclUser::WithRules(old ? *old : AclUser(name, pubsub_all_.load()), ops, pubsub_all_.load());
  if (auto* error = std::get_if<std::string>(&result)) return *error;
  AclUser& user = std::get<AclUser>(result);
  user.set_incarnation(old ? old->incarnation() : next_incarnation_++);
  users_[name] = std::make_shared<const AclUser>(std::move(user));
  Bump();
  return "";
}

std::vector<std::string> AclRegistry::DelUsers(const std::vector<std::string>& names) {
  std::lock_guard lock(mu_);
  std::vector<std::string> deleted;
  for (const std::string& n : names) {
    if (n != "default" && users_.erase(n) > 0) deleted.push_back(n);
  }
  if (!deleted.empty()) Bump();
  return deleted;
}

void AclRegistry::SetDefaultPassword(const std::string& password) {
  std::lock_guard lock(mu_);
  AclUser u = *users_["default"];  // keeps its incarnation
  u.Apply("resetpass", pubsub_all_.load());
  u.Apply(password.empty() ? "nopass" : ">" + password, pubsub_all_.load());
  users_["default"] = std::make_shared<const AclUser>(std::move(u));
  Bump();
}

std::string AclRegistry::LoadFile(const std::string& path, std::vector<std::string>* replaced) {
  std::ifstream f(path);
  if (!f) {
    return "Error loading ACLs, opening file '" + path + "': " + std::strerror(errno);
  }
  std::map<std::string, std::shared_ptr<AclUser>> users;
  std::string errors;
  std::string line;
  int n = 0;
  while (std::getline(f, line)) {
    n++;
    line = Trim(line, " \t\r\n");
    if (line.empty()) continue;
    // Split on single spaces, as Redis does (two spaces make an empty, ignored argument).
    std::vector<std::string> argv;
    std::stringstream in(line);
    for (std::string w; std::getline(in, w, ' ');) argv.push_back(w);
    const std::string where = path + ":" + std::to_string(n);
    if (argv.size() < 2 || argv[0] != "user") {
      errors += where + " should start with user keyword followed by the username. ";
      continue;
    }
    if (HasSpaces(argv[1])) {
      errors += "'" + where + ": username '" + argv[1] + "' contains invalid characters. ";
      continue;
    }
    if (users.count(argv[1])) {
      errors +=
          "WARNING: Duplicate user '" + argv[1] + "' found on line " + std::to_string(n) + ". ";
      continue;
    }
    AclUser user(argv[1], pubsub_all_.load());
    // Selectors may span arguments: "(~a" "+get)".
    std::vector<std::string> ops;
    std::string selector;
    bool open = false;
    for (size_t i = 2; i < argv.size(); ++i) {
      const std::string& op = argv[i];
      if (!open && !op.empty() && op[0] == '(' && op.back() != ')') {
        selector = op;
        open = true;
      } else if (open) {
        selector += " " + op;
        if (!op.empty() && op.back() == ')') {
          open = false;
          ops.push_back(selector);
        }
      } else {
        ops.push_back(op);
      }
    }
    if (open) errors += where + ": Unmatched parenthesis in selector definition.";
    bool syntax_reported = false;
    for (std::string op : ops) {
      op = Trim(op, "\t\r\n");
      AclRuleError e = user.Apply(op, pubsub_all_.load());
      if (e == AclRuleError::kUnknownName) {
        errors += where + ": Error in applying operation '" + op +
                  "': " + std::string(AclRuleErrorText(e)) + ". ";
      } else if (e != AclRuleError::kNone && !syntax_reported) {
        errors += where + ": " + std::string(AclRuleErrorText(e)) + ". ";
        syntax_reported = true;
      }
    }
    users[argv[1]] = std::make_shared<AclUser>(std::move(user));
  }
  if (!errors.empty()) {
    return errors +
           "WARNING: ACL errors detected, no change to the previously active ACL rules was "
           "performed";
  }
  if (!users.count("default")) users["default"] = std::make_shared<AclUser>(AclUser::Default());
  std::lock_guard lock(mu_);
  if (replaced) {
    for (auto& [name, u] : users_) {
      if (name != "default") replaced->push_back(name);
    }
  }
  // Every user is new, except default, which keeps its connections (as in Redis, where the
  // default user's rules are copied into the existing one).
  const uint64_t default_incarnation = users_.at("default")->incarnation();
  users_.clear();
  for (auto& [name, u] : users) {
    u->set_incarnation(name == "default" ? default_incarnation : next_incarnation_++);
    users_[name] = std::move(u);
  }
  Bump();
  return "";
}

bool AclRegistry::SaveFile(const std::string& path, std::string* error) const {
  std::string text;
  for (const auto& u : Users()) text += "user " + u->name() + " " + u->Describe() + "\n";
  const std::string tmp =
      path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(NowMs());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0;
  for (size_t done = 0; ok && done < text.size();) {
    ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w < 0 && errno == EINTR) continue;
    ok = w > 0;
    if (ok) done += static_cast<size_t>(w);
  }
  ok = ok && ::fsync(fd) == 0;
  if (fd >= 0) ok = ::close(fd) == 0 && ok;
  ok = ok && ::rename(tmp.c_str(), path.c_str()) == 0;
  if (!ok) {
    *error = std::strerror(errno);
    ::unlink(tmp.c_str());
  }
  return ok;
}

void AclRegistry::AddLog(AclDenial reason, std::string context, std::string object,
                         std::string username, std::string client_info) {
  const int64_t now = NowMs();
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < log_.size() && i < 10; ++i) {
    LogEntry& e = log_[i];
    if (e.reason == reason && e.context == context && e.object == object &&
        e.username == username && std::abs(now - e.ctime_ms) <= 60'000) {
      LogEntry updated = std::move(e);
      updated.count++;
      updated.ctime_ms = now;
      updated.client_info = std::move(client_info);
      log_.erase(log_.begin() + static_cast<ptrdiff_t>(i));
      log_.push_front(std::move(updated));
      return;
    }
  }
  log_.push_front({1, reason, std::move(context), std::move(object), std::move(username), now,
                   std::move(client_info)});
  while (log_.size() > log_max_len_) log_.pop_back();
}

std::vector<AclRegistry::LogEntry> AclRegistry::Log(size_t count) const {
  std::lock_guard lock(mu_);
  return std::vector<LogEntry>(log_.begin(),
                               log_.begin() + static_cast<ptrdiff_t>(std::min(count, log_.size())));
}

void AclRegistry::ResetLog() {
  std::lock_guard lock(mu_);
  log_.clear();
}

void AclRegistry::set_log_max_len(size_t n) {
  std::lock_guard lock(mu_);
  log_max_len_ = n;
  while (log_.size() > log_max_len_) log_.pop_back();
}

}  // namespace redge::resp
