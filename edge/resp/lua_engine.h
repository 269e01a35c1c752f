// ScriptEngine: Redis 7.0 scripting for redge. Runs EVAL scripts and FUNCTION libraries
// in two Lua 5.1 states (Redis keeps them apart too), with Redis's sandbox, its redis.*
// API, its conversions and its error texts.
//
// What it promises:
//  - A script or function runs inside one store transaction (the caller's: the EVAL's
//    own exclusive write, or the EXEC that contains it). A savepoint is set before it
//    runs: if it ends with an error (a Lua error, redis.call on a failing command,
//    SCRIPT KILL), everything it wrote is undone and only the error is replied. This is
//    deliberately stricter than Redis, which keeps the writes made before the error.
//  - Commands called from Lua go through the command table as the caller's client, with
//    Redis's checks: unknown command, arity, commands Redis flags noscript, writes from
//    read-only scripts (EVAL_RO, FCALL_RO, no-writes). SELECT inside a script changes the
//    script's database, never the caller's.
//  - Past busy-reply-threshold (lua-time-limit), other clients get Redis's BUSY error for
//    every command but the few Redis allows (see BusyError); SCRIPT KILL / FUNCTION KILL
//    stop a script that has not called a write command, as Redis does.
//  - Function libraries are kept in the store's internal records ("fn:lib:<name>"), so
//    they survive restarts; the engine reloads them when the stored set changes (for
//    instance after a transaction that wrote them failed to commit). The EVAL script
//    cache lives in memory only.
//
// Thread-safety: the methods documented "under the store lock" touch the Lua states and
// must run inside a store transaction (the store serializes them). BusyError, Kill,
// WriteFunctionStats, the counters and the threshold are safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "edge/resp/command.h"
#include "edge/resp/lua_convert.h"

struct lua_State;
struct lua_Debug;

namespace redge::resp {

// Script flags (shebang "flags=..." and register_function's flags), Redis's values.
enum ScriptFlag : uint32_t {
  kScriptNoWrites = 1u << 0,
  kScriptAllowOom = 1u << 1,
  kScriptAllowStale = 1u << 2,
  kScriptNoCluster = 1u << 3,
  kScriptEvalCompat = 1u << 4,  // an EVAL script without a shebang
  kScriptAllowCrossSlot = 1u << 5,
};
// Redis's sdssplitargs: space-separated arguments with "..." (C escapes, \xHH) and '...'
// quoting; a NUL byte ends the line. *ok is false for unbalanced quotes.
std::vector<std::string> SplitArgs(std::string_view line, bool* ok);

// The flag names in Redis's order, for parsing and FUNCTION LIST.
struct ScriptFlagName {
  uint32_t flag;
  const char* name;
};
extern const ScriptFlagName kScriptFlagNames[5];

class ScriptEngine;

// One script or function call in progress: what redis.call needs.
struct ScriptRun {
  ScriptEngine* engine = nullptr;
  CommandContext* caller = nullptr;  // the EVAL / FCALL (its connection and transaction)
  int db = 0;                        // the script's database (SELECT changes it)
  int resp = 2;                      // redis.setresp
  bool read_only = false;
  bool eval_mode = true;
  // Reused buffers of redis.call (kept here: a Lua error must not unwind C++ objects).
  std::vector<std::string> argv;
  std::string reply;
  std::vector<lua::ParseFrame> parse_frames;
};

class ScriptEngine {
 public:
  // `version`: the redis_version redge reports ("7.0.15"), for REDIS_VERSION(_NUM).
  explicit ScriptEngine(std::string version);
  ~ScriptEngine();
  ScriptEngine(const ScriptEngine&) = delete;
  ScriptEngine& operator=(const ScriptEngine&) = delete;

  // --- Under the store lock: the commands (ctx.txn is set) ---------------------------
  void Eval(CommandContext& ctx, bool evalsha, bool read_only);
  void Fcall(CommandContext& ctx, bool read_only);
  void ScriptLoad(CommandContext& ctx);
  void ScriptExists(CommandContext& ctx);
  void ScriptFlush(CommandContext& ctx);
  void FunctionLoad(CommandContext& ctx);
  void FunctionDelete(CommandContext& ctx);
  void FunctionList(CommandContext& ctx);
  void FunctionFlush(CommandContext& ctx);
  void FunctionDump(CommandContext& ctx);
  void FunctionRestore(CommandContext& ctx);
  // Loads the stored libraries if the engine does not have them yet (at startup, and
  // after a write of them failed to commit). Logs and skips a library that fails.
  void SyncFunctions(store::Txn& txn);

  // A command called by a script (redis.call): runs run.argv, leaving the reply in
  // run.reply, or sets *error (Redis's refusal text) without running it.
  void CallCommand(ScriptRun& run, std::string* error);

  // --- Any thread ---------------------------------------------------------------------
  // The BUSY error for `argv` while a script has run longer than the threshold and
  // `argv` is not one of the commands Redis allows then (AUTH, HELLO, MULTI, DISCARD,
  // WATCH, UNWATCH, QUIT, RESET, SHUTDOWN, SCRIPT KILL, FUNCTION KILL/STATS); nullopt
  // otherwise.
  std::optional<std::string_view> BusyError(const std::vector<std::string>& argv) const;
  bool ScriptRunning() const { return running_.load(std::memory_order_acquire); }
  // SCRIPT KILL (is_eval) / FUNCTION KILL: the reply line (+OK or Redis's error).
  std::string Kill(bool is_eval);
  // Stops whatever runs, written or not (shutdown: its writes are rolled back).
  void KillForShutdown();
  // FUNCTION STATS.
  void WriteFunctionStats(ReplyWriter& w);
  // INFO memory lines (used_memory_lua, number_of_cached_scripts, ...).
  std::string InfoMemory() const;

  int64_t busy_threshold_ms() const { return busy_threshold_ms_.load(); }
  void set_busy_threshold_ms(int64_t ms) { busy_threshold_ms_ = ms; }

  // The PRNG of math.random (Redis's redisLrand48: one sequence for the process, not
  // reseeded per script).
  int32_t Rand();
  void Seed(int32_t seed);

  const std::string& version() const { return version_; }
  int version_num() const { return version_num_; }
  // Inside the state's C functions: the engine and the call in progress (or nullptr).
  static ScriptEngine* FromState(lua_State* L);
  static ScriptRun* CurrentRun(lua_State* L);
  // FUNCTION LOAD's registration context while a library's code runs (or nullptr).
  struct LoadContext;
  static LoadContext* CurrentLoad(lua_State* L);
  // Called by redis.register_function with load.name, load.desc, load.flags and
  // load.ref filled: adds the function to the library being loaded. Returns Redis's
  // error text, or nullptr on success.
  const char* RegisterFunction(LoadContext& load);
  // The count hook of both states (timeouts, SCRIPT KILL). May raise a Lua error.
  void OnHook(lua_State* L);
  static void Hook(lua_State* L, lua_Debug* ar);

 private:
  struct EvalScript {
    std::string body;
    uint32_t flags;
  };
  struct Function {
    std::string name;
    std::optional<std::string> desc;
    uint32_t flags = 0;
    int ref = -1;  // the Lua function, in the registry of the function state
  };
  struct Library {
    std::string name;
    std::string code;
    std::vector<Function> functions;  // registration order
  };
  using Libraries = std::map<std::string, std::shared_ptr<Library>>;

 public:
  struct LoadContext {
    std::shared_ptr<Library> lib;  // the library being loaded
    int64_t start_ms = 0;
    int64_t timeout_ms = 500;  // Redis's FUNCTION LOAD limit
    // The arguments of the register_function call in progress.
    std::string name;
    std::optional<std::string> desc;
    uint32_t flags = 0;
    int ref = -2;  // LUA_NOREF
    void ResetArgs() {
      name.clear();
      desc.reset();
      flags = 0;
      ref = -2;
    }
  };

 private:
  void CreateEvalState();
  void CreateFunctionState();
  // Compiles `body` into the script cache; on failure writes the error to `reply` and
  // returns nullopt. Returns the SHA.
  std::optional<std::string> CreateEvalScript(const std::string& body, ReplyWriter& reply);
  // Runs the function on the top of `L` (above the error handler) for `ctx`.
  void Run(CommandContext& ctx, lua_State* L, const std::string& name, uint32_t flags,
           bool read_only, bool eval_mode, int64_t numkeys);
  // FUNCTION LOAD's core: compiles and registers a library; nullptr + *error on failure.
  // Its code may run for `timeout_ms` ("FUNCTION LOAD timeout").
  std::shared_ptr<Library> CreateLibrary(std::string_view code, std::string* error,
                                         int64_t timeout_ms = kLoadTimeoutMs);
  static constexpr int64_t kLoadTimeoutMs = 500;  // Redis's FUNCTION LOAD limit
  // Loading the stored libraries at start: they loaded in time once, be generous.
  static constexpr int64_t kStartupLoadTimeoutMs = 10000;
  void ReleaseLibrary(const Library& lib);
  // Links/unlinks a library into the name -> function index.
  void Link(const std::shared_ptr<Library>& lib);
  void Unlink(const Library& lib);
  // Persistence of the library set (in `txn`), bumping the stored epoch.
  void StoreLibrary(store::Txn& txn, const Library& lib);
  void DeleteStoredLibrary(store::Txn& txn, const std::string& name);
  void BumpEpoch(store::Txn& txn);
  void ClearFunctions();
  const Function* FindFunction(std::string_view name) const;
  void UpdateCounters();
  void LogSlowScript(int64_t elapsed_ms);

  const std::string version_;
  const int version_num_;
  lua_State* eval_ = nullptr;
  lua_State* functions_state_ = nullptr;
  std::unordered_map<std::string, EvalScript> scripts_;  // by lower-case SHA
  Libraries libraries_;
  std::unordered_map<std::string, std::pair<std::shared_ptr<Library>, size_t>>
      function_index_;        // lower-case name -> (library, index in its functions)
  std::string loaded_epoch_;  // the stored epoch the libraries above match ("" = none)
  std::vector<lua::ReplyFrame> reply_frames_;
  uint64_t calls_ = 0;  // for the periodic GC step
  uint64_t rand_state_ = 0x1234ABCD330EULL;

  // The call in progress, shared with other threads (BUSY, KILL, FUNCTION STATS).
  std::atomic<bool> running_{false};
  std::atomic<bool> running_eval_{false};
  std::atomic<bool> dirty_{false};  // it called a write command
  std::atomic<bool> kill_{false};
  std::atomic<bool> shutting_down_{false};  // every run from now on is killed
  std::atomic<int64_t> start_ms_{0};        // steady clock
  mutable std::mutex run_mu_;               // guards the two below
  std::string running_name_;
  const std::vector<std::string>* running_argv_ = nullptr;
  bool slow_logged_ = false;

  std::atomic<int64_t> busy_threshold_ms_{5000};
  std::atomic<int64_t> cached_scripts_{0}, libraries_count_{0}, functions_count_{0};
  std::atomic<int64_t> eval_memory_{0}, functions_memory_{0}, scripts_bytes_{0};
};

// --- Glue shared by scripting_commands.cc and function_commands.cc ----------------------

// Runs `op` against the server's engine inside a store transaction for ctx's client:
// inline when ctx.txn is set (inside EXEC), else as an asynchronous store operation
// whose reply is sent once durable (the connection reads nothing else meanwhile).
// `exclusive`: alone on the store's writer thread (scripts), so no event loop waits.
void RunWithEngine(CommandContext& ctx, bool exclusive,
                   void (*op)(ScriptEngine& engine, CommandContext& ctx));
// addReplyHelp: "<COMMAND> <subcommand> ..." then `lines`, then HELP, as status replies.
void ReplyHelp(CommandContext& ctx, const char* command, std::initializer_list<const char*> lines);
// A subcommand's arity as Redis checks it ("wrong number of arguments for 'script|load'
// command"); false after replying the error.
bool SubcommandArity(CommandContext& ctx, const char* container, int arity);
// COMMAND GETKEYS for EVAL*, FCALL*: the keys named by numkeys (argv[first] is the
// command name). False if argv[first] is not one of them.
bool ScriptCommandKeys(const std::vector<std::string>& argv, size_t first,
                       std::vector<std::string>* keys);

}  // namespace redge::resp
