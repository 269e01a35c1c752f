// Structured logging over spdlog: one line per event, human text on a terminal and JSON
// lines otherwise (journald, files). Fields are key/value pairs so every line about a job
// can carry job_id and correlation_id. Payloads and secrets never go in fields at info.
//
// Logs go to stderr, or appended to a file (--log-file) that ReopenLogs reopens by name:
// after logrotate renames it, SIGHUP makes redge write to a new file at the same path.
//
// Thread-safety: InitLogging once at startup, before other threads log; Log and
// ReopenLogs from any thread (a reopen swaps the file under the sink's lock, so a line
// logged concurrently lands whole in the old file or in the new one).
#pragma once

#include <spdlog/spdlog.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "store/status.h"

namespace redge {

using LogField = std::pair<std::string_view, std::string>;

// `format` "text" or "json" (empty: json when logging to a file or when stderr is not a
// tty, else text); `level` spdlog's names; `file` empty for stderr. Fails only when the
// file cannot be opened.
store::Status InitLogging(const std::string& format, const std::string& level,
                          const std::string& file = "");
// Reopens the log file by its path (a no-op when logging to stderr) and logs
// "log reopened". If the path cannot be opened, logging continues to the old file and
// the error is logged there.
void ReopenLogs();
void Log(spdlog::level::level_enum level, std::string_view message,
         std::initializer_list<LogField> fields = {});
bool LogEnabled(spdlog::level::level_enum level);

}  // namespace redge
