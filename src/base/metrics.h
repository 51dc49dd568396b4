// arca: a small metrics registry rendered as Prometheus text exposition.
//
// A Registry holds metric families (counters, gauges, histograms), each with
// a fixed list of label names; a series is one combination of label values.
// Families are created once (Add* returns the existing family for a name
// already registered with the same kind and label names) and live as long as
// the registry, so callers keep the returned reference. Every method is safe
// for concurrent use.
//
// Cardinality is bounded: a family holds at most `max_series` distinct label
// sets; values for further sets are folded into one series whose label values
// are all "other". Callers still must not use unbounded values (full paths,
// token IDs) as labels.
//
// Render() produces the text format 0.0.4: `# HELP`, `# TYPE`, one line per
// series, and for histograms `_bucket{le="..."}` (cumulative, ending with
// "+Inf"), `_sum` and `_count`. Families are sorted by name, series by label
// values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace arca::metrics {

using LabelValues = std::vector<std::string>;

inline constexpr std::size_t kDefaultMaxSeries = 200;

// Default histogram buckets for request latencies, in seconds.
std::vector<double> DefaultLatencyBuckets();

class Counter {
 public:
  // Adds `by` (must be >= 0; negative values are ignored) to the series.
  // `labels` must have one value per label name, else the call is ignored.
  void Increment(const LabelValues& labels, double by = 1);
  double Value(const LabelValues& labels) const;  // 0 for an unknown series

  // Created by Registry::AddCounter.
  Counter(std::size_t label_count, std::size_t max_series)
      : label_count_(label_count), max_series_(max_series) {}

 private:
  friend class Registry;
  mutable std::mutex mu_;
  std::size_t label_count_;
  std::size_t max_series_;
  std::map<LabelValues, double> series_;
};

class Gauge {
 public:
  void Set(const LabelValues& labels, double value);
  void Add(const LabelValues& labels, double delta);
  double Value(const LabelValues& labels) const;

  // Created by Registry::AddGauge.
  Gauge(std::size_t label_count, std::size_t max_series)
      : label_count_(label_count), max_series_(max_series) {}

 private:
  friend class Registry;
  mutable std::mutex mu_;
  std::size_t label_count_;
  std::size_t max_series_;
  std::map<LabelValues, double> series_;
};

class Histogram {
 public:
  void Observe(const LabelValues& labels, double value);
  // Number of observations and their sum for a series (0 if unknown).
  uint64_t Count(const LabelValues& labels) const;
  double Sum(const LabelValues& labels) const;

  // Created by Registry::AddHistogram.
  Histogram(std::size_t label_count, std::size_t max_series, std::vector<double> bounds)
      : label_count_(label_count), max_series_(max_series), bounds_(std::move(bounds)) {}

 private:
  friend class Registry;
  struct Series {
    std::vector<uint64_t> buckets;  // per bucket, not cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::size_t label_count_;
  std::size_t max_series_;
  std::vector<double> bounds_;  // sorted upper bounds, without +Inf
  std::map<LabelValues, Series> series_;
};

class Registry {
 public:
  explicit Registry(std::size_t max_series = kDefaultMaxSeries) : max_series_(max_series) {}
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
  // [a-zA-Z_][a-zA-Z0-9_]* (not "le" for histograms). On an invalid name, or
  // a name already used with another kind or other label names, the error is
  // logged and a detached family (never rendered) is returned, so callers
  // need no error path.
  Counter& AddCounter(std::string name, std::string help, std::vector<std::string> label_names);
  Gauge& AddGauge(std::string name, std::string help, std::vector<std::string> label_names);
  // `bounds` are the bucket upper bounds (sorted and deduplicated here);
  // empty means DefaultLatencyBuckets().
  Histogram& AddHistogram(std::string name, std::string help,
                          std::vector<std::string> label_names, std::vector<double> bounds = {});
  // A label-less gauge whose value is read from `fn` at render time (e.g.
  // the seal state). `fn` must be safe to call from any thread and must not
  // call back into this registry. Re-registering a name replaces `fn`.
  void AddGaugeFunction(std::string name, std::string help, std::function<double()> fn);

  std::string Render() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram, kGaugeFunction };
  struct Family {
    Kind kind;
    std::string help;
    std::vector<std::string> label_names;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> fn;
  };
  Family* FindOrAdd(const std::string& name, Kind kind, std::string help,
                    std::vector<std::string> label_names, bool* conflict);

  std::size_t max_series_;
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  std::vector<std::unique_ptr<Family>> detached_;
};

// The process-wide registry: the HTTP layer records into it, core adds its
// gauges and renders it for sys/metrics. Never destroyed.
Registry& DefaultRegistry();

}  // namespace arca::metrics
