#include "edge/log.h"

#include <fcntl.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

namespace redge {
namespace {

// Opens `path` for appending (created 0640, close-on-exec); null and errno on failure.
std::FILE* OpenAppend(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return nullptr;
  std::FILE* f = ::fdopen(fd, "a");
  if (!f) {
    int e = errno;
    ::close(fd);
    errno = e;
  }
  return f;
}

// A file sink that can reopen its path. spdlog's basic_file_sink cannot: its
// file_helper closes before it opens, so a failed reopen would leave no file at all.
// Here the new file is opened first and swapped in under the sink's mutex, which every
// write also holds.
class ReopenableFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  ReopenableFileSink(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  ~ReopenableFileSink() override {
    if (file_) std::fclose(file_);
  }

  const std::string& path() const { return path_; }

  // Returns "" or the error text; on error the old file stays in use.
  std::string Reopen() {
    std::FILE* fresh = OpenAppend(path_);
    if (!fresh) return std::strerror(errno);
    std::FILE* old;
    {
      std::lock_guard lock(mutex_);
      old = file_;
      file_ = fresh;
    }
    std::fclose(old);  // flushes what was written before the swap
    return "";
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    std::fwrite(line.data(), 1, line.size(), file_);
  }
  void flush_() override { std::fflush(file_); }

 private:
  const std::string path_;
  std::FILE* file_;  // guarded by mutex_
};

bool g_json = false;
// Set once by InitLogging before other threads start; null when logging to stderr.
std::shared_ptr<ReopenableFileSink> g_file_sink;

}  // namespace

store::Status InitLogging(const std::string& format, const std::string& level,
                          const std::string& file) {
  std::shared_ptr<spdlog::logger> logger;
  if (file.empty()) {
    g_json = format.empty() ? !isatty(STDERR_FILENO) : format == "json";
    logger = spdlog::stderr_logger_mt("redge");
    logger->flush_on(spdlog::level::info);
  } else {
    std::FILE* f = OpenAppend(file);
    if (!f) {
      return store::Status::InvalidArgument("cannot open log file " + file + ": " +
                                            std::strerror(errno));
    }
    g_json = format.empty() || format == "json";
    g_file_sink = std::make_shared<ReopenableFileSink>(file, f);
    logger = std::make_shared<spdlog::logger>("redge", g_file_sink);
    // Every line reaches the file at once, as with unbuffered stderr (tail -f, crashes).
    logger->flush_on(spdlog::level::trace);
  }
  if (g_json) {
    logger->set_pattern("%v");
  } else {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  }
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
  return store::Status::OK();
}

void ReopenLogs() {
  if (!g_file_sink) {
    Log(spdlog::level::debug, "log reopen skipped: logging to stderr");
    return;
  }
  std::string error = g_file_sink->Reopen();
  if (!error.empty()) {
    Log(spdlog::level::err, "log reopen failed", {{"file", g_file_sink->path()}, {"error", error}});
    return;
  }
  Log(spdlog::level::info, "log reopened", {{"file", g_file_sink->path()}});
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
