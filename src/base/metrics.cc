// arca: metrics registry and its Prometheus text rendering.
#include "base/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include <spdlog/spdlog.h>

namespace arca::metrics {

namespace {

const std::string kOther = "other";

bool ValidMetricName(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool ValidLabelName(std::string_view n) {
  if (n.empty() || n.find(':') != std::string_view::npos) return false;
  return ValidMetricName(n) && n.substr(0, 2) != "__";
}

// The series for `labels`, created if there is room, else the overflow
// series whose values are all "other". nullptr when the arity is wrong.
template <typename Map>
typename Map::mapped_type* Slot(Map& series, const LabelValues& labels, std::size_t label_count,
                                std::size_t max_series) {
  if (labels.size() != label_count) return nullptr;
  auto it = series.find(labels);
  if (it != series.end()) return &it->second;
  if (series.size() < max_series) return &series[labels];
  return &series[LabelValues(label_count, kOther)];
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
    return std::to_string(static_cast<int64_t>(v));
  }
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, p);
}

std::string EscapeLabelValue(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="x",b="y"}`, with an optional extra pair (le) last; "" when empty.
std::string LabelSet(const std::vector<std::string>& names, const LabelValues& values,
                     std::string_view extra_name = {}, std::string_view extra_value = {}) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + EscapeLabelValue(values[i]) + "\"";
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += std::string(extra_name) + "=\"" + std::string(extra_value) + "\"";
  }
  if (!out.empty()) out += "}";
  return out;
}

void Header(std::string& out, const std::string& name, const std::string& help,
            std::string_view type) {
  out += "# HELP " + name + " " + EscapeHelp(help) + "\n";
  out += "# TYPE " + name + " " + std::string(type) + "\n";
}

}  // namespace

std::vector<double> DefaultLatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

void Counter::Increment(const LabelValues& labels, double by) {
  if (!(by >= 0)) return;
  std::lock_guard lock(mu_);
  if (double* v = Slot(series_, labels, label_count_, max_series_)) *v += by;
}

double Counter::Value(const LabelValues& labels) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0 : it->second;
}

void Gauge::Set(const LabelValues& labels, double value) {
  std::lock_guard lock(mu_);
  if (double* v = Slot(series_, labels, label_count_, max_series_)) *v = value;
}

void Gauge::Add(const LabelValues& labels, double delta) {
  std::lock_guard lock(mu_);
  if (double* v = Slot(series_, labels, label_count_, max_series_)) *v += delta;
}

double Gauge::Value(const LabelValues& labels) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0 : it->second;
}

void Histogram::Observe(const LabelValues& labels, double value) {
  if (std::isnan(value)) return;
  std::lock_guard lock(mu_);
  Series* s = Slot(series_, labels, label_count_, max_series_);
  if (s == nullptr) return;
  if (s->buckets.empty()) s->buckets.assign(bounds_.size(), 0);
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);  // first bound >= value
  if (it != bounds_.end()) ++s->buckets[static_cast<std::size_t>(it - bounds_.begin())];
  ++s->count;
  s->sum += value;
}

uint64_t Histogram::Count(const LabelValues& labels) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0 : it->second.count;
}

double Histogram::Sum(const LabelValues& labels) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0 : it->second.sum;
}

Registry::Family* Registry::FindOrAdd(const std::string& name, Kind kind, std::string help,
                                      std::vector<std::string> label_names, bool* conflict) {
  *conflict = false;
  bool valid = ValidMetricName(name);
  for (const auto& l : label_names) {
    if (!ValidLabelName(l) || (kind == Kind::kHistogram && l == "le")) valid = false;
  }
  if (valid) {
    auto it = families_.find(name);
    if (it == families_.end()) {
      Family& f = families_[name];
      f.kind = kind;
      f.help = std::move(help);
      f.label_names = std::move(label_names);
      return &f;
    }
    if (it->second.kind == kind && it->second.label_names == label_names) return &it->second;
    spdlog::error("metrics: {} is already registered with another type or labels", name);
  } else {
    spdlog::error("metrics: invalid metric or label name for {}", name);
  }
  *conflict = true;
  detached_.push_back(std::make_unique<Family>());
  Family* f = detached_.back().get();
  f->kind = kind;
  f->label_names = std::move(label_names);
  return f;
}

Counter& Registry::AddCounter(std::string name, std::string help,
                              std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  bool conflict = false;
  Family* f = FindOrAdd(name, Kind::kCounter, std::move(help), std::move(label_names), &conflict);
  if (!f->counter) f->counter = std::make_unique<Counter>(f->label_names.size(), max_series_);
  return *f->counter;
}

Gauge& Registry::AddGauge(std::string name, std::string help,
                          std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  bool conflict = false;
  Family* f = FindOrAdd(name, Kind::kGauge, std::move(help), std::move(label_names), &conflict);
  if (!f->gauge) f->gauge = std::make_unique<Gauge>(f->label_names.size(), max_series_);
  return *f->gauge;
}

Histogram& Registry::AddHistogram(std::string name, std::string help,
                                  std::vector<std::string> label_names,
                                  std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  bool conflict = false;
  Family* f =
      FindOrAdd(name, Kind::kHistogram, std::move(help), std::move(label_names), &conflict);
  if (!f->histogram) {
    if (bounds.empty()) bounds = DefaultLatencyBuckets();
    bounds.erase(std::remove_if(bounds.begin(), bounds.end(),
                                [](double b) { return std::isnan(b) || std::isinf(b); }),
                 bounds.end());
    std::sort(bounds.begin(), bounds.end());
    bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
    f->histogram =
        std::make_unique<Histogram>(f->label_names.size(), max_series_, std::move(bounds));
  }
  return *f->histogram;
}

void Registry::AddGaugeFunction(std::string name, std::string help, std::function<double()> fn) {
  std::lock_guard lock(mu_);
  bool conflict = false;
  Family* f = FindOrAdd(name, Kind::kGaugeFunction, std::move(help), {}, &conflict);
  if (!conflict) f->fn = std::move(fn);
}

std::string Registry::Render() const {
  struct Item {
    const std::string* name;
    const Family* family;
    std::function<double()> fn;
  };
  std::vector<Item> items;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, f] : families_) items.push_back({&name, &f, f.fn});
  }
  // Family nodes are never erased, so the pointers stay valid without mu_;
  // gauge functions run outside mu_ so they may take their own locks.
  std::string out;
  for (const Item& it : items) {
    const std::string& name = *it.name;
    const Family& f = *it.family;
    switch (f.kind) {
      case Kind::kCounter: {
        Header(out, name, f.help, "counter");
        std::lock_guard lock(f.counter->mu_);
        for (const auto& [labels, v] : f.counter->series_) {
          out += name + LabelSet(f.label_names, labels) + " " + FormatValue(v) + "\n";
        }
        break;
      }
      case Kind::kGauge: {
        Header(out, name, f.help, "gauge");
        std::lock_guard lock(f.gauge->mu_);
        for (const auto& [labels, v] : f.gauge->series_) {
          out += name + LabelSet(f.label_names, labels) + " " + FormatValue(v) + "\n";
        }
        break;
      }
      case Kind::kGaugeFunction: {
        if (!it.fn) break;
        Header(out, name, f.help, "gauge");
        out += name + " " + FormatValue(it.fn()) + "\n";
        break;
      }
      case Kind::kHistogram: {
        Header(out, name, f.help, "histogram");
        const Histogram& h = *f.histogram;
        std::lock_guard lock(h.mu_);
        for (const auto& [labels, s] : h.series_) {
          uint64_t cumulative = 0;
          for (std::size_t i = 0; i < h.bounds_.size(); ++i) {
            cumulative += i < s.buckets.size() ? s.buckets[i] : 0;
            out += name + "_bucket" +
                   LabelSet(f.label_names, labels, "le", FormatValue(h.bounds_[i])) + " " +
                   std::to_string(cumulative) + "\n";
          }
          out += name + "_bucket" + LabelSet(f.label_names, labels, "le", "+Inf") + " " +
                 std::to_string(s.count) + "\n";
          out += name + "_sum" + LabelSet(f.label_names, labels) + " " + FormatValue(s.sum) +
                 "\n";
          out += name + "_count" + LabelSet(f.label_names, labels) + " " +
                 std::to_string(s.count) + "\n";
        }
        break;
      }
    }
  }
  return out;
}

Registry& DefaultRegistry() {
  static Registry* registry = new Registry();  // never destroyed: used until exit
  return *registry;
}

}  // namespace arca::metrics
