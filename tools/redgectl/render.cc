#include "render.h"

#include <time.h>

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

namespace redgectl {
namespace {

using json = nlohmann::json;

// Only a real fraction gets a bar: workers send arbitrary data under "progress" too.
bool ProgressOf(const json& data, double* fraction) {
  if (!data.is_object()) return false;
  auto number = [&](const char* key, double* out) {
    auto it = data.find(key);
    if (it == data.end() || !it->is_number()) return false;
    *out = it->get<double>();
    return true;
  };
  double p = 0, current = 0, total = 0;
  if (number("progress", &p)) {
    // redge's own convention: a fraction.
  } else if (number("current", &current) && number("total", &total) && total > 0) {
    p = current / total;  // the usual Celery update_state meta
  } else if (number("percent", &p)) {
    p /= 100;
  } else {
    return false;
  }
  if (!(p >= 0 && p <= 1)) return false;
  *fraction = p;
  return true;
}

std::string Summary(const std::string& event, const json& data) {
  auto field = [&](const char* key) -> std::string {
    if (!data.is_object() || !data.contains(key)) return "";
    return std::string(" ") + key + "=" + Compact(data[key]);
  };
  if (event == "queued") return field("queue") + field("attempt");
  if (event == "started") return field("worker") + field("attempt");
  if (event == "retrying") return field("attempt") + field("reason");
  if (event == "completed") return field("result");
  if (event == "failed") return field("error");
  if (event == "canceled") return "";
  return " " + Compact(data);
}

}  // namespace

std::string FormatTime(int64_t epoch_ms) {
  if (epoch_ms <= 0) return "-";
  time_t secs = static_cast<time_t>(epoch_ms / 1000);
  struct tm tm;
  localtime_r(&secs, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  snprintf(buf + n, sizeof(buf) - n, ".%03d", static_cast<int>(epoch_ms % 1000));
  return buf;
}

std::string FormatDuration(int64_t ms) {
  char buf[32];
  if (ms < 1000) {
    snprintf(buf, sizeof(buf), "%lldms", static_cast<long long>(ms));
  } else if (ms < 60'000) {
    snprintf(buf, sizeof(buf), "%.1fs", ms / 1000.0);
  } else if (ms < 3'600'000) {
    snprintf(buf, sizeof(buf), "%lldm%02llds", static_cast<long long>(ms / 60'000),
             static_cast<long long>(ms / 1000 % 60));
  } else {
    snprintf(buf, sizeof(buf), "%lldh%02lldm", static_cast<long long>(ms / 3'600'000),
             static_cast<long long>(ms / 60'000 % 60));
  }
  return buf;
}

std::string ProgressBar(double fraction, int width) {
  int filled = static_cast<int>(std::lround(fraction * width));
  char pct[8];
  snprintf(pct, sizeof(pct), "%3d%%", static_cast<int>(std::lround(fraction * 100)));
  return "[" + std::string(filled, '#') + std::string(width - filled, '-') + "] " + pct;
}

std::string Compact(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

void PrintQueues(std::ostream& out, const json& body) {
  const json& queues = body.value("queues", json::array());
  if (queues.empty()) {
    out << "no queues yet\n";
    return;
  }
  out << std::left << std::setw(24) << "QUEUE" << std::right << std::setw(8) << "DEPTH"
      << std::setw(9) << "RUNNING" << std::setw(12) << "OLDEST"
      << "\n";
  for (const json& q : queues) {
    int64_t age = q.value("oldest_age_ms", int64_t{0});
    out << std::left << std::setw(24) << q.value("queue", std::string("?")) << std::right
        << std::setw(8) << q.value("depth", 0) << std::setw(9) << q.value("running", 0)
        << std::setw(12) << (age > 0 ? FormatDuration(age) : "-") << "\n";
  }
}

void PrintJob(std::ostream& out, const json& job) {
  auto line = [&](const char* label, const std::string& value) {
    out << std::left << std::setw(14) << label << value << "\n";
  };
  line("id", job.value("id", ""));
  line("queue", job.value("queue", ""));
  line("state", job.value("state", ""));
  line("attempt", std::to_string(job.value("attempt", 0)) + " of " +
                      std::to_string(job.value("max_attempts", 0)));
  line("correlation", job.value("correlation_id", ""));
  line("created", FormatTime(job.value("created_at", int64_t{0})));
  line("started", FormatTime(job.value("started_at", int64_t{0})));
  line("finished", FormatTime(job.value("finished_at", int64_t{0})));
  int64_t started = job.value("started_at", int64_t{0});
  int64_t finished = job.value("finished_at", int64_t{0});
  if (started > 0 && finished >= started) line("ran for", FormatDuration(finished - started));
  line("last event", std::to_string(job.value("last_event_id", 0)));
  if (job.contains("lease") && job["lease"].is_object()) {
    line("lease holder", Compact(job["lease"].value("holder", json(""))));
    line("lease expires", FormatTime(job["lease"].value("expires_at", int64_t{0})));
  }
  if (job.contains("result")) line("result", Compact(job["result"]));
  if (job.contains("error")) line("error", Compact(job["error"]));
}

void PrintJobList(std::ostream& out, const json& jobs) {
  if (jobs.empty()) {
    out << "no jobs\n";
    return;
  }
  out << std::left << std::setw(38) << "ID" << std::setw(20) << "QUEUE" << std::setw(11) << "STATE"
      << std::setw(9) << "ATTEMPT"
      << "CREATED\n";
  for (const json& job : jobs) {
    out << std::left << std::setw(38) << job.value("id", "") << std::setw(20)
        << job.value("queue", "") << std::setw(11) << job.value("state", "") << std::setw(9)
        << (std::to_string(job.value("attempt", 0)) + "/" +
            std::to_string(job.value("max_attempts", 0)))
        << FormatTime(job.value("created_at", int64_t{0})) << "\n";
  }
}

void PrintTrace(std::ostream& out, const json& trace) {
  out << "job " << trace.value("id", "") << " on " << trace.value("queue", "") << ": "
      << trace.value("state", "") << "\n";
  if (trace.contains("error") && trace["error"].is_string()) {
    out << "error " << trace["error"].get<std::string>() << "\n";
  }
  if (const json& c = trace.value("celery", json()); c.is_object()) {
    // A Celery task (the Celery bridge): its name, relatives and worker, then the
    // traceback Celery stored for a failure or retry.
    out << "celery task " << Compact(c.value("task", json(""))) << " retries "
        << Compact(c.value("retries", json(0))) << " worker " << Compact(c.value("worker", json()))
        << "\n";
    for (const char* key : {"root_id", "parent_id", "group_id", "chord_callback_id"}) {
      if (c.contains(key) && c[key].is_string())
        out << "  " << key << " " << c[key].get<std::string>() << "\n";
    }
    if (c.contains("traceback") && c["traceback"].is_string() &&
        !c["traceback"].get<std::string>().empty()) {
      out << "traceback:\n" << c["traceback"].get<std::string>();
      if (c["traceback"].get<std::string>().back() != '\n') out << "\n";
    }
  }
  const json& steps = trace.value("timeline", json::array());
  int64_t t0 = steps.empty() ? 0 : steps[0].value("at", int64_t{0});
  if (t0 > 0) out << "start " << FormatTime(t0) << "\n";
  for (const json& s : steps) {
    int64_t at = s.value("at", int64_t{0});
    std::string rel = at >= t0 ? "+" + FormatDuration(at - t0) : FormatTime(at);
    std::string what = s.value("what", "");
    std::string detail;
    if (what == "enqueued") {
      detail = "queue=" + Compact(s.value("queue", json(""))) +
               " correlation=" + Compact(s.value("correlation_id", json("")));
    } else if (what == "leased" || what == "reserved by a Celery worker") {
      detail = "holder=" + Compact(s.value("holder", json(""))) +
               " attempt=" + Compact(s.value("attempt", json(0)));
    } else if (what == "lease ended, retrying") {
      detail = Compact(s.value("detail", json::object()));
    } else if (what == "finished") {
      detail = Compact(s.value("state", json("")));
      if (s.contains("error")) detail += " error=" + Compact(s["error"]);
    } else if (what == "event") {
      detail = Compact(s.value("event", json("")));
    } else {
      // Deliveries and any step a newer server adds: show its fields but the known ones.
      for (const auto& [key, value] : s.items()) {
        if (key == "at" || key == "what") continue;
        detail += (detail.empty() ? "" : " ") + key + "=" + Compact(value);
      }
    }
    std::string id = s.contains("event_id") ? "#" + Compact(s["event_id"]) : "";
    out << std::left << std::setw(10) << rel << std::setw(5) << id << std::setw(26) << what
        << detail << "\n";
  }
}

void EventPrinter::Print(const SseEvent& ev) {
  if (json_) {
    json line = {{"job", job_id_}, {"id", ev.id}, {"event", ev.event}, {"data", ev.data}};
    out_ << line.dump() << std::endl;  // flushed: a script reads it as it happens
    return;
  }
  double fraction = 0;
  if (tty_ && ProgressOf(ev.data, &fraction)) {
    // \r + erase-line redraws the bar on the same line for each progress event.
    out_ << "\r\033[K#" << ev.id << " " << ev.event << " " << ProgressBar(fraction) << std::flush;
    bar_open_ = true;
    return;
  }
  Finish();
  out_ << "#" << ev.id << " " << ev.event << Summary(ev.event, ev.data) << std::endl;
}

void EventPrinter::Finish() {
  if (bar_open_) out_ << "\n" << std::flush;
  bar_open_ = false;
}

}  // namespace redgectl
