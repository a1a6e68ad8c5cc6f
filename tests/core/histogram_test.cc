#include "core/histogram.h"

#include <doctest/doctest.h>

#include <array>
#include <thread>
#include <vector>

namespace lsmd {
namespace {

constexpr std::array<uint64_t, 3> kBounds{10, 100, 1000};

TEST_CASE("an observation lands in the first bucket whose bound is at or above it") {
  Histogram h(kBounds);
  for (uint64_t v : {0, 10, 11, 100, 101, 1000, 1001, 50000}) h.Observe(v);
  Histogram::Snapshot s = h.Read();
  CHECK(s.bounds == std::vector<uint64_t>{10, 100, 1000});
  CHECK(s.counts == std::vector<uint64_t>{2, 2, 2, 2});
  CHECK(s.count == 8);
  CHECK(s.sum == 0 + 10 + 11 + 100 + 101 + 1000 + 1001 + 50000);
}

TEST_CASE("quantiles are the upper bound of the bucket holding them") {
  Histogram h(kBounds);
  CHECK(h.Read().QuantileUpperBound(0.5) == 0);
  for (int i = 0; i < 98; ++i) h.Observe(5);
  h.Observe(50);
  h.Observe(5000);
  Histogram::Snapshot s = h.Read();
  CHECK(s.QuantileUpperBound(0.5) == 10);
  CHECK(s.QuantileUpperBound(0.99) == 100);
  CHECK(s.QuantileUpperBound(1.0) == UINT64_MAX);
}

TEST_CASE("concurrent observers lose no observation") {
  Histogram h(kLatencyBucketsUs);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (uint64_t i = 0; i < 100000; ++i) h.Observe(i % 2000 + static_cast<uint64_t>(t));
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(h.Read().count == 400000);
}

}  // namespace
}  // namespace lsmd
