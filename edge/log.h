// Structured logging over spdlog: one line per event, human text on a terminal and JSON
// lines otherwise (journald, files). Fields are key/value pairs so every line about a job
// can carry job_id and correlation_id. Payloads and secrets never go in fields at info.
//
// Thread-safety: InitLogging once at startup; Log from any thread.
#pragma once

#include <spdlog/spdlog.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace redge {

using LogField = std::pair<std::string_view, std::string>;

// `format` "text" or "json" (empty: text when stderr is a tty); `level` spdlog's names.
void InitLogging(const std::string& format, const std::string& level);
void Log(spdlog::level::level_enum level, std::string_view message,
         std::initializer_list<LogField> fields = {});
bool LogEnabled(spdlog::level::level_enum level);

}  // namespace redge
