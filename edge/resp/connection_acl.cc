// Connection: its ACL user (acl.h): who it runs as, the check of each command line, and
// ACL LOG entries about it. The rest of Connection is in connection.cc.
#include "edge/resp/acl_registry.h"
#include "edge/resp/connection.h"
#include "edge/resp/server.h"

namespace redge::resp {

bool Connection::authenticated() const {
  // As Redis: once authenticated stays so; else commands run while the default user is on
  // and needs no password (checked now, not when the connection opened).
  return authenticated_ || server_->acl().default_open();
}

void Connection::AuthenticateAs(std::string user) {
  std::shared_ptr<const AclUser> u = server_->acl().Find(user);
  {
    std::lock_guard lock(info_mu_);
    user_name_ = std::move(user);
    user_incarnation_ = u ? u->incarnation() : 0;
  }
  user_version_ = 0;  // re-read the rules at the next command
  authenticated_ = true;
  RefreshUser();
}

void Connection::ResetUser() {
  std::shared_ptr<const AclUser> d = server_->acl().Default();
  {
    std::lock_guard lock(info_mu_);
    user_name_ = "default";
    user_incarnation_ = d->incarnation();
  }
  user_version_ = 0;
  // Authenticated now if the default user needs no password; that stays so if it gets one
  // later (Redis's rule).
  authenticated_ = server_->acl().default_open();
  RefreshUser();
}

std::string Connection::user_name() const {
  std::lock_guard lock(info_mu_);
  return user_name_;
}

void Connection::RefreshUser() {
  AclRegistry& acl = server_->acl();
  const uint64_t version = acl.version();
  if (version == user_version_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(info_mu_);
  user_ = acl.Find(user_name_);
  // Deleted, or deleted and created again (ACL LOAD): not the user this connection became.
  if (user_ && user_->incarnation() != user_incarnation_) user_ = nullptr;
  user_unrestricted_ = user_ && user_->unrestricted();
  user_gone_ = user_ == nullptr;
  user_version_.store(version, std::memory_order_release);
}

std::shared_ptr<const AclUser> Connection::acl_user() {
  RefreshUser();
  std::lock_guard lock(info_mu_);
  return user_;
}

bool Connection::AclAllows(const std::vector<std::string>& argv) {
  RefreshUser();
  if (user_unrestricted_.load(std::memory_order_acquire)) return true;
  std::shared_ptr<const AclUser> user = acl_user();
  int pos = 0;
  return user && AclCheck(*user, argv, &pos) == AclDenial::kOk;
}

AclDenial Connection::CheckAcl(const std::vector<std::string>& argv, const char* context) {
  RefreshUser();
  if (user_unrestricted_.load(std::memory_order_acquire)) return AclDenial::kOk;
  std::shared_ptr<const AclUser> user = acl_user();
  int pos = 0;
  // A deleted user's connection is closed by ACL DELUSER; until then it runs nothing.
  const AclDenial denied = user ? AclCheck(*user, argv, &pos) : AclDenial::kCommand;
  if (denied != AclDenial::kOk) LogAclDenial(denied, context, AclLogObject(denied, argv, pos));
  return denied;
}

std::vector<std::string> Connection::subscribed_channels() const {
  std::shared_ptr<store::Subscriber> sub;
  {
    std::lock_guard lock(info_mu_);  // subscriber_ is replaced under info_mu_
    sub = subscriber_;
  }
  return sub ? sub->Channels() : std::vector<std::string>{};
}

std::vector<std::string> Connection::subscribed_patterns() const {
  std::shared_ptr<store::Subscriber> sub;
  {
    std::lock_guard lock(info_mu_);
    sub = subscriber_;
  }
  return sub ? sub->Patterns() : std::vector<std::string>{};
}

void Connection::LogAclDenial(AclDenial reason, const char* context, std::string object,
                              std::string username) {
  if (username.empty()) username = user_name();
  server_->acl().AddLog(reason, context, std::move(object), std::move(username), ClientInfoLine());
}

}  // namespace redge::resp
