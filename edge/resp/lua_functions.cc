// Function libraries (Redis 7.0's FUNCTION LOAD / FCALL): loading a library's code,
// registering its functions, the name index, FUNCTION LIST / DELETE / FLUSH / DUMP /
// RESTORE, and their persistence in the store's internal records:
//   "fn:lib:<name>" -> the library's code (with its "#!lua name=..." line)
//   "fn:epoch"      -> a counter bumped with every change (see SyncFunctions)
//
// FUNCTION DUMP's payload is redge's own, versioned format (a Redis-made payload is
// refused with Redis's "payload version or checksum are wrong"):
//   "RDGFN" 0x01, then per library: its code's length (4 bytes, little endian) and code,
//   then the CRC-32 (IEEE, little endian) of everything before it.
#include <strings.h>

#include <cctype>
#include <chrono>
#include <cstring>

#include "base/numbers.h"
#include "edge/log.h"
#include "edge/resp/lua_engine.h"
#include "edge/resp/lua_sandbox.h"
#include "store/glob.h"

namespace redge::resp {
namespace {

constexpr char kLibPrefix[] = "fn:lib:";
constexpr char kEpochKey[] = "fn:epoch";
constexpr char kLoadKey[] = "redge.load";
constexpr char kDumpMagic[] = "RDGFN\x01";
constexpr size_t kDumpMagicLen = 6;
constexpr char kBadName[] =
    "Library names can only contain letters, numbers, or underscores(_) and must be at least one "
    "character long";

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool ValidName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

uint32_t Crc32(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : data) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void PutLe32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t GetLe32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

struct Metadata {
  std::string engine, name, code;
};

// Redis's functionExtractLibMetaData: "#!<engine> name=<name>" on the first line.
bool ExtractMetadata(std::string_view payload, Metadata* md, std::string* err) {
  if (payload.substr(0, 2) != "#!") {
    *err = "Missing library metadata";
    return false;
  }
  const size_t end = payload.find('\n');
  if (end == std::string_view::npos) {
    *err = "Invalid library metadata";
    return false;
  }
  bool ok = false;
  const std::vector<std::string> parts = SplitArgs(payload.substr(0, end), &ok);
  if (!ok || parts.empty()) {
    *err = "Invalid library metadata";
    return false;
  }
  md->engine = parts[0].substr(2);
  bool have_name = false;
  for (size_t i = 1; i < parts.size(); ++i) {
    if (strncasecmp(parts[i].c_str(), "name=", 5) == 0) {
      if (have_name) {
        *err = "Invalid metadata value, name argument was given multiple times";
        return false;
      }
      md->name = parts[i].substr(5);
      have_name = true;
      continue;
    }
    *err = "Invalid metadata value given: " + parts[i];
    return false;
  }
  if (!have_name) {
    *err = "Library name was not given";
    return false;
  }
  md->code = std::string(payload.substr(end));
  return true;
}

}  // namespace

// --- Libraries ---------------------------------------------------------------------------

const char* ScriptEngine::RegisterFunction(LoadContext& load) {
  if (!ValidName(load.name)) return kBadName;
  for (const Function& f : load.lib->functions) {
    if (f.name == load.name) return "Function already exists in the library";
  }
  Function f;
  f.name = load.name;
  f.desc = load.desc;
  f.flags = load.flags;
  f.ref = load.ref;
  load.lib->functions.push_back(std::move(f));
  return nullptr;
}

std::shared_ptr<ScriptEngine::Library> ScriptEngine::CreateLibrary(std::string_view code,
                                                                   std::string* error,
                                                                   int64_t timeout_ms) {
  Metadata md;
  if (!ExtractMetadata(code, &md, error)) return nullptr;
  if (!ValidName(md.name)) {
    *error = kBadName;
    return nullptr;
  }
  if (strcasecmp(md.engine.c_str(), "lua") != 0) {
    *error = "Engine '" + md.engine + "' not found";
    return nullptr;
  }
  auto lib = std::make_shared<Library>();
  lib->name = md.name;
  lib->code = std::string(code);

  lua_State* L = functions_state_;
  lua_settop(L, 0);
  lua::SetLibraryLoading(L, true);
  lua_pushstring(L, "@user_function");  // anchors the chunk name while parsing
  int status;
  if (!md.code.empty() && md.code[0] == LUA_SIGNATURE[0]) {
    lua_pushfstring(L, "user_function:1: unexpected symbol near 'char(%d)'",
                    static_cast<int>(static_cast<unsigned char>(md.code[0])));
    status = LUA_ERRSYNTAX;
  } else {
    status = luaL_loadbuffer(L, md.code.data(), md.code.size(), "@user_function");
  }
  if (status != 0) {
    const char* msg = lua_tostring(L, -1);
    *error = std::string("Error compiling function: ") + (msg ? msg : "?");
    lua_settop(L, 0);
    lua::SetLibraryLoading(L, false);
    return nullptr;
  }
  LoadContext load;
  load.lib = lib;
  load.start_ms = SteadyMs();
  load.timeout_ms = timeout_ms;
  lua_pushlightuserdata(L, &load);
  lua_setfield(L, LUA_REGISTRYINDEX, kLoadKey);
  lua_sethook(
      L, [](lua_State* S, lua_Debug*) { FromState(S)->OnHook(S); }, LUA_MASKCOUNT, 100000);
  status = lua_pcall(L, 0, 0, 0);
  lua_sethook(L, nullptr, 0, 0);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, kLoadKey);
  lua::SetLibraryLoading(L, false);
  if (load.ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, load.ref);
  if (status != 0) {
    // As Redis's luaExtractErrorInformation: a string gets "ERR ", a table gives its err.
    std::string msg = "(null)";
    if (lua_isstring(L, -1)) msg = std::string("ERR ") + lua_tostring(L, -1);
    if (lua_istable(L, -1)) {
      lua_pushstring(L, "err");
      lua_rawget(L, -2);
      if (lua_isstring(L, -1)) msg = lua_tostring(L, -1);
      lua_pop(L, 1);
    }
    *error = "Error registering functions: " + msg;
    lua_settop(L, 0);
    ReleaseLibrary(*lib);
    return nullptr;
  }
  lua_settop(L, 0);
  if (lib->functions.empty()) {
    *error = "No functions registered";
    return nullptr;
  }
  return lib;
}

void ScriptEngine::ReleaseLibrary(const Library& lib) {
  for (const Function& f : lib.functions) {
    if (f.ref != LUA_NOREF) luaL_unref(functions_state_, LUA_REGISTRYINDEX, f.ref);
  }
}

void ScriptEngine::Link(const std::shared_ptr<Library>& lib) {
  for (size_t i = 0; i < lib->functions.size(); ++i) {
    function_index_.emplace(ToLower(lib->functions[i].name), std::make_pair(lib, i));
  }
  libraries_[lib->name] = lib;
}

void ScriptEngine::Unlink(const Library& lib) {
  for (const Function& f : lib.functions) {
    auto it = function_index_.find(ToLower(f.name));
    if (it != function_index_.end() && it->second.first.get() == &lib) function_index_.erase(it);
  }
  libraries_.erase(lib.name);
}

const ScriptEngine::Function* ScriptEngine::FindFunction(std::string_view name) const {
  auto it = function_index_.find(ToLower(name));
  if (it == function_index_.end()) return nullptr;
  return &it->second.first->functions[it->second.second];
}

void ScriptEngine::ClearFunctions() {
  for (auto& [name, lib] : libraries_) ReleaseLibrary(*lib);
  libraries_.clear();
  function_index_.clear();
}

// --- Persistence -------------------------------------------------------------------------

void ScriptEngine::StoreLibrary(store::Txn& txn, const Library& lib) {
  txn.PutInternal(kLibPrefix + lib.name, lib.code);
}

void ScriptEngine::DeleteStoredLibrary(store::Txn& txn, const std::string& name) {
  txn.DeleteInternal(kLibPrefix + name);
}

void ScriptEngine::BumpEpoch(store::Txn& txn) {
  int64_t epoch = 0;
  auto stored = txn.GetInternal(kEpochKey);
  if (stored.ok()) base::ParseInt64(*stored, &epoch);
  loaded_epoch_ = std::to_string(epoch + 1);
  txn.PutInternal(kEpochKey, loaded_epoch_);
}

void ScriptEngine::SyncFunctions(store::Txn& txn) {
  auto stored = txn.GetInternal(kEpochKey);
  const std::string epoch = stored.ok() ? *stored : "0";
  if (epoch == loaded_epoch_) return;
  ClearFunctions();
  std::vector<std::string> codes;
  txn.ScanInternal(kLibPrefix, [&](std::string_view, std::string_view value) {
    codes.emplace_back(value);
    return true;
  });
  for (const std::string& code : codes) {
    std::string err;
    auto lib = CreateLibrary(code, &err, kStartupLoadTimeoutMs);
    if (lib && libraries_.count(lib->name) == 0) {
      bool clash = false;
      for (const Function& f : lib->functions) clash |= FindFunction(f.name) != nullptr;
      if (!clash) {
        Link(lib);
        continue;
      }
      err = "a function name is taken";
    }
    if (lib) ReleaseLibrary(*lib);
    Log(spdlog::level::warn, "stored function library not loaded", {{"error", err}});
  }
  loaded_epoch_ = epoch;
  UpdateCounters();
}

// --- FCALL ---------------------------------------------------------------------------------

void ScriptEngine::Fcall(CommandContext& ctx, bool read_only) {
  SyncFunctions(*ctx.txn);
  const Function* fn = FindFunction(ctx.argv[1]);
  if (fn == nullptr) return ctx.reply.Error("ERR Function not found");
  int64_t numkeys = 0;
  if (!base::ParseInt64(ctx.argv[2], &numkeys)) {
    return ctx.reply.Error("ERR Bad number of keys provided");
  }
  if (numkeys > static_cast<int64_t>(ctx.argv.size()) - 3) {
    return ctx.reply.Error("ERR Number of keys can't be greater than number of args");
  }
  if (numkeys < 0) return ctx.reply.Error("ERR Number of keys can't be negative");
  if (!(fn->flags & kScriptNoWrites) && read_only) {
    return ctx.reply.Error("ERR Can not execute a script with write flag using *_ro command.");
  }
  lua_State* L = functions_state_;
  lua_settop(L, 0);
  lua_pushcfunction(L, lua::ErrorHandler);
  lua_rawgeti(L, LUA_REGISTRYINDEX, fn->ref);
  const std::string name = fn->name;  // `fn` may not outlive the call
  const uint32_t flags = fn->flags;
  Run(ctx, L, name, flags, read_only, /*eval_mode=*/false, numkeys);
}

// --- FUNCTION ------------------------------------------------------------------------------

void ScriptEngine::FunctionLoad(CommandContext& ctx) {
  bool replace = false;
  size_t pos = 2;
  while (pos < ctx.argv.size() - 1) {
    const std::string& arg = ctx.argv[pos++];
    if (EqualsIgnoreCase(arg, "replace")) {
      replace = true;
      continue;
    }
    return ctx.reply.Error("ERR Unknown option given: " + arg);
  }
  if (pos >= ctx.argv.size()) return ctx.reply.Error("ERR Function code is missing");
  SyncFunctions(*ctx.txn);
  const std::string& code = ctx.argv[pos];
  std::string err;
  Metadata md;
  if (ExtractMetadata(code, &md, &err) && ValidName(md.name) &&
      strcasecmp(md.engine.c_str(), "lua") == 0 && libraries_.count(md.name) && !replace) {
    return ctx.reply.Error("ERR Library '" + md.name + "' already exists");
  }
  auto lib = CreateLibrary(code, &err);
  if (!lib) return ctx.reply.Error("ERR " + err);
  // The functions of the library it replaces may be named again.
  std::shared_ptr<Library> old;
  if (auto it = libraries_.find(lib->name); it != libraries_.end()) old = it->second;
  if (old) Unlink(*old);
  for (const Function& f : lib->functions) {
    if (FindFunction(f.name) != nullptr) {
      if (old) Link(old);
      ReleaseLibrary(*lib);
      return ctx.reply.Error("ERR Function " + f.name + " already exists");
    }
  }
  Link(lib);
  if (old) ReleaseLibrary(*old);
  StoreLibrary(*ctx.txn, *lib);
  BumpEpoch(*ctx.txn);
  UpdateCounters();
  ctx.reply.Bulk(lib->name);
}

void ScriptEngine::FunctionDelete(CommandContext& ctx) {
  SyncFunctions(*ctx.txn);
  auto it = libraries_.find(ctx.argv[2]);
  if (it == libraries_.end()) return ctx.reply.Error("ERR Library not found");
  std::shared_ptr<Library> lib = it->second;
  Unlink(*lib);
  ReleaseLibrary(*lib);
  DeleteStoredLibrary(*ctx.txn, lib->name);
  BumpEpoch(*ctx.txn);
  UpdateCounters();
  ctx.reply.Simple("OK");
}

void ScriptEngine::FunctionFlush(CommandContext& ctx) {
  if (ctx.argv.size() > 3) {
    return ctx.reply.Error(
        "ERR unknown subcommand or wrong number of arguments for 'flush'. Try FUNCTION HELP.");
  }
  if (ctx.argv.size() == 3 && !EqualsIgnoreCase(ctx.argv[2], "sync") &&
      !EqualsIgnoreCase(ctx.argv[2], "async")) {
    return ctx.reply.Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
  }
  SyncFunctions(*ctx.txn);
  for (const auto& [name, lib] : libraries_) DeleteStoredLibrary(*ctx.txn, name);
  ClearFunctions();
  BumpEpoch(*ctx.txn);
  UpdateCounters();
  ctx.reply.Simple("OK");
}

void ScriptEngine::FunctionList(CommandContext& ctx) {
  bool with_code = false;
  const std::string* pattern = nullptr;
  for (size_t i = 2; i < ctx.argv.size(); ++i) {
    const std::string& arg = ctx.argv[i];
    if (!with_code && EqualsIgnoreCase(arg, "withcode")) {
      with_code = true;
      continue;
    }
    if (pattern == nullptr && EqualsIgnoreCase(arg, "libraryname")) {
      if (i >= ctx.argv.size() - 1)
        return ctx.reply.Error("ERR library name argument was not given");
      pattern = &ctx.argv[++i];
      continue;
    }
    return ctx.reply.Error("ERR Unknown argument " + arg);
  }
  SyncFunctions(*ctx.txn);
  std::vector<const Library*> picked;
  for (const auto& [name, lib] : libraries_) {
    if (pattern && !store::GlobMatch(*pattern, name)) continue;
    picked.push_back(lib.get());
  }
  ReplyWriter& w = ctx.reply;
  w.ArrayHeader(static_cast<int64_t>(picked.size()));
  for (const Library* lib : picked) {
    w.MapHeader(with_code ? 4 : 3);
    w.Bulk("library_name");
    w.Bulk(lib->name);
    w.Bulk("engine");
    w.Bulk("LUA");
    w.Bulk("functions");
    w.ArrayHeader(static_cast<int64_t>(lib->functions.size()));
    for (const Function& f : lib->functions) {
      w.MapHeader(3);
      w.Bulk("name");
      w.Bulk(f.name);
      w.Bulk("description");
      if (f.desc) {
        w.Bulk(*f.desc);
      } else {
        w.Null();
      }
      w.Bulk("flags");
      int n = 0;
      for (const auto& def : kScriptFlagNames) n += (f.flags & def.flag) ? 1 : 0;
      w.SetHeader(n);
      for (const auto& def : kScriptFlagNames) {
        if (f.flags & def.flag) w.Simple(def.name);
      }
    }
    if (with_code) {
      w.Bulk("library_code");
      w.Bulk(lib->code);
    }
  }
}

void ScriptEngine::FunctionDump(CommandContext& ctx) {
  SyncFunctions(*ctx.txn);
  std::string out(kDumpMagic, kDumpMagicLen);
  for (const auto& [name, lib] : libraries_) {
    PutLe32(&out, static_cast<uint32_t>(lib->code.size()));
    out += lib->code;
  }
  PutLe32(&out, Crc32(out));
  ctx.reply.Bulk(out);
}

void ScriptEngine::FunctionRestore(CommandContext& ctx) {
  if (ctx.argv.size() > 4) {
    return ctx.reply.Error(
        "ERR unknown subcommand or wrong number of arguments for 'restore'. Try FUNCTION HELP.");
  }
  enum { kAppend, kReplace, kFlush } policy = kAppend;
  if (ctx.argv.size() == 4) {
    const std::string& p = ctx.argv[3];
    if (EqualsIgnoreCase(p, "append")) {
      policy = kAppend;
    } else if (EqualsIgnoreCase(p, "replace")) {
      policy = kReplace;
    } else if (EqualsIgnoreCase(p, "flush")) {
      policy = kFlush;
    } else {
      return ctx.reply.Error(
          "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
    }
  }
  const std::string& data = ctx.argv[2];
  if (data.size() < kDumpMagicLen + 4 ||
      data.compare(0, kDumpMagicLen, kDumpMagic, kDumpMagicLen) ||
      GetLe32(data.data() + data.size() - 4) !=
          Crc32(std::string_view(data).substr(0, data.size() - 4))) {
    return ctx.reply.Error("ERR DUMP payload version or checksum are wrong");
  }
  std::vector<std::string> codes;
  for (size_t pos = kDumpMagicLen; pos < data.size() - 4;) {
    if (data.size() - 4 - pos < 4) return ctx.reply.Error("ERR can not read data type");
    const uint32_t len = GetLe32(data.data() + pos);
    pos += 4;
    if (data.size() - 4 - pos < len) return ctx.reply.Error("ERR can not read data type");
    codes.emplace_back(data, pos, len);
    pos += len;
  }
  SyncFunctions(*ctx.txn);

  // Load every library of the payload on its own first (names unique within it).
  std::vector<std::shared_ptr<Library>> staged;
  std::string err;
  auto release_staged = [&] {
    for (auto& lib : staged) ReleaseLibrary(*lib);
  };
  for (const std::string& code : codes) {
    auto lib = CreateLibrary(code, &err);
    if (!lib) {
      release_staged();
      return ctx.reply.Error("ERR " + err);
    }
    staged.push_back(lib);
    for (size_t i = 0; i + 1 < staged.size() && err.empty(); ++i) {
      if (staged[i]->name == lib->name) err = "Library '" + lib->name + "' already exists";
      for (const Function& a : staged[i]->functions) {
        for (const Function& b : lib->functions) {
          if (err.empty() && EqualsIgnoreCase(a.name, b.name)) {
            err = "Function " + b.name + " already exists";
          }
        }
      }
    }
    if (!err.empty()) {
      release_staged();
      return ctx.reply.Error("ERR " + err);
    }
  }

  std::vector<std::shared_ptr<Library>> displaced;
  if (policy == kFlush) {
    for (auto& [name, lib] : libraries_) displaced.push_back(lib);
  } else {
    for (auto& lib : staged) {
      auto it = libraries_.find(lib->name);
      if (it == libraries_.end()) continue;
      if (policy == kAppend) {
        release_staged();
        return ctx.reply.Error("ERR Library " + lib->name + " already exists");
      }
      displaced.push_back(it->second);
    }
  }
  for (auto& lib : displaced) Unlink(*lib);
  for (auto& lib : staged) {
    for (const Function& f : lib->functions) {
      if (FindFunction(f.name) != nullptr) {
        for (auto& old : displaced) Link(old);
        release_staged();
        return ctx.reply.Error("ERR Function " + f.name + " already exists");
      }
    }
  }
  for (auto& lib : displaced) {
    ReleaseLibrary(*lib);
    DeleteStoredLibrary(*ctx.txn, lib->name);
  }
  for (auto& lib : staged) {
    Link(lib);
    StoreLibrary(*ctx.txn, *lib);
  }
  BumpEpoch(*ctx.txn);
  UpdateCounters();
  ctx.reply.Simple("OK");
}

}  // namespace redge::resp
