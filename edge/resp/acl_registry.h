// AclRegistry: the RESP listener's ACL users (acl.h), the ACL log of denials, and the ACL
// file (--aclfile; ACL LOAD, ACL SAVE).
//
// Users are immutable snapshots: a change (ACL SETUSER, DELUSER, LOAD, CONFIG SET
// requirepass) puts a new snapshot in place and bumps version(), so a connection re-reads
// its user only when something changed, and a command is checked against one consistent
// user.
//
// Thread-safety: every method is safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "edge/resp/acl.h"

namespace redge::resp {

class AclRegistry {
 public:
  AclRegistry();

  std::shared_ptr<const AclUser> Find(std::string_view name) const;
  std::shared_ptr<const AclUser> Default() const { return Find("default"); }
  // Every user, by name (ACL LIST, USERS, SAVE).
  std::vector<std::shared_ptr<const AclUser>> Users() const;
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  // The default user is on and nopass: connections need no AUTH (read on every command).
  bool default_open() const { return default_open_.load(std::memory_order_acquire); }

  // ACL SETUSER: "" or the error text (without "ERR "). *before is the user as it was
  // (null for a new one).
  std::string SetUser(const std::string& name, const std::vector<std::string>& ops,
                      std::shared_ptr<const AclUser>* before = nullptr);
  // ACL DELUSER: the names that existed and were removed ("default" is never passed).
  std::vector<std::string> DelUsers(const std::vector<std::string>& names);
  // requirepass: the default user's only password (empty: nopass), as Redis does.
  void SetDefaultPassword(const std::string& password);

  // ACL LOAD: replaces every user with the file's, all or nothing. "" or the errors (the
  // line Redis answers with, naming file and line). *replaced: the users whose clients
  // must go (every user but default, as Redis frees them).
  std::string LoadFile(const std::string& path, std::vector<std::string>* replaced = nullptr);
  // ACL SAVE: every user as `user NAME RULES` lines, written atomically (mode 0600).
  bool SaveFile(const std::string& path, std::string* error) const;

  // acl-pubsub-default: whether new users get allchannels (else resetchannels).
  void set_pubsub_all(bool all) { pubsub_all_ = all; }
  bool pubsub_all() const { return pubsub_all_.load(); }

  // ACL LOG.
  struct LogEntry {
    int64_t count = 1;
    AclDenial reason = AclDenial::kCommand;
    std::string context;  // toplevel, multi, lua
    std::string object;   // the command, key or channel refused; AUTH for a failed login
    std::string username;
    int64_t ctime_ms = 0;
    std::string client_info;
  };
  // Adds an entry, or counts it on a matching recent one (same reason, context, object
  // and user within 60 s, among the 10 newest), as Redis groups them.
  void AddLog(AclDenial reason, std::string context, std::string object, std::string username,
              std::string client_info);
  std::vector<LogEntry> Log(size_t count) const;  // newest first
  void ResetLog();
  void set_log_max_len(size_t n);

 private:
  // After every change (mu_ held): the new version, and whether default needs no AUTH.
  void Bump();

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const AclUser>> users_;
  std::atomic<uint64_t> version_{1};
  std::atomic<bool> default_open_{true};
  uint64_t next_incarnation_ = 1;        // mu_
  std::atomic<bool> pubsub_all_{false};  // Redis 7.0's default: resetchannels
  std::deque<LogEntry> log_;
  size_t log_max_len_ = 128;
};

}  // namespace redge::resp
