// The ACL command table built from acl_table.cc, and what a command line touches: its keys
// (from Redis's key specifications, or the arguments where the specs cannot tell) and its
// channels.
#include <cctype>
#include <mutex>
#include <unordered_map>

#include "edge/resp/acl.h"
#include "store/strings.h"

namespace redge::resp {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

int Int(std::string_view s) {
  int64_t v = 0;
  store::strings::ParseInt64(s, &v);
  return static_cast<int>(v);
}

uint32_t KeyFlagByName(std::string_view name) {
  static const std::pair<const char*, uint32_t> kFlags[] = {{"ro", kKeyRO},
                                                            {"rw", kKeyRW},
                                                            {"ow", kKeyOW},
                                                            {"rm", kKeyRM},
                                                            {"access", kKeyAccess},
                                                            {"update", kKeyUpdate},
                                                            {"insert", kKeyInsert},
                                                            {"delete", kKeyDelete},
                                                            {"not_key", kKeyNotKey},
                                                            {"incomplete", kKeyIncomplete},
                                                            {"variable_flags", kKeyVariableFlags}};
  for (auto& [n, f] : kFlags) {
    if (name == n) return f;
  }
  return 0;
}

// "FLAGS;BEGIN;FIND" as tools/dev/gen_acl_table.py writes it.
AclKeySpec ParseSpec(std::string_view text) {
  AclKeySpec spec;
  std::vector<std::string_view> parts = Split(text, ';');
  for (std::string_view f : Split(parts[0], ',')) spec.flags |= KeyFlagByName(f);
  std::string_view begin = parts.size() > 1 ? parts[1] : "u";
  std::string_view find = parts.size() > 2 ? parts[2] : "u";
  if (begin[0] == 'i') {
    spec.begin = AclKeySpec::Begin::kIndex;
    spec.index = Int(begin.substr(1));
  } else if (begin[0] == 'k') {
    spec.begin = AclKeySpec::Begin::kKeyword;
    const size_t comma = begin.rfind(',');
    spec.keyword = std::string(begin.substr(1, comma - 1));
    spec.startfrom = Int(begin.substr(comma + 1));
  }
  if (find[0] == 'r' || find[0] == 'n') {
    std::vector<std::string_view> v = Split(find.substr(1), ',');
    if (find[0] == 'r') {
      spec.find = AclKeySpec::Find::kRange;
      spec.lastkey = Int(v[0]);
      spec.keystep = Int(v[1]);
      spec.limit = Int(v[2]);
    } else {
      spec.find = AclKeySpec::Find::kKeynum;
      spec.keynumidx = Int(v[0]);
      spec.firstkey = Int(v[1]);
      spec.keystep = Int(v[2]);
    }
  }
  return spec;
}

struct Table {
  std::vector<AclCommand> commands;
  std::unordered_map<std::string, int> by_name;
};

const Table& TheTable() {
  static const Table* table = [] {
    auto* t = new Table;
    t->commands.reserve(kAclCommandCount);
    for (size_t i = 0; i < kAclCommandCount; ++i) {
      const AclCommandInfo& info = kAclCommands[i];
      AclCommand c;
      c.id = static_cast<int>(i);
      c.name = info.name;
      c.arity = info.arity;
      c.categories = info.categories;
      c.no_auth = info.flags & kAclCmdNoAuth;
      if (info.key_specs[0] != '\0') {
        for (std::string_view s : Split(info.key_specs, '|')) c.key_specs.push_back(ParseSpec(s));
      }
      t->by_name[c.name] = c.id;
      t->commands.push_back(std::move(c));
    }
    for (AclCommand& c : t->commands) {
      const size_t bar = c.name.find('|');
      if (bar == std::string::npos) continue;
      AclCommand& parent = t->commands[t->by_name.at(c.name.substr(0, bar))];
      c.parent = &parent;
      parent.subcommands.push_back(&c);
    }
    return t;
  }();
  return *table;
}

// What the key specifications cannot say: these commands' keys depend on their options.
bool CustomKeys(const AclCommand& cmd, const std::vector<std::string>& argv,
                std::vector<AclKeyRef>* out) {
  const int argc = static_cast<int>(argv.size());
  if (cmd.name == "set") {
    // The GET option makes SET read the old value too.
    uint32_t flags = kKeyOW | kKeyUpdate;
    for (int i = 3; i < argc; ++i) {
      if (EqualsNoCase(argv[i], "get")) flags = kKeyRW | kKeyAccess | kKeyUpdate;
    }
    if (argc > 1) out->push_back({1, flags});
    return true;
  }
  if (cmd.name == "sort" || cmd.name == "sort_ro") {
    if (argc > 1) out->push_back({1, kKeyRO | kKeyAccess});
    int store = 0;
    for (int i = 2; i < argc; ++i) {
      if (EqualsNoCase(argv[i], "limit")) {
        i += 2;
      } else if (EqualsNoCase(argv[i], "get") || EqualsNoCase(argv[i], "by")) {
        i += 1;
      } else if (cmd.name == "sort" && EqualsNoCase(argv[i], "store") && i + 1 < argc) {
        store = ++i;  // the last STORE wins, as the command does
      }
    }
    if (store > 0) out->push_back({store, kKeyOW | kKeyUpdate});
    return true;
  }
  if (cmd.name == "bitfield") {
    uint32_t flags = kKeyRO | kKeyAccess;
    for (int i = 2; i < argc; ++i) {
      if (EqualsNoCase(argv[i], "set") || EqualsNoCase(argv[i], "incrby")) {
        flags = kKeyRW | kKeyAccess | kKeyUpdate;
      }
    }
    if (argc > 1) out->push_back({1, flags});
    return true;
  }
  return false;
}

}  // namespace

const std::vector<AclCommand>& AclCommands() { return TheTable().commands; }

const AclCommand* FindAclCommand(std::string_view full_name) {
  const Table& t = TheTable();
  auto it = t.by_name.find(Lower(full_name));
  return it == t.by_name.end() ? nullptr : &t.commands[it->second];
}

const AclCommand* AclCommandOf(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0].size() > 64) return nullptr;
  const AclCommand* cmd = FindAclCommand(argv[0]);
  if (cmd && !cmd->subcommands.empty() && argv.size() >= 2 && argv[1].size() <= 64 &&
      argv[1].find('|') == std::string::npos) {
    if (const AclCommand* sub = FindAclCommand(cmd->name + "|" + argv[1])) return sub;
  }
  return cmd;
}

uint32_t AclCategoryByName(std::string_view name) {
  for (int i = 0; i < kAclCategoryCount; ++i) {
    if (EqualsNoCase(name, kAclCategoryNames[i])) return 1u << i;
  }
  return 0;
}

std::vector<AclKeyRef> AclKeysOf(const AclCommand& cmd, const std::vector<std::string>& argv) {
  std::vector<AclKeyRef> keys;
  const int argc = static_cast<int>(argv.size());
  bool variable = false;
  for (const AclKeySpec& s : cmd.key_specs) variable = variable || (s.flags & kKeyVariableFlags);
  if (variable && CustomKeys(cmd, argv, &keys)) return keys;
  bool complete = true;
  for (const AclKeySpec& spec : cmd.key_specs) {
    if (spec.flags & kKeyNotKey) continue;
    int first = 0;
    if (spec.begin == AclKeySpec::Begin::kIndex) {
      first = spec.index;
    } else if (spec.begin == AclKeySpec::Begin::kKeyword) {
      // Searched forward from startfrom, or backward from the end when it is negative.
      const bool forward = spec.startfrom > 0;
      int i = forward ? spec.startfrom : argc + spec.startfrom;
      for (; i >= 1 && i < argc; i += forward ? 1 : -1) {
        if (EqualsNoCase(argv[i], spec.keyword)) {
          first = i + 1;
          break;
        }
      }
      if (first == 0) continue;  // the keyword is not there: no keys from this spec
    } else {
      complete = false;
      continue;
    }
    int last = 0, step = std::max(1, spec.keystep);
    if (spec.find == AclKeySpec::Find::kRange) {
      if (spec.lastkey >= 0) {
        last = first + spec.lastkey;
      } else if (spec.limit == 0) {
        last = argc + spec.lastkey;
      } else {
        last = first + ((argc - first) / spec.limit + spec.lastkey);
      }
    } else if (spec.find == AclKeySpec::Find::kKeynum) {
      int64_t numkeys = 0;
      const int at = first + spec.keynumidx;
      // An unreadable count: the command refuses itself; the keys it names are unknown.
      if (at >= argc || !store::strings::ParseInt64(argv[at], &numkeys) || numkeys < 0) continue;
      first += spec.firstkey;
      last = first + static_cast<int>(std::min<int64_t>(numkeys, argc)) - 1;
    } else {
      complete = false;
      continue;
    }
    for (int i = first; i <= last && i < argc; i += step) keys.push_back({i, spec.flags});
    if (spec.flags & kKeyIncomplete) complete = false;
  }
  if (!complete) {
    std::vector<AclKeyRef> custom;
    if (CustomKeys(cmd, argv, &custom)) return custom;
  }
  return keys;
}

std::vector<AclChannelRef> AclChannelsOf(const AclCommand& cmd,
                                         const std::vector<std::string>& argv) {
  std::vector<AclChannelRef> out;
  const int argc = static_cast<int>(argv.size());
  const std::string& n = cmd.name;
  if (n == "publish" || n == "spublish") {
    if (argc > 1) out.push_back({1, false});
  } else if (n == "subscribe" || n == "ssubscribe" || n == "psubscribe") {
    for (int i = 1; i < argc; ++i) out.push_back({i, n == "psubscribe"});
  }
  return out;
}

}  // namespace redge::resp
