// The parts of the engine other threads see: BUSY, SCRIPT/FUNCTION KILL, FUNCTION STATS,
// the INFO counters, and the count hook that makes kills and timeouts happen inside Lua.
#include <chrono>
#include <cstdio>

#include "edge/log.h"
#include "edge/resp/lua_engine.h"
#include "edge/resp/lua_sandbox.h"

namespace redge::resp {
namespace {

constexpr char kSlowEval[] =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
constexpr char kSlowFunction[] =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void ScriptEngine::Hook(lua_State* L, lua_Debug*) { FromState(L)->OnHook(L); }

void ScriptEngine::OnHook(lua_State* L) {
  if (LoadContext* load = CurrentLoad(L)) {
    if (shutting_down_.load() ||
        (load->timeout_ms > 0 && SteadyMs() - load->start_ms > load->timeout_ms)) {
      lua_sethook(L, Hook, LUA_MASKLINE, 0);
      lua::PushError(L, "FUNCTION LOAD timeout");
      lua_error(L);
    }
    return;
  }
  if (CurrentRun(L) == nullptr) return;
  if (!slow_logged_) {
    const int64_t elapsed = SteadyMs() - start_ms_.load();
    const int64_t threshold = busy_threshold_ms_.load();
    if (threshold > 0 && elapsed >= threshold) {
      slow_logged_ = true;
      LogSlowScript(elapsed);
    }
  }
  if (kill_.load()) {
    Log(spdlog::level::warn, "Lua script killed by user with SCRIPT KILL.");
    // Every line from now on raises again, so a pcall in the script cannot go on.
    lua_sethook(L, Hook, LUA_MASKLINE, 0);
    lua::PushError(L, "Script killed by user with SCRIPT KILL...");
    lua_error(L);
  }
}

void ScriptEngine::LogSlowScript(int64_t elapsed) {
  std::lock_guard lock(run_mu_);
  Log(spdlog::level::warn, "slow script detected: still in execution",
      {{"elapsed_ms", std::to_string(elapsed)},
       {"kill_with", running_eval_ ? "SCRIPT KILL" : "FUNCTION KILL"},
       {"script", running_name_}});
}

// --- BUSY and KILL -----------------------------------------------------------------------

std::optional<std::string_view> ScriptEngine::BusyError(
    const std::vector<std::string>& argv) const {
  if (!running_.load(std::memory_order_acquire)) return std::nullopt;
  const int64_t threshold = busy_threshold_ms_.load();
  if (threshold <= 0 || SteadyMs() - start_ms_.load() < threshold) return std::nullopt;
  const std::string& name = argv[0];
  for (const char* allowed : {"auth", "hello", "multi", "discard", "watch", "unwatch", "quit",
                              "reset", "shutdown", "replconf"}) {
    if (EqualsIgnoreCase(name, allowed)) return std::nullopt;
  }
  if (argv.size() >= 2) {
    if (EqualsIgnoreCase(name, "script") && EqualsIgnoreCase(argv[1], "kill")) return std::nullopt;
    if (EqualsIgnoreCase(name, "function") &&
        (EqualsIgnoreCase(argv[1], "kill") || EqualsIgnoreCase(argv[1], "stats"))) {
      return std::nullopt;
    }
  }
  return running_eval_.load() ? std::string_view(kSlowEval) : std::string_view(kSlowFunction);
}

std::string ScriptEngine::Kill(bool is_eval) {
  std::lock_guard lock(run_mu_);
  if (!running_.load()) return "-NOTBUSY No scripts in execution right now.";
  if (dirty_.load()) {
    return "-UNKILLABLE Sorry the script already executed write commands against the dataset. "
           "You can either wait the script termination or kill the server in a hard way using "
           "the SHUTDOWN NOSAVE command.";
  }
  if (is_eval && !running_eval_.load()) return std::string("-") + kSlowFunction;
  if (!is_eval && running_eval_.load()) return std::string("-") + kSlowEval;
  kill_ = true;
  return "+OK";
}

void ScriptEngine::KillForShutdown() {
  std::lock_guard lock(run_mu_);
  shutting_down_ = true;
  kill_ = true;
}

void ScriptEngine::WriteFunctionStats(ReplyWriter& w) {
  std::lock_guard lock(run_mu_);
  if (running_.load() && running_eval_.load()) return w.Error(kSlowEval);
  w.MapHeader(2);
  w.Bulk("running_script");
  if (!running_.load()) {
    w.Null();
  } else {
    w.MapHeader(3);
    w.Bulk("name");
    w.Bulk(running_name_);
    w.Bulk("command");
    w.BulkArray(*running_argv_);
    w.Bulk("duration_ms");
    w.Integer(SteadyMs() - start_ms_.load());
  }
  w.Bulk("engines");
  w.MapHeader(1);
  w.Bulk("LUA");
  w.MapHeader(2);
  w.Bulk("libraries_count");
  w.Integer(libraries_count_.load());
  w.Bulk("functions_count");
  w.Integer(functions_count_.load());
}

// --- Counters for INFO -------------------------------------------------------------------

void ScriptEngine::UpdateCounters() {
  auto memory = [](lua_State* L) {
    return L == nullptr ? int64_t{0}
                        : int64_t{lua_gc(L, LUA_GCCOUNT, 0)} * 1024 + lua_gc(L, LUA_GCCOUNTB, 0);
  };
  eval_memory_ = memory(eval_);
  functions_memory_ = memory(functions_state_);
  cached_scripts_ = static_cast<int64_t>(scripts_.size());
  libraries_count_ = static_cast<int64_t>(libraries_.size());
  functions_count_ = static_cast<int64_t>(function_index_.size());
}

std::string ScriptEngine::InfoMemory() const {
  auto human = [](int64_t bytes) {
    char buf[32];
    const double v = static_cast<double>(bytes);
    if (bytes < 1024) {
      std::snprintf(buf, sizeof(buf), "%lldB", static_cast<long long>(bytes));
    } else if (bytes < 1024 * 1024) {
      std::snprintf(buf, sizeof(buf), "%.2fK", v / 1024);
    } else {
      std::snprintf(buf, sizeof(buf), "%.2fM", v / 1024 / 1024);
    }
    return std::string(buf);
  };
  const int64_t eval = eval_memory_.load(), functions = functions_memory_.load();
  const int64_t scripts = scripts_bytes_.load();
  std::string s;
  auto line = [&](const char* k, const std::string& v) {
    s += k;
    s += ':';
    s += v;
    s += "\r\n";
  };
  line("used_memory_lua", std::to_string(eval));
  line("used_memory_vm_eval", std::to_string(eval));
  line("used_memory_lua_human", human(eval));
  line("used_memory_scripts_eval", std::to_string(scripts));
  line("number_of_cached_scripts", std::to_string(cached_scripts_.load()));
  line("number_of_functions", std::to_string(functions_count_.load()));
  line("number_of_libraries", std::to_string(libraries_count_.load()));
  line("used_memory_vm_functions", std::to_string(functions));
  line("used_memory_vm_total", std::to_string(eval + functions));
  line("used_memory_vm_total_human", human(eval + functions));
  line("used_memory_functions", std::to_string(0));
  line("used_memory_scripts", std::to_string(scripts));
  line("used_memory_scripts_human", human(scripts));
  return s;
}

}  // namespace redge::resp
