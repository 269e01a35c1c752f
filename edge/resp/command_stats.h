// CommandStats: what INFO commandstats and errorstats report. Per command (subcommands of
// container commands apart, "client|list"): calls, total microseconds in the handler,
// calls rejected before running (arity, NOAUTH, subscribed context) and calls that
// replied with an error; per error code (the error line's first word): how many error
// replies were sent. CONFIG RESETSTAT clears everything.
//
// The time is the handler's own (for store commands: inside the store transaction), not
// the wait for durability.
//
// Thread-safety: every method is safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "edge/resp/command.h"

namespace redge::resp {

class CommandStats {
 public:
  struct Entry {
    int64_t calls = 0, usec = 0, rejected = 0, failed = 0;
  };

  void RecordCall(const std::string& name, int64_t usec, bool failed);
  void RecordRejected(const std::string& name);
  // A call counted by RecordCall when it blocked, answered with an error once unblocked
  // (a blocked XREADGROUP whose group was destroyed: -NOGROUP): one more failed call, no
  // more calls (Redis's updateStatsOnUnblock).
  void RecordFailedAfterUnblock(const std::string& name);
  // An error reply: counted under its code (Redis's afterErrorReply: the first word within
  // 32 characters, else "ERR"). At most 128 codes are tracked, as in Redis.
  void RecordError(std::string_view line);
  void Reset();

  // Commands with any activity, by name.
  std::vector<std::pair<std::string, Entry>> Commands() const;
  // Error codes and counts, by code.
  std::vector<std::pair<std::string, int64_t>> Errors() const;
  int64_t total_errors() const { return total_errors_.load(); }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Entry> commands_;
  std::map<std::string, int64_t> errors_;
  std::atomic<int64_t> total_errors_{0};
};

// The name INFO uses for a command: "get", or "client|list" for a container's subcommand;
// empty for a subcommand Redis does not have (such calls are not counted).
std::string StatsName(const CommandSpec& spec, const std::vector<std::string>& argv);

// Runs spec.handler(ctx) and records the call in ctx.server's CommandStats (its duration,
// and whether it wrote an error reply: failed_calls) and, when slow, in its SlowLog: the
// one place the handlers of client commands are called from.
void InvokeCommand(const CommandSpec& spec, CommandContext& ctx);

}  // namespace redge::resp
