// LatencyHistogram: log-linear buckets over nanoseconds (64 sub-buckets per
// power of two, so a percentile is within 1.6% of the true value), cheap to
// record into and to merge. Not thread-safe: one per connection, merged at
// the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lsmd::loadgen {

class LatencyHistogram {
 public:
  LatencyHistogram();

  void Record(uint64_t nanos);
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  // The value at or below which `percent` of the samples lie (the upper
  // bound of that sample's bucket, never above max()). 0 when empty.
  uint64_t Percentile(double percent) const;

 private:
  static size_t BucketOf(uint64_t nanos);
  static uint64_t BucketUpperBound(size_t bucket);

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

}  // namespace lsmd::loadgen
