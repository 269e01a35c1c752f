// GET /metrics: the Prometheus text exposition (docs/http-api.md, Operators), and the
// scrape-time collector of the values JobsApi can see: queues and lease expiries (the jobs
// layer), open SSE streams and parked long-polls (this API), and the store's statistics.
//
// With access control on, /metrics needs the metrics (or admin) role (Prometheus:
// `authorization: {credentials: <key>}` in the scrape config): queue names and traffic
// volumes are the operator's business.
#include "base/loop_thread.h"
#include "edge/http/jobs_api.h"
#include "edge/http/route_support.h"

namespace redge::http {

namespace {

constexpr double kMicrosPerSecond = 1e6;

// The queues MetricsPage read for the render running on this thread (null: none).
thread_local const std::vector<jobs::QueueInfo>* t_scraped_queues = nullptr;

// The store's write-latency buckets (microseconds, non-cumulative) as a histogram in
// seconds.
Histogram::Snapshot StoreWriteLatency(const store::StoreStats& stats) {
  Histogram::Snapshot s;
  uint64_t total = 0;
  for (size_t i = 0; i < store::kWriteLatencyBoundsUs.size(); ++i) {
    total += static_cast<uint64_t>(stats.write_latency_buckets[i]);
    s.bounds.push_back(static_cast<double>(store::kWriteLatencyBoundsUs[i]) / kMicrosPerSecond);
    s.cumulative.push_back(total);
  }
  s.count = total + static_cast<uint64_t>(stats.write_latency_buckets.back());
  s.sum = static_cast<double>(stats.write_latency_us_total) / kMicrosPerSecond;
  return s;
}

}  // namespace

void JobsApi::RegisterMetrics(HttpServer& server) {
  metrics_->registry.AddCollector([this](MetricWriter& w) { CollectMetrics(w); });
  Route(server, "GET", "/metrics", RoutePolicy::Global(auth::Permission::kMetrics),
        [this](Request& req, std::shared_ptr<Exchange> ex) { MetricsPage(req, std::move(ex)); });
}

void JobsApi::MetricsPage(Request& req, std::shared_ptr<Exchange> ex) {
  using Queues = std::vector<jobs::QueueInfo>;
  // The queue gauges need a store read: done first, without waiting; the page is rendered
  // from its completion, on this loop, with the queues handed to CollectMetrics.
  jobs_->QueuesAsync(routes::OnLoop<Queues>(
      ex, [this, ex, corr = CorrelationOf(req)](jobs::Outcome, Queues queues) {
        Response r;
        r.status = 200;
        r.headers = {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"},
                     {"Cache-Control", "no-store"}};
        if (!corr.empty()) r.headers.emplace_back("X-Correlation-ID", corr);
        t_scraped_queues = &queues;
        r.body = metrics_->registry.Render();
        t_scraped_queues = nullptr;
        ex->Reply(std::move(r));
      }));
}

void JobsApi::CollectMetrics(MetricWriter& w) {
  w.WriteCounter("redge_lease_expiries_total",
                 "Leases that ran out with no heartbeat, event or completion; each put its job "
                 "back in its queue or failed it (worker lost).",
                 static_cast<double>(jobs_->lease_expiries()));

  // One pass over the queues (a store read, made by MetricsPage before rendering; a render
  // elsewhere, off any event loop, reads them here), written as three families.
  std::vector<jobs::QueueInfo> read_here;
  if (t_scraped_queues == nullptr && !base::OnEventLoopThread()) read_here = jobs_->Queues();
  const std::vector<jobs::QueueInfo>& queues =
      t_scraped_queues != nullptr ? *t_scraped_queues : read_here;
  w.Begin("redge_queue_depth", "gauge",
          "Entries waiting in the queue's list (job envelopes and any raw entries a legacy "
          "producer pushed).");
  for (const auto& q : queues) {
    w.Sample("redge_queue_depth", static_cast<double>(q.depth), {{"queue", q.queue}});
  }
  w.Begin("redge_queue_oldest_age_seconds", "gauge",
          "Age of the oldest job envelope waiting in the queue; 0 when it is empty.");
  for (const auto& q : queues) {
    w.Sample("redge_queue_oldest_age_seconds", static_cast<double>(q.oldest_age_ms) / 1000,
             {{"queue", q.queue}});
  }
  w.Begin("redge_queue_running", "gauge", "Jobs of the queue leased to a worker now.");
  for (const auto& q : queues) {
    w.Sample("redge_queue_running", static_cast<double>(q.running), {{"queue", q.queue}});
  }

  w.WriteGauge("redge_sse_streams",
               "Open SSE event streams (/v1/jobs/{id}/events, /chat/stream/{id}).",
               static_cast<double>(open_streams()));
  w.WriteGauge("redge_longpoll_waiting",
               "Long-polls (GET /v1/jobs/{id}?wait=S) parked until an event or their timeout.",
               static_cast<double>(waiting_polls()));

  const store::StoreStats st = store_->GetStats();
  w.WriteHistogram("redge_store_write_seconds",
                   "Seconds in RocksDB's write of one store batch (WAL append and memtable), "
                   "committed or refused; the fsync is not included (redge_store_fsyncs_total). "
                   "Microsecond resolution.",
                   StoreWriteLatency(st));
  w.WriteCounter("redge_store_fsyncs_total",
                 "WAL syncs: one per group commit with --fsync always, one a second with "
                 "everysec, none with no.",
                 static_cast<double>(st.fsyncs));
  w.WriteCounter("redge_store_write_failures_total",
                 "Store writes RocksDB refused (disk full, I/O error); nothing of them happened.",
                 static_cast<double>(st.write_failures));
  w.WriteCounter("redge_store_waits_on_event_loop_total",
                 "Times an event-loop thread waited for the store (a synchronous store call on "
                 "a loop, a bug: loops use the asynchronous forms). Always 0 unless redge has "
                 "that bug; each case is also logged, at most once a minute.",
                 static_cast<double>(st.waits_on_event_loop));
  w.WriteCounter("redge_keys_expired_total",
                 "Keys deleted by lazy or active expiry, all databases (job records and events "
                 "after --result-ttl included).",
                 static_cast<double>(st.keys_expired));
  w.WriteGauge("redge_store_disk_bytes",
               "Bytes of the store's RocksDB SST files plus memtables (whose data is also in "
               "the WAL).",
               static_cast<double>(st.disk_bytes));

  const store::PubSub::Stats ps = store_->pubsub().GetStats();
  w.WriteGauge("redge_pubsub_channels", "Pub/sub channels with at least one subscriber.",
               static_cast<double>(ps.channels));
  w.WriteGauge("redge_pubsub_patterns", "Pub/sub patterns with at least one subscriber.",
               static_cast<double>(ps.patterns));
}

}  // namespace redge::http
