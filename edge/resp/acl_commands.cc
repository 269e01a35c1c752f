// The ACL command: SETUSER GETUSER DELUSER LIST USERS WHOAMI CAT LOG GENPASS DRYRUN LOAD SAVE
// HELP, with Redis 7.0's replies and error texts (acl.h, acl_registry.h).
#include "edge/auth/crypto.h"
#include "edge/log.h"
#include "edge/resp/acl_registry.h"
#include "edge/resp/command.h"
#include "edge/resp/connection.h"
#include "edge/resp/server.h"
#include "store/strings.h"

namespace redge::resp {
namespace {

void SetUser(CommandContext& ctx) {
  const std::string& name = ctx.argv[2];
  for (char c : name) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '\0') {
      return ctx.reply.Error("ERR Usernames can't contain spaces or null characters");
    }
  }
  std::vector<std::string> ops(ctx.argv.begin() + 3, ctx.argv.end());
  std::string error = ctx.server.acl().SetUser(name, ops);
  if (!error.empty()) return ctx.reply.Error("ERR " + error);
  ctx.server.KillSubscribersLosingChannels(name, &ctx.conn);
  ctx.reply.Simple("OK");
}

void DescribeSelector(ReplyWriter& w, const AclSelector& s) {
  w.Bulk("commands");
  w.Bulk(s.DescribeCommands());
  w.Bulk("keys");
  w.Bulk(s.DescribeKeys());
  w.Bulk("channels");
  w.Bulk(s.DescribeChannels());
}

void GetUser(CommandContext& ctx) {
  std::shared_ptr<const AclUser> u = ctx.server.acl().Find(ctx.argv[2]);
  if (!u) return ctx.reply.Null();
  ReplyWriter& w = ctx.reply;
  w.MapHeader(6);
  w.Bulk("flags");
  std::vector<std::string> flags = u->FlagNames();
  w.SetHeader(static_cast<int64_t>(flags.size()));
  for (const auto& f : flags) w.Bulk(f);
  w.Bulk("passwords");
  w.BulkArray(u->password_hashes());
  DescribeSelector(w, u->selectors()[0]);
  w.Bulk("selectors");
  w.ArrayHeader(static_cast<int64_t>(u->selectors().size() - 1));
  for (size_t i = 1; i < u->selectors().size(); ++i) {
    w.MapHeader(3);
    DescribeSelector(w, u->selectors()[i]);
  }
}

void DelUser(CommandContext& ctx) {
  std::vector<std::string> names(ctx.argv.begin() + 2, ctx.argv.end());
  for (const auto& n : names) {
    if (n == "default") return ctx.reply.Error("ERR The 'default' user cannot be removed");
  }
  std::vector<std::string> deleted = ctx.server.acl().DelUsers(names);
  ctx.server.KillClientsOfUsers(deleted, &ctx.conn);
  ctx.reply.Integer(static_cast<int64_t>(deleted.size()));
}

void Cat(CommandContext& ctx) {
  if (ctx.argv.size() == 2) {
    std::vector<std::string> names(kAclCategoryNames, kAclCategoryNames + kAclCategoryCount);
    return ctx.reply.BulkArray(names);
  }
  const uint32_t category = AclCategoryByName(ctx.argv[2]);
  if (category == 0) {
    return ctx.reply.Error("ERR Unknown category '" + ctx.argv[2].substr(0, 128) + "'");
  }
  std::vector<std::string> names;
  for (const AclCommand& c : AclCommands()) {
    if (c.categories & category) names.push_back(c.name);
  }
  ctx.reply.BulkArray(names);
}

void Log(CommandContext& ctx) {
  int64_t count = 10;
  if (ctx.argv.size() == 3) {
    if (EqualsIgnoreCase(ctx.argv[2], "reset")) {
      ctx.server.acl().ResetLog();
      return ctx.reply.Simple("OK");
    }
    if (!ArgInt64(ctx, ctx.argv[2], &count)) return;
    if (count < 0) count = 0;
  }
  const auto entries = ctx.server.acl().Log(static_cast<size_t>(count));
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  ReplyWriter& w = ctx.reply;
  w.ArrayHeader(static_cast<int64_t>(entries.size()));
  for (const auto& e : entries) {
    w.MapHeader(7);
    w.Bulk("count");
    w.Integer(e.count);
    w.Bulk("reason");
    w.Bulk(e.reason == AclDenial::kCommand   ? "command"
           : e.reason == AclDenial::kKey     ? "key"
           : e.reason == AclDenial::kChannel ? "channel"
           : e.reason == AclDenial::kAuth    ? "auth"
                                             : "unknown");
    w.Bulk("context");
    w.Bulk(e.context);
    w.Bulk("object");
    w.Bulk(e.object);
    w.Bulk("username");
    w.Bulk(e.username);
    w.Bulk("age-seconds");
    w.Double(static_cast<double>(now - e.ctime_ms) / 1000);
    w.Bulk("client-info");
    w.Bulk(e.client_info);
  }
}

void GenPass(CommandContext& ctx) {
  int64_t bits = 256;
  if (ctx.argv.size() == 3 && !ArgInt64(ctx, ctx.argv[2], &bits)) return;
  if (bits <= 0 || bits > 4096) {
    return ctx.reply.Error(
        "ERR ACL GENPASS argument must be the number of bits for the output password, a "
        "positive number up to 4096");
  }
  const size_t chars = static_cast<size_t>((bits + 3) / 4);
  ctx.reply.Bulk(auth::HexEncode(auth::RandomBytes((chars + 1) / 2)).substr(0, chars));
}

void DryRun(CommandContext& ctx) {
  std::shared_ptr<const AclUser> u = ctx.server.acl().Find(ctx.argv[2]);
  if (!u) return ctx.reply.Error("ERR User '" + ctx.argv[2] + "' not found");
  std::vector<std::string> argv(ctx.argv.begin() + 3, ctx.argv.end());
  const CommandSpec* spec = FindCommand(argv[0]);
  const AclCommand* cmd = AclCommandOf(argv);
  if (spec == nullptr || cmd == nullptr) {
    return ctx.reply.Error("ERR Command '" + argv[0] + "' not found");
  }
  const int argc = static_cast<int>(argv.size());
  if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
    return ctx.reply.Error("ERR wrong number of arguments for '" + cmd->name + "' command");
  }
  int pos = 0;
  switch (AclCheck(*u, argv, &pos)) {
    case AclDenial::kOk:
      return ctx.reply.Simple("OK");
    case AclDenial::kCommand:
      return ctx.reply.Bulk("This user has no permissions to run the '" + cmd->name + "' command");
    case AclDenial::kKey:
      return ctx.reply.Bulk("This user has no permissions to access the '" + argv[pos] + "' key");
    default:
      return ctx.reply.Bulk("This user has no permissions to access the '" + argv[pos] +
                            "' channel");
  }
}

void LoadOrSave(CommandContext& ctx, bool load) {
  const std::string& path = ctx.server.options().aclfile;
  if (path.empty()) {
    return ctx.reply.Error(
        "ERR This Redis instance is not configured to use an ACL file. You may want to specify "
        "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a "
        "Redis configuration file set) in order to store users in the Redis configuration.");
  }
  if (load) {
    std::vector<std::string> replaced;
    std::string errors = ctx.server.acl().LoadFile(path, &replaced);
    if (!errors.empty()) return ctx.reply.Error("ERR " + errors);
    ctx.server.KillClientsOfUsers(replaced, &ctx.conn);
    return ctx.reply.Simple("OK");
  }
  std::string error;
  if (!ctx.server.acl().SaveFile(path, &error)) {
    redge::Log(spdlog::level::warn, "ACL SAVE failed", {{"file", path}, {"error", error}});
    return ctx.reply.Error(
        "ERR There was an error trying to save the ACLs. Please check the server logs for more "
        "information");
  }
  ctx.reply.Simple("OK");
}

void Acl(CommandContext& ctx) {
  const std::string sub = ToLower(ctx.argv[1]);
  const AclCommand* cmd = FindAclCommand("acl|" + sub);
  if (cmd == nullptr || sub.find('|') != std::string::npos) {
    return ctx.reply.Error("ERR unknown subcommand '" + ctx.argv[1].substr(0, 128) +
                           "'. Try ACL HELP.");
  }
  const int argc = static_cast<int>(ctx.argv.size());
  if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
    return ctx.reply.Error("ERR wrong number of arguments for 'acl|" + sub + "' command");
  }
  AclRegistry& acl = ctx.server.acl();
  if (sub == "setuser") return SetUser(ctx);
  if (sub == "getuser") return GetUser(ctx);
  if (sub == "deluser") return DelUser(ctx);
  if (sub == "list" || sub == "users") {
    std::vector<std::string> out;
    for (const auto& u : acl.Users()) {
      out.push_back(sub == "users" ? u->name() : "user " + u->name() + " " + u->Describe());
    }
    return ctx.reply.BulkArray(out);
  }
  if (sub == "whoami") return ctx.reply.Bulk(ctx.conn.user_name());
  if (sub == "cat") return Cat(ctx);
  if (sub == "log") return Log(ctx);
  if (sub == "genpass") return GenPass(ctx);
  if (sub == "dryrun") return DryRun(ctx);
  if (sub == "load" || sub == "save") return LoadOrSave(ctx, sub == "load");
  WriteHelp(ctx.reply, "ACL",
            {"CAT [<category>]",
             "    List all commands that belong to <category>, or all command categories",
             "    when no category is specified.",
             "DELUSER <username> [<username> ...]",
             "    Delete a list of users.",
             "DRYRUN <username> <command> [<arg> ...]",
             "    Returns whether the user can execute the given command without executing "
             "the command.",
             "GETUSER <username>",
             "    Get the user's details.",
             "GENPASS [<bits>]",
             "    Generate a secure 256-bit user password. The optional `bits` argument can",
             "    be used to specify a different size.",
             "LIST",
             "    Show users details in config file format.",
             "LOAD",
             "    Reload users from the ACL file.",
             "LOG [<count> | RESET]",
             "    Show the ACL log entries.",
             "SAVE",
             "    Save the current config to the ACL file.",
             "SETUSER <username> <attribute> [<attribute> ...]",
             "    Create or modify a user with the specified attributes.",
             "USERS",
             "    List all the registered usernames.",
             "WHOAMI",
             "    Return the current connection username."});
}

}  // namespace

void RespServer::KillClientsOfUsers(const std::vector<std::string>& users, Connection* current) {
  if (users.empty()) return;
  for (auto& c : Clients()) {
    if (std::find(users.begin(), users.end(), c->user_name()) == users.end()) continue;
    if (c.get() == current) {
      c->CloseAfterReply();
    } else {
      c->KillFromAnyThread();
    }
  }
}

void RespServer::KillSubscribersLosingChannels(const std::string& user, Connection* current) {
  std::shared_ptr<const AclUser> u = acl_.Find(user);
  if (!u) return;
  auto allowed = [&u](const std::string& channel, bool pattern) {
    for (const AclSelector& s : u->selectors()) {
      if (s.ChannelAllowed(channel, pattern)) return true;
    }
    return false;
  };
  for (auto& c : Clients()) {
    if (c->user_name() != user || !c->has_subscriptions()) continue;
    bool kill = false;
    for (const auto& p : c->subscribed_patterns()) kill = kill || !allowed(p, true);
    for (const auto& ch : c->subscribed_channels()) kill = kill || !allowed(ch, false);
    if (!kill) continue;
    if (c.get() == current) {
      c->CloseAfterReply();
    } else {
      c->KillFromAnyThread();
    }
  }
}

void RegisterAclCommands() {
  RegisterCommands({
      {"acl", -2, kAdmin | kNoScript | kLoading | kStale, 0, 0, 0, &Acl, "server",
       "A container for Access List Control commands.", "6.0.0"},
  });
}

}  // namespace redge::resp
