#include "bench/loadgen/histogram.h"

#include <algorithm>
#include <bit>

namespace lsmd::loadgen {
namespace {

// Values below 128 get a bucket each; above, each power of two [2^m, 2^(m+1))
// is cut into 64 equal buckets.
constexpr int kSubBucketBits = 6;
constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;  // 64
constexpr uint64_t kLinearLimit = 2 * kSubBuckets;               // 128
constexpr size_t kBucketCount = (64 - kSubBucketBits) * kSubBuckets + 2 * kSubBuckets;

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBucketCount, 0) {}

size_t LatencyHistogram::BucketOf(uint64_t nanos) {
  if (nanos < kLinearLimit) return static_cast<size_t>(nanos);
  // shift >= 1 brings nanos into [64, 128); each shift owns 64 buckets.
  const int shift = std::bit_width(nanos) - 1 - kSubBucketBits;
  return static_cast<size_t>(shift) * kSubBuckets + static_cast<size_t>(nanos >> shift);
}

uint64_t LatencyHistogram::BucketUpperBound(size_t bucket) {
  if (bucket < kLinearLimit) return bucket;
  const int shift = static_cast<int>(bucket / kSubBuckets) - 1;
  const uint64_t mantissa = bucket - static_cast<uint64_t>(shift) * kSubBuckets;
  return ((mantissa + 1) << shift) - 1;
}

void LatencyHistogram::Record(uint64_t nanos) {
  ++counts_[BucketOf(nanos)];
  ++count_;
  max_ = std::max(max_, nanos);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

uint64_t LatencyHistogram::Percentile(double percent) const {
  if (count_ == 0) return 0;
  // The rank of the sample sought, 1-based: ceil(percent% of count).
  const double exact = percent / 100.0 * static_cast<double>(count_);
  uint64_t rank = static_cast<uint64_t>(exact);
  if (static_cast<double>(rank) < exact) ++rank;
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(BucketUpperBound(i), max_);
  }
  return max_;
}

}  // namespace lsmd::loadgen
