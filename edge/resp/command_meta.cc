#include "edge/resp/command_meta.h"

#include <algorithm>
#include <map>
#include <optional>
#include <unordered_map>

#include "store/strings.h"

namespace redge::resp {
namespace {

const std::unordered_map<std::string, const CommandMeta*>& Index() {
  static const auto index = [] {
    std::unordered_map<std::string, const CommandMeta*> m;
    for (const auto& c : RedisCommandMeta()) m.emplace(c.name, &c);
    return m;
  }();
  return index;
}

// The subcommands redge's own containers handle (their handlers' lists). Containers not
// listed here report Redis's whole list.
const std::map<std::string, std::vector<std::string>>& OwnSubcommands() {
  static const std::map<std::string, std::vector<std::string>> m = {
      {"client",
       {"getname", "help", "id", "info", "kill", "list", "no-evict", "pause", "reply", "setname",
        "unblock", "unpause"}},
      {"command", {"count", "docs", "getkeys", "getkeysandflags", "help", "info", "list"}},
      {"config", {"get", "help", "resetstat", "rewrite", "set"}},
      {"memory", {"doctor", "help", "malloc-stats", "purge", "usage"}},
      {"object", {"encoding", "freq", "help", "idletime", "refcount"}},
      {"pubsub", {"channels", "help", "numpat", "numsub", "shardchannels", "shardnumsub"}},
  };
  return m;
}

// The registered command `full_name` names ("client|list": its container), and whether
// redge implements that subcommand.
const CommandSpec* Resolve(std::string_view full_name, bool* implemented) {
  const size_t bar = full_name.find('|');
  const CommandSpec* spec = FindCommand(full_name.substr(0, bar));
  *implemented = spec != nullptr;
  if (spec == nullptr || bar == std::string_view::npos) return spec;
  const std::string sub = ToLower(full_name);
  const auto subs = ImplementedSubcommands(*spec);
  *implemented = std::find(subs.begin(), subs.end(), sub) != subs.end();
  return spec;
}

void WriteFlagsSet(ReplyWriter& reply, const std::vector<const char*>& flags) {
  reply.SetHeader(static_cast<int64_t>(flags.size()));
  for (const char* f : flags) reply.Simple(f);
}

void WriteKeySpec(ReplyWriter& reply, const KeySpecMeta& k) {
  const bool notes = k.notes[0] != '\0';
  reply.MapHeader(notes ? 4 : 3);
  if (notes) {
    reply.Bulk("notes");
    reply.Bulk(k.notes);
  }
  reply.Bulk("flags");
  WriteFlagsSet(reply, k.flags);
  reply.Bulk("begin_search");
  reply.MapHeader(2);
  reply.Bulk("type");
  if (k.begin == KeySpecMeta::kIndex) {
    reply.Bulk("index");
    reply.Bulk("spec");
    reply.MapHeader(1);
    reply.Bulk("index");
    reply.Integer(k.index);
  } else if (k.begin == KeySpecMeta::kKeyword) {
    reply.Bulk("keyword");
    reply.Bulk("spec");
    reply.MapHeader(2);
    reply.Bulk("keyword");
    reply.Bulk(k.keyword);
    reply.Bulk("startfrom");
    reply.Integer(k.startfrom);
  } else {
    reply.Bulk("unknown");
    reply.Bulk("spec");
    reply.MapHeader(0);
  }
  reply.Bulk("find_keys");
  reply.MapHeader(2);
  reply.Bulk("type");
  if (k.find == KeySpecMeta::kRange) {
    reply.Bulk("range");
    reply.Bulk("spec");
    reply.MapHeader(3);
    reply.Bulk("lastkey");
    reply.Integer(k.lastkey);
    reply.Bulk("keystep");
    reply.Integer(k.keystep);
    reply.Bulk("limit");
    reply.Integer(k.limit);
  } else if (k.find == KeySpecMeta::kKeynum) {
    reply.Bulk("keynum");
    reply.Bulk("spec");
    reply.MapHeader(3);
    reply.Bulk("keynumidx");
    reply.Integer(k.keynumidx);
    reply.Bulk("firstkey");
    reply.Integer(k.firstkey);
    reply.Bulk("keystep");
    reply.Integer(k.keystep);
  } else {
    reply.Bulk("unknown");
    reply.Bulk("spec");
    reply.MapHeader(0);
  }
}

// redge's own entry for a command Redis 7.0 does not have (CLIENT SETINFO's kind).
void WriteOwnInfo(ReplyWriter& reply, const CommandSpec& c) {
  std::vector<const char*> f;
  if (c.flags & kWrite) f.push_back("write");
  if (c.flags & kReadOnly) f.push_back("readonly");
  if (c.flags & kDenyOom) f.push_back("denyoom");
  if (c.flags & kAdmin) f.push_back("admin");
  if (c.flags & kPubSub) f.push_back("pubsub");
  if (c.flags & kNoScript) f.push_back("noscript");
  if (c.flags & kBlocking) f.push_back("blocking");
  if (c.flags & kLoading) f.push_back("loading");
  if (c.flags & kStale) f.push_back("stale");
  if (c.flags & kNoAuth) f.push_back("no_auth");
  if (c.flags & kFast) f.push_back("fast");
  if (c.flags & kMovable) f.push_back("movablekeys");
  reply.ArrayHeader(10);
  reply.Bulk(c.name);
  reply.Integer(c.arity);
  WriteFlagsSet(reply, f);
  reply.Integer(c.first_key);
  reply.Integer(c.last_key);
  reply.Integer(c.step);
  reply.SetHeader(1);
  reply.Simple(std::string("@") + c.group);
  reply.SetHeader(0);
  reply.ArrayHeader(0);
  reply.ArrayHeader(0);
}

// Redis's getKeysUsingKeySpecs: -1 when a spec cannot be followed (then the command's own
// extraction, if any, decides).
int KeysFromSpecs(const CommandMeta& m, const std::vector<std::string>& argv,
                  std::vector<KeyRef>* out) {
  const int argc = static_cast<int>(argv.size());
  out->clear();
  for (const auto& spec : m.key_specs) {
    if (std::find_if(spec.flags.begin(), spec.flags.end(), [](const char* f) {
          return std::string_view(f) == "not_key";
        }) != spec.flags.end()) {
      continue;
    }
    int first = 0, last = 0, step = 1;
    if (spec.begin == KeySpecMeta::kIndex) {
      first = spec.index;
    } else if (spec.begin == KeySpecMeta::kKeyword) {
      const int start = spec.startfrom > 0 ? spec.startfrom : argc + spec.startfrom;
      const int end = spec.startfrom > 0 ? argc - 1 : 1;
      for (int i = start; i != end; i = start <= end ? i + 1 : i - 1) {
        if (i >= argc || i < 1) break;
        if (EqualsIgnoreCase(argv[i], spec.keyword)) {
          first = i + 1;
          break;
        }
      }
      if (first == 0) continue;  // keyword absent: no keys from this spec
    } else {
      return -1;
    }
    if (spec.find == KeySpecMeta::kRange) {
      step = spec.keystep;
      if (spec.lastkey >= 0) {
        last = first + spec.lastkey;
      } else if (spec.limit == 0) {
        last = argc + spec.lastkey;
      } else {
        last = first + ((argc - first) / spec.limit + spec.lastkey);
      }
    } else if (spec.find == KeySpecMeta::kKeynum) {
      step = spec.keystep;
      if (spec.keynumidx >= argc || first + spec.keynumidx >= argc) return -1;
      int64_t numkeys;
      if (!store::strings::ParseInt64(argv[first + spec.keynumidx], &numkeys) || numkeys < 0) {
        return -1;
      }
      first += spec.firstkey;
      last = first + static_cast<int>(numkeys) - 1;
    } else {
      return -1;
    }
    if (last >= argc || last < first || first >= argc) return -1;
    for (int i = first; i <= last; i += std::max(step, 1)) {
      if (i >= argc) continue;
      out->push_back(KeyRef{static_cast<size_t>(i), spec.flags});
    }
    if (spec.incomplete) return -1;
  }
  return static_cast<int>(out->size());
}

// Redis's getkeys procedures of the commands redge implements whose specs are incomplete
// or carry variable flags. -1: none for this command.
int KeysFromProc(std::string_view name, const std::vector<std::string>& argv,
                 std::vector<KeyRef>* out) {
  out->clear();
  if (name == "set") {
    for (size_t i = 3; i < argv.size(); ++i) {
      if (EqualsIgnoreCase(argv[i], "get")) {
        out->push_back(KeyRef{1, {"RW", "access", "update"}});
        return 1;
      }
    }
    out->push_back(KeyRef{1, {"OW", "update"}});
    return 1;
  }
  if (name == "bitfield") {
    bool readonly = true;
    for (size_t i = 2; i < argv.size(); ++i) {
      const size_t rem = argv.size() - i - 1;
      if (EqualsIgnoreCase(argv[i], "get") && rem >= 2) {
        i += 2;
      } else if ((EqualsIgnoreCase(argv[i], "set") || EqualsIgnoreCase(argv[i], "incrby")) &&
                 rem >= 3) {
        readonly = false;
        break;
      } else if (EqualsIgnoreCase(argv[i], "overflow") && rem >= 1) {
        i += 1;
      } else {
        readonly = false;
        break;
      }
    }
    out->push_back(readonly ? KeyRef{1, {"RO", "access"}} : KeyRef{1, {"RW", "access", "update"}});
    return 1;
  }
  if (name == "sort_ro") {
    out->push_back(KeyRef{1, {"RO", "access"}});
    return 1;
  }
  if (name == "sort") {
    // The sorted key, and the last STORE's destination (options with arguments skipped).
    out->push_back(KeyRef{1, {"RO", "access"}});
    std::optional<size_t> store;
    for (size_t i = 2; i < argv.size(); ++i) {
      if (EqualsIgnoreCase(argv[i], "limit")) {
        i += 2;
      } else if (EqualsIgnoreCase(argv[i], "get") || EqualsIgnoreCase(argv[i], "by")) {
        i += 1;
      } else if (EqualsIgnoreCase(argv[i], "store") && i + 1 < argv.size()) {
        store = i + 1;
      }
    }
    if (store) out->push_back(KeyRef{*store, {"OW", "update"}});
    return static_cast<int>(out->size());
  }
  return -1;
}

bool HasFlag(const std::vector<const char*>& flags, std::string_view f) {
  return std::any_of(flags.begin(), flags.end(), [&](const char* x) { return f == x; });
}

}  // namespace

const CommandMeta* FindCommandMeta(std::string_view full_name) {
  auto it = Index().find(ToLower(full_name));
  return it == Index().end() ? nullptr : it->second;
}

bool MetaHasFlag(const CommandSpec& spec, const std::vector<std::string>& argv,
                 std::string_view flag) {
  const CommandMeta* m = nullptr;
  if (argv.size() >= 2 && IsContainerCommand(spec.name)) {
    m = FindCommandMeta(std::string(spec.name) + "|" + ToLower(argv[1]));
  }
  if (m == nullptr) m = FindCommandMeta(spec.name);
  return m != nullptr && HasFlag(m->flags, flag);
}

std::vector<std::string> ImplementedSubcommands(const CommandSpec& container) {
  std::vector<std::string> out;
  const CommandMeta* m = FindCommandMeta(container.name);
  auto own = OwnSubcommands().find(container.name);
  if (m == nullptr) return out;
  for (const char* s : m->subcommands) {
    const std::string_view sub = std::string_view(s).substr(std::string_view(s).find('|') + 1);
    if (own == OwnSubcommands().end() ||
        std::find(own->second.begin(), own->second.end(), sub) != own->second.end()) {
      out.emplace_back(s);
    }
  }
  return out;
}

bool WriteCommandInfo(ReplyWriter& reply, std::string_view full_name) {
  bool implemented = false;
  const CommandSpec* spec = Resolve(full_name, &implemented);
  if (spec == nullptr || !implemented) return false;
  const CommandMeta* m = FindCommandMeta(full_name);
  if (m == nullptr) {
    if (full_name.find('|') != std::string_view::npos) return false;
    WriteOwnInfo(reply, *spec);
    return true;
  }
  reply.ArrayHeader(10);
  reply.Bulk(m->name);
  reply.Integer(m->arity);
  WriteFlagsSet(reply, m->flags);
  reply.Integer(m->first_key);
  reply.Integer(m->last_key);
  reply.Integer(m->step);
  WriteFlagsSet(reply, m->acl_categories);
  reply.SetHeader(static_cast<int64_t>(m->tips.size()));  // tips are bulk strings
  for (const char* t : m->tips) reply.Bulk(t);
  reply.ArrayHeader(static_cast<int64_t>(m->key_specs.size()));
  for (const auto& k : m->key_specs) WriteKeySpec(reply, k);
  const auto subs = full_name.find('|') == std::string_view::npos ? ImplementedSubcommands(*spec)
                                                                  : std::vector<std::string>();
  reply.ArrayHeader(static_cast<int64_t>(subs.size()));
  for (const auto& s : subs) WriteCommandInfo(reply, s);
  return true;
}

std::string GetKeys(const std::vector<std::string>& args, std::vector<KeyRef>* keys) {
  keys->clear();
  if (args.empty()) return "ERR Invalid command specified";
  const CommandSpec* spec = FindCommand(args[0]);
  if (spec == nullptr) return "ERR Invalid command specified";
  std::string name = spec->name;
  const CommandMeta* m = FindCommandMeta(name);
  if (m != nullptr && !m->subcommands.empty()) {
    // A container: the subcommand decides (Redis's lookupCommand over argv).
    if (args.size() < 2) return "ERR Invalid command specified";
    name += "|" + ToLower(args[1]);
    m = FindCommandMeta(name);
    if (m == nullptr) return "ERR Invalid command specified";
  }
  const int arity = m ? m->arity : spec->arity;
  const int argc = static_cast<int>(args.size());
  const bool has_proc = KeysFromProc(name, args, keys) >= 0;
  keys->clear();
  bool has_keyspec = false, has_varflags = false;
  if (m != nullptr) {
    for (const auto& k : m->key_specs) {
      if (!HasFlag(k.flags, "not_key")) has_keyspec = true;
      if (HasFlag(k.flags, "variable_flags")) has_varflags = true;
    }
  } else if (spec->first_key > 0) {
    has_keyspec = true;
  }
  if (!has_proc && !has_keyspec) return "ERR The command has no key arguments";
  if ((arity > 0 && arity != argc) || argc < -arity) {
    return "ERR Invalid number of arguments specified for command";
  }
  int n = -1;
  if (has_keyspec && !has_varflags) {
    if (m != nullptr) {
      n = KeysFromSpecs(*m, args, keys);
    } else {
      // A redge-only command: its legacy positions.
      const int last = spec->last_key < 0 ? argc + spec->last_key : spec->last_key;
      for (int i = spec->first_key; i <= last && i < argc; i += std::max(1, spec->step)) {
        keys->push_back(KeyRef{static_cast<size_t>(i), {}});
      }
      n = static_cast<int>(keys->size());
    }
  }
  if (n < 0) n = std::max(0, KeysFromProc(name, args, keys));
  if (n == 0) {
    keys->clear();
    if (m != nullptr && HasFlag(m->flags, "no_mandatory_keys")) return "";
    return "ERR Invalid arguments specified for command";
  }
  return "";
}

}  // namespace redge::resp
