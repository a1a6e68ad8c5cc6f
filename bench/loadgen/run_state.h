// RunState: what every coroutine of one loadgen run shares -- the request
// budget, live counters for the progress line, and the first error. Plain
// atomics, so the connections may run on several threads; first_error_ is
// guarded by mu_.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include "bench/loadgen/histogram.h"
#include "bench/loadgen/options.h"
#include "core/status.h"

namespace lsmd::loadgen {

using Clock = std::chrono::steady_clock;

// One put's reply time (ns since the run started) and latency, kept when put
// latencies are split by flush windows.
struct PutSample {
  uint64_t answered_ns;
  uint64_t latency_ns;
};

// What one load connection measured; merged by main once all are done.
struct ConnectionReport {
  std::array<LatencyHistogram, kOpTypes> latency;
  std::vector<PutSample> put_samples;
};

class RunState {
 public:
  RunState(const LoadgenOptions& options, int connections);

  // How many of up to `want` requests a connection may send now; 0 when the
  // run is over (budget spent, time up, or an error).
  int Claim(int want);
  void ConnectionDone();

  // Keeps the first failure and stops the run.
  void Fail(const Status& status);
  Status first_error() const;
  bool stopped() const { return stopped_.load(std::memory_order_acquire); }

  uint64_t NanosSinceStart(Clock::time_point t) const;
  Clock::time_point start() const { return start_; }
  Clock::time_point end() const;

  void CountReply(OpType op, uint64_t put_bytes) {
    done_[static_cast<int>(op)].fetch_add(1, std::memory_order_relaxed);
    if (put_bytes > 0) put_bytes_.fetch_add(put_bytes, std::memory_order_relaxed);
  }
  uint64_t done(OpType op) const {
    return done_[static_cast<int>(op)].load(std::memory_order_relaxed);
  }
  uint64_t put_bytes() const { return put_bytes_.load(std::memory_order_relaxed); }

 private:
  const uint64_t total_requests_;  // 0: run until the deadline
  const Clock::time_point start_;
  const Clock::time_point deadline_;
  std::atomic<uint64_t> claimed_{0};
  std::atomic<int> live_connections_;
  std::atomic<bool> stopped_{false};
  std::atomic<int64_t> end_ns_{0};
  std::array<std::atomic<uint64_t>, kOpTypes> done_{};
  std::atomic<uint64_t> put_bytes_{0};
  mutable std::mutex mu_;
  Status first_error_;  // GUARDED_BY(mu_)
};

}  // namespace lsmd::loadgen
