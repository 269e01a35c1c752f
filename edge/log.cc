#include "edge/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace redge {
namespace {

bool g_json = false;

}  // namespace

void InitLogging(const std::string& format, const std::string& level) {
  g_json = format.empty() ? !isatty(STDERR_FILENO) : format == "json";
  auto logger = spdlog::stderr_logger_mt("redge");
  if (g_json) {
    logger->set_pattern("%v");
  } else {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  }
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

bool LogEnabled(spdlog::level::level_enum level) { return spdlog::should_log(level); }

void Log(spdlog::level::level_enum level, std::string_view message,
         std::initializer_list<LogField> fields) {
  if (!spdlog::should_log(level)) return;
  if (g_json) {
    nlohmann::json j;
    auto now = std::chrono::system_clock::now();
    j["ts"] = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    j["level"] = spdlog::level::to_string_view(level).data();
    j["msg"] = message;
    for (const auto& [k, v] : fields) j[std::string(k)] = v;
    spdlog::log(level, "{}", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  std::string line(message);
  for (const auto& [k, v] : fields) {
    line += ' ';
    line += k;
    line += '=';
    line += v;
  }
  spdlog::log(level, "{}", line);
}

}  // namespace redge
