// Histogram: a distribution of integer observations (microseconds, bytes,
// entries) in fixed buckets, recorded without a lock or an allocation, so
// the request path and the commit path can afford one per event. Readers
// (a metrics scrape, stats) take a Snapshot that may be a few observations
// behind the writers: figures for people and dashboards, not for decisions.
//
// The buckets are Prometheus's: bucket i counts observations <= bounds[i]
// (cumulative counts are computed by the reader), plus an implicit +Inf
// bucket. Bounds are fixed at construction.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace lsmd {

class Histogram {
 public:
  static constexpr size_t kMaxBounds = 31;

  struct Snapshot {
    std::vector<uint64_t> bounds;  // ascending upper bounds, +Inf not included
    std::vector<uint64_t> counts;  // per bucket, not cumulative: bounds.size() + 1 (the last is +Inf)
    uint64_t count = 0;            // sum of counts
    uint64_t sum = 0;              // sum of the observed values

    // The smallest bound at or above the q-th (0..1) observation: an upper
    // estimate, as a Prometheus histogram_quantile of one bucket's width.
    // 0 when empty; UINT64_MAX when it falls in the +Inf bucket.
    uint64_t QuantileUpperBound(double q) const;
  };

  // bounds: ascending, at most kMaxBounds (extra ones are ignored).
  explicit Histogram(std::span<const uint64_t> bounds) {
    for (uint64_t b : bounds) {
      if (num_bounds_ == kMaxBounds) break;
      bounds_[num_bounds_++] = b;
    }
  }
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(uint64_t value) {
    const uint64_t* begin = bounds_.data();
    const size_t bucket =
        static_cast<size_t>(std::lower_bound(begin, begin + num_bounds_, value) - begin);
    counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }

  Snapshot Read() const {
    Snapshot s;
    s.bounds.assign(bounds_.begin(), bounds_.begin() + num_bounds_);
    s.counts.resize(num_bounds_ + 1);
    for (size_t i = 0; i <= num_bounds_; ++i) {
      s.counts[i] = counts_[i].load(std::memory_order_relaxed);
      s.count += s.counts[i];
    }
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  std::array<uint64_t, kMaxBounds> bounds_{};
  size_t num_bounds_ = 0;
  std::array<std::atomic<uint64_t>, kMaxBounds + 1> counts_{};
  std::atomic<uint64_t> sum_{0};
};

inline uint64_t Histogram::Snapshot::QuantileUpperBound(double q) const {
  if (count == 0) return 0;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(count);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (static_cast<double>(seen) >= rank && seen > 0) {
      return i < bounds.size() ? bounds[i] : UINT64_MAX;
    }
  }
  return UINT64_MAX;
}

// Bucket bounds shared by the engine and the server, in microseconds: 10 us
// to 10 s, about three per decade (a disk sync is 0.1 .. 20 ms here).
inline constexpr std::array<uint64_t, 19> kLatencyBucketsUs{
    10,     25,     50,      100,     250,     500,       1'000,     2'500,     5'000,     10'000,
    25'000, 50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};
// Long background work (flushes, compactions), in microseconds: 1 ms to 10 min.
inline constexpr std::array<uint64_t, 16> kBackgroundBucketsUs{
    1'000,     5'000,     10'000,     50'000,     100'000,    250'000,     500'000,     1'000'000,
    2'500'000, 5'000'000, 10'000'000, 30'000'000, 60'000'000, 120'000'000, 300'000'000, 600'000'000};
// Writes per commit group (one log record and at most one sync each).
inline constexpr std::array<uint64_t, 11> kGroupSizeBuckets{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

}  // namespace lsmd
