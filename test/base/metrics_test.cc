#include "base/metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace arca::metrics {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(MetricsTest, CounterRendersHelpTypeAndSortedSeries) {
  Registry r;
  Counter& c = r.AddCounter("arca_requests_total", "Requests.", {"route", "code"});
  c.Increment({"sys/health", "200"});
  c.Increment({"sys/health", "200"}, 2);
  c.Increment({"secret/", "404"});
  EXPECT_EQ(c.Value({"sys/health", "200"}), 3);
  EXPECT_EQ(r.Render(),
            "# HELP arca_requests_total Requests.\n"
            "# TYPE arca_requests_total counter\n"
            "arca_requests_total{route=\"secret/\",code=\"404\"} 1\n"
            "arca_requests_total{route=\"sys/health\",code=\"200\"} 3\n");
}

TEST(MetricsTest, CounterIgnoresNegativeAndWrongArity) {
  Registry r;
  Counter& c = r.AddCounter("c_total", "h", {"a"});
  c.Increment({"x"}, -5);
  c.Increment({"x", "y"});
  c.Increment({});
  EXPECT_EQ(c.Value({"x"}), 0);
  EXPECT_EQ(r.Render(), "# HELP c_total h\n# TYPE c_total counter\n");
}

TEST(MetricsTest, LabelValuesAndHelpAreEscaped) {
  Registry r;
  r.AddGauge("g", "line1\nback\\slash", {"v"}).Set({"a\"b\\c\nd"}, 1.5);
  std::string out = r.Render();
  EXPECT_TRUE(Contains(out, "# HELP g line1\\nback\\\\slash\n")) << out;
  EXPECT_TRUE(Contains(out, "g{v=\"a\\\"b\\\\c\\nd\"} 1.5\n")) << out;
}

TEST(MetricsTest, GaugeSetAndAdd) {
  Registry r;
  Gauge& g = r.AddGauge("arca_sealed", "1 when sealed.", {});
  g.Set({}, 1);
  g.Add({}, -1);
  g.Add({}, 0.25);
  EXPECT_EQ(g.Value({}), 0.25);
  EXPECT_TRUE(Contains(r.Render(), "# TYPE arca_sealed gauge\narca_sealed 0.25\n"));
}

TEST(MetricsTest, GaugeFunctionIsReadAtRenderTime) {
  Registry r;
  double v = 1;
  r.AddGaugeFunction("arca_core_sealed", "Seal state.", [&v] { return v; });
  EXPECT_TRUE(Contains(r.Render(), "arca_core_sealed 1\n"));
  v = 0;
  EXPECT_TRUE(Contains(r.Render(), "arca_core_sealed 0\n"));
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Registry r;
  Histogram& h = r.AddHistogram("lat_seconds", "Latency.", {"route"}, {1, 0.1, 0.5, 0.1});
  h.Observe({"x"}, 0.05);
  h.Observe({"x"}, 0.1);  // le is inclusive
  h.Observe({"x"}, 0.3);
  h.Observe({"x"}, 7);
  EXPECT_EQ(h.Count({"x"}), 4u);
  EXPECT_DOUBLE_EQ(h.Sum({"x"}), 7.45);
  EXPECT_EQ(r.Render(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{route=\"x\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{route=\"x\",le=\"0.5\"} 3\n"
            "lat_seconds_bucket{route=\"x\",le=\"1\"} 3\n"
            "lat_seconds_bucket{route=\"x\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{route=\"x\"} 7.45\n"
            "lat_seconds_count{route=\"x\"} 4\n");
}

TEST(MetricsTest, HistogramWithoutLabelsAndDefaultBuckets) {
  Registry r;
  Histogram& h = r.AddHistogram("d_seconds", "D.", {});
  h.Observe({}, 0.002);
  std::string out = r.Render();
  EXPECT_TRUE(Contains(out, "d_seconds_bucket{le=\"0.001\"} 0\n")) << out;
  EXPECT_TRUE(Contains(out, "d_seconds_bucket{le=\"0.0025\"} 1\n")) << out;
  EXPECT_TRUE(Contains(out, "d_seconds_bucket{le=\"+Inf\"} 1\n")) << out;
  EXPECT_TRUE(Contains(out, "d_seconds_count 1\n")) << out;
}

TEST(MetricsTest, AddReturnsTheSameFamily) {
  Registry r;
  Counter& a = r.AddCounter("x_total", "X.", {"l"});
  Counter& b = r.AddCounter("x_total", "ignored", {"l"});
  EXPECT_EQ(&a, &b);
}

TEST(MetricsTest, ConflictingOrInvalidNamesAreDetached) {
  Registry r;
  r.AddCounter("x_total", "X.", {"l"}).Increment({"1"});
  Gauge& g = r.AddGauge("x_total", "other kind", {"l"});
  g.Set({"1"}, 5);
  Counter& other_labels = r.AddCounter("x_total", "X.", {"m"});
  other_labels.Increment({"2"});
  r.AddCounter("bad-name", "B.", {}).Increment({});
  r.AddHistogram("h", "H.", {"le"}).Observe({"1"}, 1);
  EXPECT_EQ(r.Render(),
            "# HELP x_total X.\n# TYPE x_total counter\nx_total{l=\"1\"} 1\n");
}

TEST(MetricsTest, SeriesBeyondTheCapFoldIntoOther) {
  Registry r(3);
  Counter& c = r.AddCounter("c_total", "C.", {"a", "b"});
  for (int i = 0; i < 10; ++i) c.Increment({std::to_string(i), "x"});
  EXPECT_EQ(c.Value({"0", "x"}), 1);
  EXPECT_EQ(c.Value({"2", "x"}), 1);
  EXPECT_EQ(c.Value({"3", "x"}), 0);
  EXPECT_EQ(c.Value({"other", "other"}), 7);
  c.Increment({"1", "x"});  // existing series keep counting
  EXPECT_EQ(c.Value({"1", "x"}), 2);
}

TEST(MetricsTest, ConcurrentIncrementsAreAllCounted) {
  Registry r;
  Counter& c = r.AddCounter("c_total", "C.", {"t"});
  Histogram& h = r.AddHistogram("h_seconds", "H.", {});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        c.Increment({"x"});
        h.Observe({}, 0.01);
        if (i % 100 == 0) (void)r.Render();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value({"x"}), 4000);
  EXPECT_EQ(h.Count({}), 4000u);
}

TEST(MetricsTest, DefaultRegistryIsShared) {
  EXPECT_EQ(&DefaultRegistry(), &DefaultRegistry());
}

}  // namespace
}  // namespace arca::metrics
