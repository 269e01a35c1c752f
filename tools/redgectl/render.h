// Human-readable output of redgectl: times, durations, tables, event lines, progress bars.
#ifndef REDGE_TOOLS_REDGECTL_RENDER_H_
#define REDGE_TOOLS_REDGECTL_RENDER_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "api.h"

namespace redgectl {

// "2026-11-26 02:54:50.123" in local time; "-" for 0 (the API's "not yet").
std::string FormatTime(int64_t epoch_ms);
// "850ms", "12.3s", "4m05s", "2h03m".
std::string FormatDuration(int64_t ms);
// "[##########----------]  50%" for a fraction in 0..1.
std::string ProgressBar(double fraction, int width = 30);
// A JSON value on one line, strings without quotes.
std::string Compact(const nlohmann::json& v);

void PrintQueues(std::ostream& out, const nlohmann::json& body);
void PrintJob(std::ostream& out, const nlohmann::json& job);
// A table of jobs (a JSON array of jobs): id, queue, state, attempt, created.
void PrintJobList(std::ostream& out, const nlohmann::json& jobs);
void PrintTrace(std::ostream& out, const nlohmann::json& trace);

// Prints a job's events as they arrive: one JSON object per line with `json`, else one
// human line per event. On a terminal, progress events (numeric data.progress in 0..1)
// redraw one progress-bar line in place instead of scrolling.
class EventPrinter {
 public:
  EventPrinter(std::ostream& out, bool json, bool tty, std::string job_id)
      : out_(out), json_(json), tty_(tty), job_id_(std::move(job_id)) {}
  ~EventPrinter() { Finish(); }

  void Print(const SseEvent& ev);
  // Ends a pending progress-bar line so later output starts on a fresh line.
  void Finish();

 private:
  std::ostream& out_;
  bool json_;
  bool tty_;
  std::string job_id_;
  bool bar_open_ = false;
};

}  // namespace redgectl

#endif  // REDGE_TOOLS_REDGECTL_RENDER_H_
