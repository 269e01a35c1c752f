#include "edge/resp/command_stats.h"

#include <chrono>

#include "edge/resp/command_meta.h"
#include "edge/resp/connection.h"
#include "edge/resp/server.h"

namespace redge::resp {
namespace {

constexpr size_t kMaxErrorCodes = 128;  // Redis's ERROR_STATS_NUMBER

}  // namespace

void CommandStats::RecordCall(const std::string& name, int64_t usec, bool failed) {
  std::lock_guard lock(mu_);
  Entry& e = commands_[name];
  e.calls++;
  e.usec += usec;
  if (failed) e.failed++;
}

void CommandStats::RecordFailedAfterUnblock(const std::string& name) {
  if (name.empty()) return;
  std::lock_guard lock(mu_);
  commands_[name].failed++;
}

void CommandStats::RecordRejected(const std::string& name) {
  if (name.empty()) return;  // an unknown subcommand (StatsName)
  std::lock_guard lock(mu_);
  commands_[name].rejected++;
}

void CommandStats::RecordError(std::string_view line) {
  total_errors_++;
  std::string_view code = "ERR";
  const size_t space = line.substr(0, 32).find(' ');
  if (space != std::string_view::npos && space > 0) code = line.substr(0, space);
  std::lock_guard lock(mu_);
  auto it = errors_.find(std::string(code));
  if (it != errors_.end()) {
    it->second++;
  } else if (errors_.size() < kMaxErrorCodes) {
    errors_.emplace(std::string(code), 1);
  }
}

void CommandStats::Reset() {
  std::lock_guard lock(mu_);
  commands_.clear();
  errors_.clear();
  total_errors_ = 0;
}

std::vector<std::pair<std::string, CommandStats::Entry>> CommandStats::Commands() const {
  std::lock_guard lock(mu_);
  return {commands_.begin(), commands_.end()};
}

std::vector<std::pair<std::string, int64_t>> CommandStats::Errors() const {
  std::lock_guard lock(mu_);
  return {errors_.begin(), errors_.end()};
}

std::string StatsName(const CommandSpec& spec, const std::vector<std::string>& argv) {
  if (argv.size() >= 2 && IsContainerCommand(spec.name)) {
    // Only subcommands Redis has: the name comes from the client, and one entry per
    // made-up subcommand would grow the table without bound. Redis counts no call for an
    // unknown subcommand either (only its error).
    std::string full = std::string(spec.name) + "|" + ToLower(argv[1]);
    return FindCommandMeta(full) != nullptr ? full : std::string();
  }
  return spec.name;
}

void InvokeCommand(const CommandSpec& spec, CommandContext& ctx) {
  const uint64_t errors_before = ReplyWriter::ErrorsWrittenOnThisThread();
  const auto start = std::chrono::steady_clock::now();
  spec.handler(ctx);
  const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  if (std::string name = StatsName(spec, ctx.argv); !name.empty()) {
    ctx.server.command_stats().RecordCall(
        name, usec, ReplyWriter::ErrorsWrittenOnThisThread() != errors_before);
    // A blocked command's reply comes later: an error then is a failed call too.
    if (ctx.conn.blocked()) ctx.conn.set_blocked_command_stats_name(std::move(name));
  }
  // EXEC is not in the slow log, the commands it ran are (Redis's skip_slowlog flag).
  if (std::string_view(spec.name) == "exec") return;
  SlowLog& log = ctx.server.slowlog();
  if (log.Slow(usec)) log.Record(RedactedArgv(ctx.argv), usec, ctx.conn.peer(), ctx.conn.name());
}

}  // namespace redge::resp
