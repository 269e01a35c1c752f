// Metrics: counters, gauges and histograms served by GET /metrics in the Prometheus text
// exposition format (version 0.0.4).
//
// Values come from two places:
//  - Instruments (Counter, Gauge, CounterFamily, Histogram) that code updates as things
//    happen. They are relaxed atomics, so a hot path (a job event, an SSE write) pays an
//    atomic add or two and never a lock held across a scrape.
//  - Collectors: callbacks that read, at scrape time, values their owner keeps anyway
//    (queue depths, open streams, store statistics), so nothing is counted twice and a
//    gauge can never drift from the state it reports.
//
// Names follow Prometheus conventions: the redge_ prefix, _total for counters, base units
// (_seconds, _bytes). A histogram has fixed buckets chosen at registration; its _count is
// computed from its buckets when read, so the +Inf bucket always equals _count and bucket
// counts never decrease from one bucket to the next, even while observations race a scrape.
//
// Thread-safety: everything is safe from any thread. Registration is meant to happen once,
// before traffic, but is locked. Collectors run on the scraping thread (an HTTP loop):
// they must be quick and must not call Render().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redge {

// Bucket upper bounds (seconds) of redge's latency histograms: 10 us to 10 s, about three
// per decade, so an in-memory write (microseconds) and an fsync on a slow disk (tens of
// milliseconds) each land in buckets of their own.
const std::vector<double>& LatencyBuckets();

class Counter {
 public:
  void Inc(int64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Gauge {
 public:
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// One counter per value of a single label (redge labels by queue). A child is created on
// first use and never removed, so the label's values must stay bounded.
class CounterFamily {
 public:
  // The counter for `label_value`; the reference stays valid as long as the family.
  Counter& With(std::string_view label_value);
  // (label value, count) for every child, sorted by label value.
  std::vector<std::pair<std::string, int64_t>> Values() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Counter>, std::less<>> children_;
};

class Histogram {
 public:
  // `bounds`: strictly increasing bucket upper bounds; a +Inf bucket follows implicitly.
  explicit Histogram(std::vector<double> bounds);

  void Observe(double value);
  // Observes the seconds elapsed since `start`.
  void ObserveSince(std::chrono::steady_clock::time_point start);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound: observations <= that bound
    uint64_t count = 0;                // all observations (the +Inf bucket)
    double sum = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double> bounds_;
  // Per bucket, not cumulative; the last one is +Inf.
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

using Label = std::pair<std::string_view, std::string_view>;

// Appends the text exposition format to a string. Each family is written whole (HELP,
// TYPE, then its samples): the format requires a family's samples to be contiguous.
class MetricWriter {
 public:
  explicit MetricWriter(std::string* out) : out_(out) {}

  // "# HELP" and "# TYPE" lines; `type` is "counter", "gauge" or "histogram".
  void Begin(std::string_view name, std::string_view type, std::string_view help);
  // One sample line: `name{labels} value`.
  void Sample(std::string_view name, double value, std::initializer_list<Label> labels = {});

  // Whole families of one unlabeled sample.
  void WriteCounter(std::string_view name, std::string_view help, double value);
  void WriteGauge(std::string_view name, std::string_view help, double value);
  // _bucket (with le), _sum and _count samples.
  void WriteHistogram(std::string_view name, std::string_view help, const Histogram::Snapshot& s);

 private:
  std::string* out_;
};

// Owns instruments and collectors and renders them in registration order. Registering a
// name twice, or a collector writing a name an instrument has, is a caller bug: the
// output would not parse.
class MetricsRegistry {
 public:
  using Collector = std::function<void(MetricWriter&)>;

  Counter* AddCounter(std::string name, std::string help);
  Gauge* AddGauge(std::string name, std::string help);
  CounterFamily* AddCounterFamily(std::string name, std::string help, std::string label);
  Histogram* AddHistogram(std::string name, std::string help, std::vector<double> bounds);
  // `collector` must stay callable until the last Render(): whatever it reads must outlive
  // the server that serves /metrics.
  void AddCollector(Collector collector);

  // The whole exposition: every instrument, then what the collectors write.
  std::string Render() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<const Collector>> collectors_;
};

// redge's own instruments, updated by the jobs layer (edge/jobs) and the event readers
// (edge/http/sse_routes.cc). Values kept elsewhere are exported by their owners as
// collectors: JobsApi (queues, streams, long-polls, lease expiries, store, pub/sub) and
// RespServer (clients). docs/http-api.md lists every metric.
struct Metrics {
  Metrics();

  MetricsRegistry registry;
  // Job transitions by queue, counted after their store write committed.
  CounterFamily* jobs_enqueued;
  CounterFamily* jobs_completed;
  CounterFamily* jobs_failed;
  CounterFamily* jobs_retried;
  CounterFamily* jobs_canceled;
  Histogram* event_append_seconds;
  Histogram* event_delivery_seconds;
  // Events written on SSE streams, by where the stream took them from: "memory" (the
  // in-memory tail of a live job) or "store" (a replay, or a stream that fell behind).
  CounterFamily* sse_events_sent;
};

}  // namespace redge
