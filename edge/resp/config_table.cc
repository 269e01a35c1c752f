#include "edge/resp/config_table.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "base/numbers.h"
#include "store/glob.h"

namespace redge::resp {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> Words(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// "save": "" or pairs "<seconds> <changes>".
bool ValidSave(const std::string& v, std::string* normalised) {
  auto w = Words(v);
  if (w.size() % 2 != 0) return false;
  std::string out;
  for (const auto& x : w) {
    int64_t n;
    if (!base::ParseInt64(x, &n) || n < 0) return false;
    if (!out.empty()) out += ' ';
    out += std::to_string(n);
  }
  *normalised = out;
  return true;
}

// "client-output-buffer-limit": groups of "<class> <hard> <soft> <seconds>", merged into
// the current value; GET shows all three classes with sizes in bytes.
bool ValidOutputLimits(const std::string& current, const std::string& v, std::string* normalised,
                       std::string* reason) {
  std::map<std::string, std::vector<std::string>> classes;
  auto cur = Words(current);
  for (size_t i = 0; i + 3 < cur.size(); i += 4) {
    classes[cur[i]] = {cur[i + 1], cur[i + 2], cur[i + 3]};
  }
  auto w = Words(v);
  if (w.size() % 4 != 0) {
    *reason = "Wrong number of arguments in buffer limit configuration.";
    return false;
  }
  for (size_t i = 0; i < w.size(); i += 4) {
    std::string cls = Lower(w[i]);
    if (cls == "replica") cls = "slave";
    if (cls != "normal" && cls != "slave" && cls != "pubsub") {
      *reason = "Invalid client class specified in buffer limit configuration.";
      return false;
    }
    int64_t hard, soft, secs;
    if (!ParseMemory(w[i + 1], &hard) || !ParseMemory(w[i + 2], &soft) ||
        !base::ParseInt64(w[i + 3], &secs) || hard < 0 || soft < 0 || secs < 0) {
      *reason = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
      return false;
    }
    classes[cls] = {std::to_string(hard), std::to_string(soft), std::to_string(secs)};
  }
  std::string out;
  for (const char* cls : {"normal", "slave", "pubsub"}) {
    auto it = classes.find(cls);
    if (it == classes.end()) continue;
    if (!out.empty()) out += ' ';
    out += std::string(cls) + " " + it->second[0] + " " + it->second[1] + " " + it->second[2];
  }
  *normalised = out;
  return true;
}

// "notify-keyspace-events": Redis's flag letters, shown back in Redis's canonical order
// ("A" standing for the classes g$lshzxetd).
bool ValidKeyspaceEvents(const std::string& v, std::string* normalised) {
  static const std::string kKnown = "Ag$lshzxeKEtmdn";
  std::string seen;
  for (char c : v) {
    if (kKnown.find(c) == std::string::npos) return false;
    if (c == 'A') {
      seen += "g$lshzxetd";
    } else {
      seen += c;
    }
  }
  auto has = [&](char c) { return seen.find(c) != std::string::npos; };
  const std::string all = "g$lshzxetd";
  std::string out;
  if (std::all_of(all.begin(), all.end(), has)) {
    out = "A";
  } else {
    for (char c : std::string("g$lshzxetdn")) {
      if (has(c)) out += c;
    }
  }
  for (char c : std::string("KEm")) {
    if (has(c)) out += c;
  }
  *normalised = out;
  return true;
}

// Redis 7.0's hidden parameters (not listed by CONFIG GET patterns, so the generated table
// does not have them).
const std::vector<ConfigParam>& HiddenParams() {
  static const std::vector<ConfigParam> params = {
      {"use-exit-on-panic", ConfigKind::kBool, 0, 0, {}, "no", ConfigMutability::kMutable, ""},
      {"rdb-key-save-delay",
       ConfigKind::kInt,
       INT32_MIN,
       INT32_MAX,
       {},
       "0",
       ConfigMutability::kMutable,
       ""},
      {"key-load-delay",
       ConfigKind::kInt,
       INT32_MIN,
       INT32_MAX,
       {},
       "0",
       ConfigMutability::kMutable,
       ""},
      {"watchdog-period", ConfigKind::kInt, 0, INT32_MAX, {}, "0", ConfigMutability::kMutable, ""},
      {"loading-process-events-interval-bytes",
       ConfigKind::kInt,
       1024,
       INT32_MAX,
       {},
       "2097152",
       ConfigMutability::kMutable,
       ""},
  };
  return params;
}

// "maxmemory-clients": a memory value or a percentage (of maxmemory) up to 100%.
bool ValidMemoryOrPercent(const std::string& v, std::string* normalised, std::string* reason) {
  int64_t n;
  if (ParseMemory(v, &n) && n >= 0) {  // Redis's memtoull takes no sign
    *normalised = std::to_string(n);
    return true;
  }
  if (v.size() > 1 && v.back() == '%' && base::ParseInt64(v.substr(0, v.size() - 1), &n) &&
      n >= 0) {
    if (n > 100) {
      *reason = "percentage argument must be less or equal to 100";
      return false;
    }
    *normalised = std::to_string(n) + "%";
    return true;
  }
  *reason = "argument must be a memory or percent value";
  return false;
}

}  // namespace

bool ParseMemory(std::string_view s, int64_t* out) {
  std::string l = Lower(s);
  int64_t mul = 1;
  auto strip = [&](std::string_view suffix, int64_t m) {
    if (l.size() > suffix.size() &&
        l.compare(l.size() - suffix.size(), suffix.size(), suffix) == 0) {
      l.resize(l.size() - suffix.size());
      mul = m;
      return true;
    }
    return false;
  };
  strip("gb", 1024LL * 1024 * 1024) || strip("mb", 1024LL * 1024) || strip("kb", 1024) ||
      strip("g", 1000LL * 1000 * 1000) || strip("m", 1000LL * 1000) || strip("k", 1000) ||
      strip("b", 1);
  int64_t n;
  if (!base::ParseInt64(l, &n)) return false;
  if (mul != 1 && (n > INT64_MAX / mul || n < INT64_MIN / mul)) return false;
  *out = n * mul;
  return true;
}

ConfigTable::ConfigTable() {
  for (const auto& p : RedisConfigParams()) {
    if (p.alias_of[0] != '\0') {
      aliases_[Lower(p.name)] = Lower(p.alias_of);
      continue;
    }
    params_[Lower(p.name)] = &p;
    values_[Lower(p.name)] = p.default_value;
  }
  for (const auto& p : HiddenParams()) {
    params_[Lower(p.name)] = &p;
    values_[Lower(p.name)] = p.default_value;
    hidden_.insert(Lower(p.name));
  }
}

const ConfigParam* ConfigTable::Find(std::string_view name) const {
  std::string l = Lower(name);
  if (auto a = aliases_.find(l); a != aliases_.end()) l = a->second;
  auto it = params_.find(l);
  return it == params_.end() ? nullptr : it->second;
}

void ConfigTable::SetInitial(const std::string& name, std::string value) {
  std::lock_guard lock(mu_);
  const ConfigParam* p = Find(name);
  values_[p ? Lower(p->name) : Lower(name)] = std::move(value);
}

std::vector<std::pair<std::string, std::string>> ConfigTable::Get(
    const std::vector<std::string>& patterns) const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::string> out;  // old names are listed too, as Redis 7.0 does
  auto consider = [&](const std::string& name, const std::string& value) {
    const bool hidden = hidden_.count(name) > 0;
    for (const auto& pat : patterns) {
      if (hidden ? Lower(pat) == name : store::GlobMatch(Lower(pat), name)) {
        out.emplace(name, value);
        return;
      }
    }
  };
  for (const auto& [name, value] : values_) consider(name, value);
  for (const auto& [alias, name] : aliases_) consider(alias, values_.at(name));
  return {out.begin(), out.end()};
}

std::string ConfigTable::Value(const std::string& name) const {
  std::lock_guard lock(mu_);
  const ConfigParam* p = Find(name);
  auto it = values_.find(p ? Lower(p->name) : Lower(name));
  return it == values_.end() ? std::string() : it->second;
}

int64_t ConfigTable::IntValue(const std::string& name) const {
  int64_t n = 0;
  ParseMemory(Value(name), &n);
  return n;
}

void ConfigTable::OnSet(const std::string& name, Hook hook) {
  std::lock_guard lock(mu_);
  const ConfigParam* p = Find(name);
  hooks_[p ? Lower(p->name) : Lower(name)] = std::move(hook);
}

bool ConfigTable::Honoured(const std::string& name) const {
  std::lock_guard lock(mu_);
  const ConfigParam* p = Find(name);
  return hooks_.count(p ? Lower(p->name) : Lower(name)) > 0;
}

std::string ConfigTable::Normalise(const ConfigParam& p, const std::string& value,
                                   std::string* reason) const {
  reason->clear();
  switch (p.kind) {
    case ConfigKind::kBool: {
      std::string l = Lower(value);
      if (l == "yes" || l == "no") return l;
      *reason = "argument must be 'yes' or 'no'";
      return {};
    }
    case ConfigKind::kInt:
    case ConfigKind::kMemory: {
      int64_t n;
      // A memory value is unsigned in Redis: any leading '-' ("-5", "-0") is not one.
      bool ok = p.kind == ConfigKind::kMemory
                    ? !value.empty() && value[0] != '-' && ParseMemory(value, &n)
                    : base::ParseInt64(value, &n);
      if (!ok) {
        *reason = p.kind == ConfigKind::kMemory ? "argument must be a memory value"
                                                : "argument couldn't be parsed into an integer";
        return {};
      }
      if (n < p.min || n > p.max) {
        *reason = "argument must be between " + std::to_string(p.min) + " and " +
                  std::to_string(p.max) + " inclusive";
        return {};
      }
      return std::to_string(n);
    }
    case ConfigKind::kEnum: {
      // Multi-value enums ("enable-debug-command" style) are single words in practice.
      std::string l = Lower(value);
      for (const auto& e : p.enum_values) {
        if (e == l) return l;
      }
      std::string list;
      for (const auto& e : p.enum_values) list += (list.empty() ? "" : ", ") + e;
      *reason = "argument(s) must be one of the following: " + list;
      return {};
    }
    case ConfigKind::kString:
      return value;
    case ConfigKind::kSpecial: {
      std::string name = Lower(p.name), out;
      if (name == "save") {
        if (ValidSave(value, &out)) return out;
        *reason = "Invalid save parameters";
        return {};
      }
      if (name == "client-output-buffer-limit") {
        auto it = values_.find(name);
        if (ValidOutputLimits(it == values_.end() ? "" : it->second, value, &out, reason)) {
          return out;
        }
        return {};
      }
      if (name == "maxmemory-clients") {
        if (ValidMemoryOrPercent(value, &out, reason)) return out;
        return {};
      }
      if (name == "notify-keyspace-events") {
        if (ValidKeyspaceEvents(value, &out)) return out;
        *reason = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
        return {};
      }
      return value;
    }
  }
  return value;
}

std::string ConfigTable::Set(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, std::string>> normalised;
  // Every argument is checked before anything changes (Redis 7.0: all or nothing).
  for (size_t i = 0; i < pairs.size(); ++i) {
    const ConfigParam* p = Find(pairs[i].first);
    if (p == nullptr) {
      return "ERR Unknown option or number of arguments for CONFIG SET - '" + pairs[i].first + "'";
    }
    const std::string name = Lower(p->name);
    auto fail = [&](const std::string& why) {
      return "ERR CONFIG SET failed (possibly related to argument '" + pairs[i].first + "') - " +
             why;
    };
    if (p->mutability == ConfigMutability::kImmutable) return fail("can't set immutable config");
    if (p->mutability == ConfigMutability::kProtected) return fail("can't set protected config");
    for (size_t j = 0; j < i; ++j) {
      if (Find(pairs[j].first) == p) return fail("duplicate parameter");
    }
    std::string reason;
    std::string value = Normalise(*p, pairs[i].second, &reason);
    if (!reason.empty()) return fail(reason);
    if (auto h = hooks_.find(name); h != hooks_.end()) {
      reason = h->second(value, false);
      if (!reason.empty()) return fail(reason);
    }
    normalised.emplace_back(name, std::move(value));
  }
  for (auto& [name, value] : normalised) {
    if (auto h = hooks_.find(name); h != hooks_.end()) h->second(value, true);
    values_[name] = std::move(value);
  }
  return {};
}

}  // namespace redge::resp
