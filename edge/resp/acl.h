// RESP ACL users, as Redis 6+/7.0 has them: users with passwords (stored as SHA-256),
// on/off, and selectors of command rules (+cmd, -cmd, +@category, +cmd|sub, +cmd|firstarg),
// key patterns (~pattern, %R~ read-only, %W~ write-only, allkeys) and channel patterns
// (&pattern, allchannels). A command runs when one of the user's selectors allows the
// command, every key it names (with the access the key specs say) and every channel.
//
// The rules are Redis's (acl_table.h is Redis 7.0's command table); rule parsing, the
// description of a user (ACL LIST, GETUSER) and the checks follow Redis 7.0's documented
// behaviour and were compared with a real redis-server 7.0 (tests/compat/test_compat_acl.py).
//
// AclCheck is the one permission check: connections call it before queueing or running a
// command, EXEC again for each queued command, and scripts for each redis.call() (the
// user of the client that runs the script), so a rule holds whatever path a command takes.
//
// Thread-safety: AclSelector and AclUser are values; a user in use is a
// shared_ptr<const AclUser> snapshot (AclRegistry replaces it on change, never mutates it).
// The table functions are safe from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "edge/resp/acl_table.h"

namespace redge::resp {

struct CommandSpec;

// Key access, as Redis's key specifications flag it.
enum AclKeyFlag : uint32_t {
  kKeyRO = 1u << 0,
  kKeyRW = 1u << 1,
  kKeyOW = 1u << 2,
  kKeyRM = 1u << 3,
  kKeyAccess = 1u << 4,
  kKeyUpdate = 1u << 5,
  kKeyInsert = 1u << 6,
  kKeyDelete = 1u << 7,
  kKeyNotKey = 1u << 8,
  kKeyIncomplete = 1u << 9,
  kKeyVariableFlags = 1u << 10,
};

struct AclKeySpec {
  uint32_t flags = 0;
  enum class Begin { kIndex, kKeyword, kUnknown } begin = Begin::kUnknown;
  int index = 0;
  std::string keyword;
  int startfrom = 0;
  enum class Find { kRange, kKeynum, kUnknown } find = Find::kUnknown;
  int lastkey = 0, keystep = 1, limit = 0;
  int keynumidx = 0, firstkey = 0;
};

// One command of the ACL table.
struct AclCommand {
  int id = 0;        // index in AclCommands(): its bit in a selector
  std::string name;  // lower case; "parent|sub" for a subcommand
  int arity = 0;
  uint32_t categories = 0;
  bool no_auth = false;
  const AclCommand* parent = nullptr;
  std::vector<const AclCommand*> subcommands;
  std::vector<AclKeySpec> key_specs;
};

const std::vector<AclCommand>& AclCommands();
// By full name ("get", "config|get"), case-insensitively; null when Redis has no such
// command (or a name has more than one '|').
const AclCommand* FindAclCommand(std::string_view full_name);
// The entry a command line is checked as: a container's subcommand when the table has it,
// else the command itself; null for a command Redis does not have.
const AclCommand* AclCommandOf(const std::vector<std::string>& argv);
// A category's bit by name (case-insensitive), 0 when unknown.
uint32_t AclCategoryByName(std::string_view name);

struct AclKeyRef {
  int pos;         // index in argv
  uint32_t flags;  // AclKeyFlag bits
};
// The keys of a command line and how it accesses them: its key specs, or for commands
// whose specs cannot tell (SET's GET option, SORT's STORE, BITFIELD's subcommands) the
// arguments themselves.
std::vector<AclKeyRef> AclKeysOf(const AclCommand& cmd, const std::vector<std::string>& argv);
struct AclChannelRef {
  int pos;
  bool pattern;  // PSUBSCRIBE: matched literally against the user's channel patterns
};
// The channels ACL checks: those of PUBLISH, SPUBLISH, SUBSCRIBE, SSUBSCRIBE, PSUBSCRIBE.
std::vector<AclChannelRef> AclChannelsOf(const AclCommand& cmd,
                                         const std::vector<std::string>& argv);

// Why a command is refused. The numbering is Redis's: when several selectors refuse, the
// highest reason (then the last argument) is the one reported.
enum class AclDenial { kOk = 0, kCommand = 1, kKey = 2, kAuth = 3, kChannel = 4 };

// What went wrong in a rule (ACL SETUSER, an ACL file).
enum class AclRuleError {
  kNone,
  kSyntax,            // "Syntax error"
  kUnknownName,       // unknown command or category
  kKeyAfterStar,      // a key pattern after allkeys
  kChannelAfterStar,  // a channel pattern after allchannels
  kNoSuchPassword,    // <pass or !hash of a password the user does not have
  kBadHash,           // #hash that is not 64 lower-case hex digits
  kFirstArgOfSub,     // +cmd|sub|arg
};
std::string_view AclRuleErrorText(AclRuleError e);

class AclSelector {
 public:
  enum Flag : uint32_t { kRoot = 1, kAllKeys = 2, kAllChannels = 4, kAllCommands = 8 };
  explicit AclSelector(uint32_t flags);

  // One rule: +cmd -cmd +@cat -@cat +cmd|sub +cmd|arg ~pat %R~pat %W~pat allkeys resetkeys
  // &pat allchannels resetchannels allcommands nocommands.
  AclRuleError Apply(std::string_view op);
  // Redis's description: keys, channels, then the command rules (+@all or -@all first).
  std::string Describe() const;
  std::string DescribeCommands() const;
  std::string DescribeKeys() const;      // "~*", "~a %R~b", "" (ACL GETUSER's "keys")
  std::string DescribeChannels() const;  // "&*", "&a &b", ""
  AclDenial Check(const AclCommand& cmd, const std::vector<std::string>& argv, int* pos,
                  std::optional<std::vector<AclKeyRef>>* keys) const;
  bool ChannelAllowed(std::string_view channel, bool pattern) const;
  bool all_commands() const { return flags_ & kAllCommands; }
  bool all_keys() const { return flags_ & kAllKeys; }
  bool all_channels() const { return flags_ & kAllChannels; }
  uint32_t flags() const { return flags_; }
  const std::vector<std::string>& channels() const { return channels_; }

 private:
  struct KeyPattern {
    std::string pattern;
    uint32_t perms;  // 1 read, 2 write
  };
  bool Bit(int id) const;
  void SetBit(int id, bool on);
  bool CanRunFutureCommands() const;
  void ChangePerm(const AclCommand& cmd, bool allow);
  void SetCategory(uint32_t category, bool allow);
  void CountCategory(uint32_t category, int* on, int* off) const;
  bool KeyAllowed(std::string_view key, uint32_t key_flags) const;

  uint32_t flags_;
  std::vector<uint64_t> bits_;  // one per command id, and the last one: future commands
  std::map<int, std::vector<std::string>> firstargs_;
  std::vector<KeyPattern> keys_;
  std::vector<std::string> channels_;
};

class AclUser {
 public:
  // A new user as ACL SETUSER creates one: off, no password, no permission; its channels
  // follow acl-pubsub-default (`pubsub_all`: allchannels, else resetchannels).
  AclUser(std::string name, bool pubsub_all);
  // Redis's default user: on nopass ~* &* +@all.
  static AclUser Default();

  // One rule of ACL SETUSER (user flags, passwords, a "(selector)", or a root selector
  // rule). `pubsub_all` is acl-pubsub-default (for `reset`).
  AclRuleError Apply(std::string_view op, bool pubsub_all);
  // Applies `ops` (merging "(a" "b)" into one selector) to a copy: the result, or the
  // error line of ACL SETUSER ("Error in ACL SETUSER modifier '...': ...").
  static std::variant<AclUser, std::string> WithRules(const AclUser& base,
                                                      const std::vector<std::string>& ops,
                                                      bool pubsub_all);
  // ACL LIST's text after the name.
  std::string Describe() const;

  bool enabled() const { return enabled_; }
  bool nopass() const { return nopass_; }
  const std::string& name() const { return name_; }
  // Flags for ACL GETUSER, in Redis's order.
  std::vector<std::string> FlagNames() const;
  const std::vector<std::string>& password_hashes() const { return passwords_; }
  const std::vector<AclSelector>& selectors() const { return selectors_; }
  // Whether `password` is one of the user's (SHA-256 compared in constant time) or the
  // user is nopass. Disabled users never match.
  bool Authenticates(std::string_view password) const;
  // Runs everything: the checks can be skipped (the default user out of the box).
  bool unrestricted() const;
  // Which creation of the user this is: AclRegistry numbers a user when it creates it (a
  // new name, ACL LOAD); rule changes keep it. A connection authenticated as an earlier
  // incarnation runs nothing more (Redis frees the user it pointed to).
  uint64_t incarnation() const { return incarnation_; }
  void set_incarnation(uint64_t n) { incarnation_ = n; }

 private:
  std::string name_;
  bool enabled_ = false;
  bool nopass_ = false;
  int sanitize_ = 0;                    // 0 unset, 1 sanitize-payload, 2 skip-sanitize-payload
  std::vector<std::string> passwords_;  // hex SHA-256, in the order added
  std::vector<AclSelector> selectors_;  // [0] is the root selector
  uint64_t incarnation_ = 0;
};

// The permission check of a command line for `user`: kOk, or why not and (*pos) the
// argument (key or channel) refused. `spec` is redge's command (its arity already checked).
AclDenial AclCheck(const AclUser& user, const std::vector<std::string>& argv, int* pos);
// What ACL LOG names for a denial: the command (its full name), the key or the channel.
std::string AclLogObject(AclDenial denial, const std::vector<std::string>& argv, int pos);
// The NOPERM reply of a top-level command refused for `denial`.
std::string AclNopermError(AclDenial denial, const std::vector<std::string>& argv);
// The error of a command refused inside EXEC (rules changed since it was queued).
std::string AclExecNopermError(AclDenial denial);
// The error of a redis.call() refused inside a script.
std::string AclScriptError(AclDenial denial);

}  // namespace redge::resp
