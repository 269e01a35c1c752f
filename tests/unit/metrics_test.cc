// The /metrics text renderer (edge/metrics.h): exact output of each instrument kind, label
// escaping, histogram bucket placement and consistency under concurrent observations.
#include "edge/metrics.h"

#include <gtest/gtest.h>

#include <limits>
#include <thread>
#include <vector>

namespace redge {
namespace {

TEST(MetricsTest, CounterAndGaugeRenderWithHelpAndType) {
  MetricsRegistry r;
  Counter* c = r.AddCounter("redge_things_total", "Things done.");
  Gauge* g = r.AddGauge("redge_open", "Open now.");
  c->Inc();
  c->Inc(12'345'677);
  g->Set(7);
  g->Add(-2);
  EXPECT_EQ(r.Render(),
            "# HELP redge_things_total Things done.\n"
            "# TYPE redge_things_total counter\n"
            "redge_things_total 12345678\n"  // whole numbers stay integers, never 1.2e+07
            "# HELP redge_open Open now.\n"
            "# TYPE redge_open gauge\n"
            "redge_open 5\n");
}

TEST(MetricsTest, CounterFamilyIsSortedByLabelAndEscapesValues) {
  MetricsRegistry r;
  CounterFamily* f = r.AddCounterFamily("redge_jobs_total", "Jobs.\nBy queue \\ name.", "queue");
  f->With("b").Inc(2);
  f->With("a").Inc();
  f->With("q\"x\\y\nz").Inc();
  f->With("a").Inc();
  EXPECT_EQ(r.Render(),
            "# HELP redge_jobs_total Jobs.\\nBy queue \\\\ name.\n"
            "# TYPE redge_jobs_total counter\n"
            "redge_jobs_total{queue=\"a\"} 2\n"
            "redge_jobs_total{queue=\"b\"} 2\n"
            "redge_jobs_total{queue=\"q\\\"x\\\\y\\nz\"} 1\n");
}

TEST(MetricsTest, EmptyFamilyHasHeadersOnly) {
  MetricsRegistry r;
  r.AddCounterFamily("redge_none_total", "Nothing yet.", "queue");
  EXPECT_EQ(r.Render(), "# HELP redge_none_total Nothing yet.\n# TYPE redge_none_total counter\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeAndInclusive) {
  MetricsRegistry r;
  Histogram* h = r.AddHistogram("redge_wait_seconds", "Waits.", {0.001, 0.25, 1});
  h->Observe(0.0005);
  h->Observe(0.001);  // on a bound: counted in that bound's bucket (le is inclusive)
  h->Observe(0.1);
  h->Observe(3);
  EXPECT_EQ(r.Render(),
            "# HELP redge_wait_seconds Waits.\n"
            "# TYPE redge_wait_seconds histogram\n"
            "redge_wait_seconds_bucket{le=\"0.001\"} 2\n"
            "redge_wait_seconds_bucket{le=\"0.25\"} 3\n"
            "redge_wait_seconds_bucket{le=\"1\"} 3\n"
            "redge_wait_seconds_bucket{le=\"+Inf\"} 4\n"
            "redge_wait_seconds_sum 3.1015\n"
            "redge_wait_seconds_count 4\n");
}

TEST(MetricsTest, CollectorsRunAtRenderAfterInstruments) {
  MetricsRegistry r;
  int64_t depth = 3;
  r.AddCollector([&depth](MetricWriter& w) {
    w.Begin("redge_queue_depth", "gauge", "Depth.");
    w.Sample("redge_queue_depth", static_cast<double>(depth), {{"queue", "q1"}});
    w.WriteGauge("redge_inf", "Special values.", std::numeric_limits<double>::infinity());
  });
  r.AddCounter("redge_c_total", "C.");
  depth = 4;
  EXPECT_EQ(r.Render(),
            "# HELP redge_queue_depth Depth.\n"
            "# TYPE redge_queue_depth gauge\n"
            "redge_queue_depth{queue=\"q1\"} 4\n"
            "# HELP redge_inf Special values.\n"
            "# TYPE redge_inf gauge\n"
            "redge_inf +Inf\n"
            "# HELP redge_c_total C.\n"
            "# TYPE redge_c_total counter\n"
            "redge_c_total 0\n");
}

TEST(MetricsTest, ConcurrentObservationsKeepCountEqualToBuckets) {
  Histogram h(LatencyBuckets());
  std::vector<std::thread> threads;
  constexpr int kThreads = 4, kEach = 20000;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < kEach; ++i) h.Observe((t + 1) * 0.001);
    });
  }
  // Snapshots taken during the writes are consistent: cumulative and +Inf == count.
  for (int i = 0; i < 100; ++i) {
    Histogram::Snapshot s = h.Read();
    for (size_t b = 1; b < s.cumulative.size(); ++b)
      ASSERT_LE(s.cumulative[b - 1], s.cumulative[b]);
    ASSERT_LE(s.cumulative.back(), s.count);
  }
  for (auto& t : threads) t.join();
  Histogram::Snapshot s = h.Read();
  EXPECT_EQ(s.count, static_cast<uint64_t>(kThreads * kEach));
  EXPECT_NEAR(s.sum, kEach * (0.001 + 0.002 + 0.003 + 0.004), 1e-6);
}

TEST(MetricsTest, MetricsRegistersRedgeInstruments) {
  Metrics m;
  m.jobs_enqueued->With("q").Inc();
  m.event_append_seconds->Observe(0.002);
  const std::string text = m.registry.Render();
  EXPECT_NE(text.find("# TYPE redge_jobs_enqueued_total counter\n"
                      "redge_jobs_enqueued_total{queue=\"q\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("redge_event_append_seconds_bucket{le=\"0.0025\"} 1\n"), std::string::npos);
  // Bounds read as Prometheus's Go client writes them (%g, shortest).
  EXPECT_NE(text.find("redge_event_append_seconds_bucket{le=\"1e-05\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("redge_event_append_seconds_bucket{le=\"0.0001\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE redge_event_delivery_seconds histogram\n"), std::string::npos);
}

}  // namespace
}  // namespace redge
