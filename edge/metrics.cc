#include "edge/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace redge {
namespace {

// The format's spellings of the special values; whole numbers (counts) as integers, even
// large ones; anything else as the shortest %g-style text that parses back to `v`, which
// is what Prometheus's Go client writes ("0.0001", "1e-05"), so `le` labels read the same
// as other exporters'.
void AppendValue(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
  } else if (v == std::trunc(v) && std::fabs(v) < 9e15) {
    out->append(std::to_string(static_cast<int64_t>(v)));
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::general);
    out->append(buf, ec == std::errc() ? end : buf);
  }
}

// HELP text escapes backslash and newline; label values also escape the double quote.
void AppendEscaped(std::string* out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '"' && quote) {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

}  // namespace

const std::vector<double>& LatencyBuckets() {
  static const std::vector<double> kBuckets = {
      0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,     0.1,     0.25,   0.5,     1,      2.5,   5,      10};
  return kBuckets;
}

// --- CounterFamily ---------------------------------------------------------------------

Counter& CounterFamily::With(std::string_view label_value) {
  std::lock_guard lock(mu_);
  auto it = children_.find(label_value);
  if (it == children_.end()) {
    it = children_.emplace(std::string(label_value), std::make_unique<Counter>()).first;
  }
  return *it->second;
}

std::vector<std::pair<std::string, int64_t>> CounterFamily::Values() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, int64_t>> out;
  out.reserve(children_.size());
  for (const auto& [label, counter] : children_) out.emplace_back(label, counter->value());
  return out;
}

// --- Histogram -------------------------------------------------------------------------

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::Observe(double value) {
  // le is inclusive: a value equal to a bound belongs to that bound's bucket.
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

void Histogram::ObserveSince(std::chrono::steady_clock::time_point start) {
  Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.bounds = bounds_;
  s.cumulative.reserve(bounds_.size());
  uint64_t total = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(total);
  }
  s.count = total + buckets_[bounds_.size()].load(std::memory_order_relaxed);
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

// --- MetricWriter ----------------------------------------------------------------------

void MetricWriter::Begin(std::string_view name, std::string_view type, std::string_view help) {
  out_->append("# HELP ").append(name).push_back(' ');
  AppendEscaped(out_, help, /*quote=*/false);
  out_->append("\n# TYPE ").append(name).append(" ").append(type).push_back('\n');
}

void MetricWriter::Sample(std::string_view name, double value,
                          std::initializer_list<Label> labels) {
  out_->append(name);
  if (labels.size() > 0) {
    out_->push_back('{');
    bool first = true;
    for (const auto& [key, val] : labels) {
      if (!first) out_->push_back(',');
      first = false;
      out_->append(key).append("=\"");
      AppendEscaped(out_, val, /*quote=*/true);
      out_->push_back('"');
    }
    out_->push_back('}');
  }
  out_->push_back(' ');
  AppendValue(out_, value);
  out_->push_back('\n');
}

void MetricWriter::WriteCounter(std::string_view name, std::string_view help, double value) {
  Begin(name, "counter", help);
  Sample(name, value);
}

void MetricWriter::WriteGauge(std::string_view name, std::string_view help, double value) {
  Begin(name, "gauge", help);
  Sample(name, value);
}

void MetricWriter::WriteHistogram(std::string_view name, std::string_view help,
                                  const Histogram::Snapshot& s) {
  Begin(name, "histogram", help);
  const std::string base(name);
  const std::string bucket = base + "_bucket";
  for (size_t i = 0; i < s.bounds.size(); ++i) {
    std::string le;
    AppendValue(&le, s.bounds[i]);
    Sample(bucket, static_cast<double>(s.cumulative[i]), {{"le", le}});
  }
  Sample(bucket, static_cast<double>(s.count), {{"le", "+Inf"}});
  Sample(base + "_sum", s.sum);
  Sample(base + "_count", static_cast<double>(s.count));
}

// --- MetricsRegistry -------------------------------------------------------------------

// Every instrument is registered as a collector that owns it and renders it, so Render()
// is one pass over one list, in registration order.

Counter* MetricsRegistry::AddCounter(std::string name, std::string help) {
  auto counter = std::make_shared<Counter>();
  AddCollector([counter, name = std::move(name), help = std::move(help)](MetricWriter& w) {
    w.WriteCounter(name, help, static_cast<double>(counter->value()));
  });
  return counter.get();
}

Gauge* MetricsRegistry::AddGauge(std::string name, std::string help) {
  auto gauge = std::make_shared<Gauge>();
  AddCollector([gauge, name = std::move(name), help = std::move(help)](MetricWriter& w) {
    w.WriteGauge(name, help, static_cast<double>(gauge->value()));
  });
  return gauge.get();
}

CounterFamily* MetricsRegistry::AddCounterFamily(std::string name, std::string help,
                                                 std::string label) {
  auto family = std::make_shared<CounterFamily>();
  AddCollector([family, name = std::move(name), help = std::move(help),
                label = std::move(label)](MetricWriter& w) {
    w.Begin(name, "counter", help);
    for (const auto& [value, count] : family->Values()) {
      w.Sample(name, static_cast<double>(count), {{label, value}});
    }
  });
  return family.get();
}

Histogram* MetricsRegistry::AddHistogram(std::string name, std::string help,
                                         std::vector<double> bounds) {
  auto histogram = std::make_shared<Histogram>(std::move(bounds));
  AddCollector([histogram, name = std::move(name), help = std::move(help)](MetricWriter& w) {
    w.WriteHistogram(name, help, histogram->Read());
  });
  return histogram.get();
}

void MetricsRegistry::AddCollector(Collector collector) {
  auto shared = std::make_shared<const Collector>(std::move(collector));
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(shared));
}

std::string MetricsRegistry::Render() const {
  // Collectors run outside the lock: one may take other locks (the store's), and a
  // registration during a scrape must not wait for it.
  std::vector<std::shared_ptr<const Collector>> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  std::string out;
  MetricWriter writer(&out);
  for (const auto& c : collectors) (*c)(writer);
  return out;
}

// --- Metrics ---------------------------------------------------------------------------

Metrics::Metrics() {
  jobs_enqueued = registry.AddCounterFamily(
      "redge_jobs_enqueued_total",
      "Jobs created (POST /v1/queues/{queue}/jobs, POST /chat); an idempotent repeat that "
      "returns an existing job is not counted.",
      "queue");
  jobs_completed =
      registry.AddCounterFamily("redge_jobs_completed_total", "Jobs that completed.", "queue");
  jobs_failed = registry.AddCounterFamily(
      "redge_jobs_failed_total",
      "Jobs that failed: a worker reported an error, or the attempts ran out (worker lost).",
      "queue");
  jobs_retried = registry.AddCounterFamily(
      "redge_jobs_retried_total",
      "Jobs put back in their queue for another attempt, after an expired lease or a "
      "worker's fail with retry.",
      "queue");
  jobs_canceled = registry.AddCounterFamily("redge_jobs_canceled_total",
                                            "Jobs canceled by DELETE /v1/jobs/{id}.", "queue");
  event_append_seconds = registry.AddHistogram(
      "redge_event_append_seconds",
      "Seconds from a job event being added to its store write until that write is committed "
      "and durable per --fsync: the rest of the transaction, the RocksDB write and, with "
      "fsync always, the group-commit fsync. Waiting for the store lock before the write "
      "starts is not included. One observation per event, whoever wrote it (HTTP API, RESP "
      "bridge, lease reaper).",
      LatencyBuckets());
  event_delivery_seconds = registry.AddHistogram(
      "redge_event_delivery_seconds",
      "Seconds from the commit of a job event (steady clock, taken when its waiters are "
      "notified) to its write on a waiting SSE stream or long-poll reply. One observation "
      "per wake-up that wrote events, timed from the earliest commit it carries; replays of "
      "stored events (reconnects, after=N) are not observed.",
      LatencyBuckets());
  sse_events_sent = registry.AddCounterFamily(
      "redge_sse_events_sent_total",
      "Job events written on SSE streams, by source: memory (handed over as they committed, "
      "no store read) or store (replays, and streams that fell behind).",
      "source");
}

}  // namespace redge
