// ACL rules: parsing (ACL SETUSER), description (ACL LIST, ACL GETUSER) and the checks.
#include "edge/resp/acl.h"

#include <climits>

#include "edge/auth/crypto.h"
#include "edge/auth_guard.h"
#include "edge/resp/lua_engine.h"
#include "store/glob.h"

namespace redge::resp {
namespace {

bool Is(std::string_view op, std::string_view word) {
  if (op.size() != word.size()) return false;
  for (size_t i = 0; i < op.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(op[i])) != word[i]) return false;
  }
  return true;
}

// Spaces and NULs are refused in names and patterns, so rules can be written back as text.
bool HasSpaces(std::string_view s) {
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '\0') return true;
  }
  return false;
}

constexpr uint32_t kPermRead = 1, kPermWrite = 2;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string_view AclRuleErrorText(AclRuleError e) {
  switch (e) {
    case AclRuleError::kNone:
      return "";
    case AclRuleError::kSyntax:
      return "Syntax error";
    case AclRuleError::kUnknownName:
      return "Unknown command or category name in ACL";
    case AclRuleError::kKeyAfterStar:
      return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does "
             "not have any effect. Try 'resetkeys' to start with an empty list of patterns";
    case AclRuleError::kChannelAfterStar:
      return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and "
             "does not have any effect. Try 'resetchannels' to start with an empty list of "
             "channels";
    case AclRuleError::kNoSuchPassword:
      return "The password you are trying to remove from the user does not exist";
    case AclRuleError::kBadHash:
      return "The password hash must be exactly 64 characters and contain only lowercase "
             "hexadecimal characters";
    case AclRuleError::kFirstArgOfSub:
      return "Allowing first-arg of a subcommand is not supported";
  }
  return "Wrong format";
}

// --- AclSelector --------------------------------------------------------------------------

AclSelector::AclSelector(uint32_t flags)
    : flags_(flags), bits_((AclCommands().size() + 1 + 63) / 64, 0) {}

bool AclSelector::Bit(int id) const { return (bits_[id / 64] >> (id % 64)) & 1; }

void AclSelector::SetBit(int id, bool on) {
  if (on) {
    bits_[id / 64] |= uint64_t{1} << (id % 64);
  } else {
    bits_[id / 64] &= ~(uint64_t{1} << (id % 64));
    flags_ &= ~kAllCommands;  // some command is refused now
  }
}

bool AclSelector::CanRunFutureCommands() const {
  return Bit(static_cast<int>(AclCommands().size()));
}

void AclSelector::ChangePerm(const AclCommand& cmd, bool allow) {
  SetBit(cmd.id, allow);
  firstargs_.erase(cmd.id);
  for (const AclCommand* sub : cmd.subcommands) SetBit(sub->id, allow);
}

void AclSelector::SetCategory(uint32_t category, bool allow) {
  // Table order is a command, then its subcommands: a container changes all of them, then
  // each subcommand of the category changes again.
  for (const AclCommand& c : AclCommands()) {
    if (c.categories & category) ChangePerm(c, allow);
  }
}

void AclSelector::CountCategory(uint32_t category, int* on, int* off) const {
  *on = *off = 0;
  for (const AclCommand& c : AclCommands()) {
    if (c.categories & category) (Bit(c.id) ? *on : *off)++;
  }
}

AclRuleError AclSelector::Apply(std::string_view op) {
  if (Is(op, "allkeys") || op == "~*") {
    flags_ |= kAllKeys;
    keys_.clear();
  } else if (Is(op, "resetkeys")) {
    flags_ &= ~kAllKeys;
    keys_.clear();
  } else if (Is(op, "allchannels") || op == "&*") {
    flags_ |= kAllChannels;
    channels_.clear();
  } else if (Is(op, "resetchannels")) {
    flags_ &= ~kAllChannels;
    channels_.clear();
  } else if (Is(op, "allcommands") || Is(op, "+@all")) {
    std::fill(bits_.begin(), bits_.end(), ~uint64_t{0});
    flags_ |= kAllCommands;
    firstargs_.clear();
  } else if (Is(op, "nocommands") || Is(op, "-@all")) {
    std::fill(bits_.begin(), bits_.end(), 0);
    flags_ &= ~kAllCommands;
    firstargs_.clear();
  } else if (!op.empty() && (op[0] == '~' || op[0] == '%')) {
    if (flags_ & kAllKeys) return AclRuleError::kKeyAfterStar;
    uint32_t perms = 0;
    size_t offset = 1;
    if (op[0] == '%') {
      for (; offset < op.size(); ++offset) {
        const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(op[offset])));
        if (c == 'R' && !(perms & kPermRead)) {
          perms |= kPermRead;
        } else if (c == 'W' && !(perms & kPermWrite)) {
          perms |= kPermWrite;
        } else if (op[offset] == '~') {
          offset++;
          break;
        } else {
          return AclRuleError::kSyntax;
        }
      }
      if (perms == 0) return AclRuleError::kSyntax;
    } else {
      perms = kPermRead | kPermWrite;
    }
    std::string_view pattern = op.substr(offset);
    if (HasSpaces(pattern)) return AclRuleError::kSyntax;
    bool merged = false;
    for (KeyPattern& k : keys_) {
      if (k.pattern == pattern) {
        k.perms |= perms;
        merged = true;
      }
    }
    if (!merged) keys_.push_back({std::string(pattern), perms});
    flags_ &= ~kAllKeys;
  } else if (!op.empty() && op[0] == '&') {
    if (flags_ & kAllChannels) return AclRuleError::kChannelAfterStar;
    std::string_view pattern = op.substr(1);
    if (HasSpaces(pattern)) return AclRuleError::kSyntax;
    if (std::find(channels_.begin(), channels_.end(), pattern) == channels_.end()) {
      channels_.emplace_back(pattern);
    }
    flags_ &= ~kAllChannels;
  } else if (op.size() >= 1 && op[0] == '+' && (op.size() < 2 || op[1] != '@')) {
    std::string_view name = op.substr(1);
    const size_t bar = name.rfind('|');
    if (bar == std::string_view::npos) {
      const AclCommand* cmd = FindAclCommand(name);
      if (cmd == nullptr) return AclRuleError::kUnknownName;
      ChangePerm(*cmd, true);
    } else {
      const AclCommand* cmd = FindAclCommand(name.substr(0, bar));
      if (cmd == nullptr) return AclRuleError::kUnknownName;
      if (cmd->parent != nullptr) return AclRuleError::kFirstArgOfSub;
      std::string_view sub = name.substr(bar + 1);
      if (sub.empty()) return AclRuleError::kSyntax;
      if (!cmd->subcommands.empty()) {
        const AclCommand* subcmd = FindAclCommand(name);
        if (subcmd == nullptr) return AclRuleError::kUnknownName;
        ChangePerm(*subcmd, true);
      } else {
        // An otherwise refused command allowed with this first argument (+select|0).
        std::vector<std::string>& args = firstargs_[cmd->id];
        bool seen = false;
        for (const std::string& a : args) seen = seen || Is(sub, Lower(a));
        if (!seen) args.emplace_back(sub);
      }
    }
  } else if (op.size() >= 1 && op[0] == '-' && (op.size() < 2 || op[1] != '@')) {
    const AclCommand* cmd = FindAclCommand(op.substr(1));
    if (cmd == nullptr) return AclRuleError::kUnknownName;
    ChangePerm(*cmd, false);
  } else if (op.size() >= 2 && (op[0] == '+' || op[0] == '-') && op[1] == '@') {
    const uint32_t category = AclCategoryByName(op.substr(2));
    if (category == 0) return AclRuleError::kUnknownName;
    SetCategory(category, op[0] == '+');
  } else {
    return AclRuleError::kSyntax;
  }
  return AclRuleError::kNone;
}

std::string AclSelector::DescribeCommands() const {
  // Start from +@all (when future commands are allowed) or -@all, add or remove the best
  // fitting categories one at a time, then the single commands that still differ. The
  // rules are replayed on `fake` as they are emitted.
  AclSelector fake(0);
  const bool additive = !CanRunFutureCommands();
  std::string rules = additive ? "-@all " : "+@all ";
  fake.Apply(additive ? "-@all" : "+@all");
  AclSelector temp(0);
  temp.bits_ = bits_;
  bool applied[kAclCategoryCount] = {};
  while (true) {
    int best = -1, mindiff = INT_MAX, maxsame = 0;
    for (int j = 0; j < kAclCategoryCount; ++j) {
      if (applied[j]) continue;
      int on = 0, off = 0;
      temp.CountCategory(1u << j, &on, &off);
      const int diff = additive ? off : on;
      const int same = additive ? on : off;
      if (same > diff && (diff < mindiff || (diff == mindiff && same > maxsame))) {
        best = j;
        mindiff = diff;
        maxsame = same;
      }
    }
    if (best == -1) break;
    const std::string name = kAclCategoryNames[best];
    fake.Apply((additive ? "+@" : "-@") + name);
    temp.Apply((additive ? "-@" : "+@") + name);
    rules += (additive ? "+@" : "-@") + name + " ";
    applied[best] = true;
  }
  for (const AclCommand& c : AclCommands()) {
    const bool bit = Bit(c.id);
    if (bit != fake.Bit(c.id)) {
      rules += (bit ? "+" : "-") + c.name + " ";
      fake.ChangePerm(c, bit);
    }
    if (!bit) {
      if (auto it = firstargs_.find(c.id); it != firstargs_.end()) {
        for (const std::string& arg : it->second) rules += "+" + c.name + "|" + arg + " ";
      }
    }
  }
  rules.pop_back();  // the last space
  return rules;
}

std::string AclSelector::DescribeKeys() const {
  if (flags_ & kAllKeys) return "~*";
  std::string out;
  for (const KeyPattern& k : keys_) {
    if (!out.empty()) out += " ";
    out += (k.perms == (kPermRead | kPermWrite) ? "~"
            : k.perms == kPermRead              ? "%R~"
                                                : "%W~") +
           k.pattern;
  }
  return out;
}

std::string AclSelector::DescribeChannels() const {
  if (flags_ & kAllChannels) return "&*";
  std::string out;
  for (const std::string& c : channels_) out += (out.empty() ? "&" : " &") + c;
  return out;
}

std::string AclSelector::Describe() const {
  std::string out;
  if (flags_ & kAllKeys) {
    out = "~* ";
  } else {
    for (const KeyPattern& k : keys_) {
      out += (k.perms == (kPermRead | kPermWrite) ? "~"
              : k.perms == kPermRead              ? "%R~"
                                                  : "%W~") +
             k.pattern + " ";
    }
  }
  if (flags_ & kAllChannels) {
    out += "&* ";
  } else {
    out += "resetchannels ";
    for (const std::string& c : channels_) out += "&" + c + " ";
  }
  return out + DescribeCommands();
}

bool AclSelector::KeyAllowed(std::string_view key, uint32_t key_flags) const {
  if (flags_ & kAllKeys) return true;
  uint32_t need = 0;
  if (key_flags & kKeyAccess) need |= kPermRead;
  if (key_flags & (kKeyInsert | kKeyDelete | kKeyUpdate)) need |= kPermWrite;
  for (const KeyPattern& k : keys_) {
    if ((k.perms & need) != need) continue;
    if (store::GlobMatch(k.pattern, key)) return true;
  }
  return false;
}

bool AclSelector::ChannelAllowed(std::string_view channel, bool pattern) const {
  if (flags_ & kAllChannels) return true;
  for (const std::string& c : channels_) {
    // A PSUBSCRIBE pattern must be one of the allowed patterns, literally: matching it as a
    // channel name would let "a*" subscribe to more than "a*" allows.
    if (pattern ? c == channel : store::GlobMatch(c, channel)) return true;
  }
  return false;
}

AclDenial AclSelector::Check(const AclCommand& cmd, const std::vector<std::string>& argv, int* pos,
                             std::optional<std::vector<AclKeyRef>>* keys) const {
  if (!(flags_ & kAllCommands) && !cmd.no_auth && !Bit(cmd.id)) {
    // Allowed with a first argument only (+select|0)?
    auto it = firstargs_.find(cmd.id);
    const size_t at = cmd.parent ? 2 : 1;
    if (argv.size() < 2 || at >= argv.size() || it == firstargs_.end()) return AclDenial::kCommand;
    bool match = false;
    for (const std::string& a : it->second) match = match || Is(argv[at], Lower(a));
    if (!match) return AclDenial::kCommand;
  }
  if (!(flags_ & kAllKeys) && !cmd.key_specs.empty()) {
    if (!keys->has_value()) *keys = AclKeysOf(cmd, argv);
    for (const AclKeyRef& k : **keys) {
      if (!KeyAllowed(argv[k.pos], k.flags)) {
        *pos = k.pos;
        return AclDenial::kKey;
      }
    }
  }
  if (!(flags_ & kAllChannels)) {
    for (const AclChannelRef& c : AclChannelsOf(cmd, argv)) {
      if (!ChannelAllowed(argv[c.pos], c.pattern)) {
        *pos = c.pos;
        return AclDenial::kChannel;
      }
    }
  }
  return AclDenial::kOk;
}

// --- AclUser ------------------------------------------------------------------------------

AclUser::AclUser(std::string name, bool pubsub_all) : name_(std::move(name)) {
  selectors_.emplace_back(AclSelector::kRoot |
                          (pubsub_all ? uint32_t{AclSelector::kAllChannels} : 0u));
}

AclUser AclUser::Default() {
  AclUser u("default", false);
  for (const char* op : {"+@all", "~*", "&*", "on", "nopass"}) u.Apply(op, false);
  return u;
}

AclRuleError AclUser::Apply(std::string_view op, bool pubsub_all) {
  if (op.empty()) return AclRuleError::kNone;
  if (Is(op, "on")) {
    enabled_ = true;
  } else if (Is(op, "off")) {
    enabled_ = false;
  } else if (Is(op, "skip-sanitize-payload")) {
    sanitize_ = 2;
  } else if (Is(op, "sanitize-payload")) {
    sanitize_ = 1;
  } else if (Is(op, "nopass")) {
    nopass_ = true;
    passwords_.clear();
  } else if (Is(op, "resetpass")) {
    nopass_ = false;
    passwords_.clear();
  } else if (op[0] == '>' || op[0] == '#') {
    std::string hash;
    if (op[0] == '>') {
      hash = auth::Sha256Hex(op.substr(1));
    } else {
      if (!auth::IsSha256Hex(op.substr(1))) return AclRuleError::kBadHash;
      hash = std::string(op.substr(1));
    }
    if (std::find(passwords_.begin(), passwords_.end(), hash) == passwords_.end()) {
      passwords_.push_back(std::move(hash));
    }
    nopass_ = false;
  } else if (op[0] == '<' || op[0] == '!') {
    std::string hash;
    if (op[0] == '<') {
      hash = auth::Sha256Hex(op.substr(1));
    } else {
      if (!auth::IsSha256Hex(op.substr(1))) return AclRuleError::kBadHash;
      hash = std::string(op.substr(1));
    }
    auto it = std::find(passwords_.begin(), passwords_.end(), hash);
    if (it == passwords_.end()) return AclRuleError::kNoSuchPassword;
    passwords_.erase(it);
  } else if (op[0] == '(' && op.back() == ')') {
    bool ok = false;
    std::vector<std::string> ops = SplitArgs(op.substr(1, op.size() - 2), &ok);
    if (!ok) return AclRuleError::kSyntax;
    AclSelector s(0);
    for (const std::string& o : ops) {
      if (AclRuleError e = s.Apply(o); e != AclRuleError::kNone) return e;
    }
    selectors_.push_back(std::move(s));
  } else if (Is(op, "clearselectors")) {
    selectors_.erase(selectors_.begin() + 1, selectors_.end());
  } else if (Is(op, "reset")) {
    for (const char* o : {"resetpass", "resetkeys", "resetchannels"}) Apply(o, pubsub_all);
    if (pubsub_all) Apply("allchannels", pubsub_all);
    for (const char* o : {"off", "sanitize-payload", "clearselectors", "-@all"}) {
      Apply(o, pubsub_all);
    }
  } else {
    return selectors_[0].Apply(op);
  }
  return AclRuleError::kNone;
}

std::variant<AclUser, std::string> AclUser::WithRules(const AclUser& base,
                                                      const std::vector<std::string>& ops,
                                                      bool pubsub_all) {
  // "(~a +get" "+set)" is one selector: arguments are merged until a closing parenthesis.
  std::vector<std::string> merged;
  std::string selector;
  bool open = false;
  size_t open_at = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    const std::string& op = ops[i];
    if (!open && !op.empty() && op[0] == '(' && op.back() != ')') {
      selector = op;
      open = true;
      open_at = i;
      continue;
    }
    if (open) {
      selector += " " + op;
      if (!op.empty() && op.back() == ')') {
        open = false;
        merged.push_back(std::move(selector));
      }
      continue;
    }
    merged.push_back(op);
  }
  if (open) {
    return "Unmatched parenthesis in acl selector starting at '" + ops[open_at] + "'.";
  }
  AclUser user = base;
  for (const std::string& op : merged) {
    if (AclRuleError e = user.Apply(op, pubsub_all); e != AclRuleError::kNone) {
      return "Error in ACL SETUSER modifier '" + op + "': " + std::string(AclRuleErrorText(e));
    }
  }
  return user;
}

std::vector<std::string> AclUser::FlagNames() const {
  std::vector<std::string> out{enabled_ ? "on" : "off"};
  if (nopass_) out.push_back("nopass");
  if (sanitize_ == 2) out.push_back("skip-sanitize-payload");
  if (sanitize_ == 1) out.push_back("sanitize-payload");
  return out;
}

std::string AclUser::Describe() const {
  std::string out;
  for (const std::string& f : FlagNames()) out += f + " ";
  for (const std::string& p : passwords_) out += "#" + p + " ";
  out += selectors_[0].Describe();
  for (size_t i = 1; i < selectors_.size(); ++i) out += " (" + selectors_[i].Describe() + ")";
  return out;
}

bool AclUser::Authenticates(std::string_view password) const {
  if (!enabled_) return false;
  if (nopass_) return true;
  const std::string hash = auth::Sha256Hex(password);
  bool match = false;
  for (const std::string& p : passwords_) match = SecretEquals(hash, p) || match;
  return match;
}

bool AclUser::unrestricted() const {
  const AclSelector& root = selectors_[0];
  return root.all_commands() && root.all_keys() && root.all_channels();
}

// --- Checks -------------------------------------------------------------------------------

AclDenial AclCheck(const AclUser& user, const std::vector<std::string>& argv, int* pos) {
  if (user.unrestricted()) return AclDenial::kOk;
  const AclCommand* cmd = AclCommandOf(argv);
  if (cmd == nullptr) return AclDenial::kOk;  // not a command Redis has: nothing to check
  AclDenial relevant = AclDenial::kCommand;
  int last = 0;
  std::optional<std::vector<AclKeyRef>> keys;  // computed once for all selectors
  for (const AclSelector& s : user.selectors()) {
    int at = 0;
    AclDenial d = s.Check(*cmd, argv, &at, &keys);
    if (d == AclDenial::kOk) return d;
    if (d > relevant || (d == relevant && at > last)) {
      relevant = d;
      last = at;
    }
  }
  *pos = last;
  return relevant;
}

std::string AclLogObject(AclDenial denial, const std::vector<std::string>& argv, int pos) {
  if (denial == AclDenial::kCommand) {
    const AclCommand* cmd = AclCommandOf(argv);
    return cmd ? cmd->name : Lower(argv[0]);
  }
  if (denial == AclDenial::kAuth) return argv[0];
  return pos >= 0 && pos < static_cast<int>(argv.size()) ? argv[pos] : "";
}

std::string AclNopermError(AclDenial denial, const std::vector<std::string>& argv) {
  switch (denial) {
    case AclDenial::kCommand: {
      const AclCommand* cmd = AclCommandOf(argv);
      return "NOPERM this user has no permissions to run the '" +
             (cmd ? cmd->name : Lower(argv[0])) + "' command";
    }
    case AclDenial::kKey:
      return "NOPERM this user has no permissions to access one of the keys used as arguments";
    case AclDenial::kChannel:
      return "NOPERM this user has no permissions to access one of the channels used as "
             "arguments";
    default:
      return "ERR no permission";
  }
}

std::string AclExecNopermError(AclDenial denial) {
  const char* reason = denial == AclDenial::kCommand
                           ? "no permission to execute the command or subcommand"
                       : denial == AclDenial::kKey ? "no permission to touch the specified keys"
                       : denial == AclDenial::kChannel
                           ? "no permission to access one of the channels used as arguments"
                           : "no permission";
  return std::string(
             "NOPERM ACLs rules changed between the moment the transaction was accumulated and "
             "the EXEC call. This command is no longer allowed for the following reason: ") +
         reason;
}

std::string AclScriptError(AclDenial denial) {
  const char* why = denial == AclDenial::kCommand ? "can't run this command or subcommand"
                    : denial == AclDenial::kKey
                        ? "can't access at least one of the keys mentioned in the command arguments"
                    : denial == AclDenial::kChannel
                        ? "can't publish to the channel mentioned in the command"
                        : "lacking the permissions for the command";
  return std::string("The user executing the script ") + why;
}

}  // namespace redge::resp
