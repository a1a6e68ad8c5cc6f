#include "bench/loadgen/run_state.h"

#include <algorithm>

namespace lsmd::loadgen {

RunState::RunState(const LoadgenOptions& options, int connections)
    : total_requests_(options.requests),
      start_(Clock::now()),
      deadline_(start_ + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(options.duration_seconds))),
      live_connections_(connections) {}

int RunState::Claim(int want) {
  if (stopped()) return 0;
  if (total_requests_ == 0) return Clock::now() < deadline_ ? want : 0;
  const uint64_t before = claimed_.fetch_add(want, std::memory_order_relaxed);
  if (before >= total_requests_) return 0;
  return static_cast<int>(std::min<uint64_t>(want, total_requests_ - before));
}

void RunState::ConnectionDone() {
  if (live_connections_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    end_ns_.store(static_cast<int64_t>(NanosSinceStart(Clock::now())), std::memory_order_release);
    stopped_.store(true, std::memory_order_release);
  }
}

void RunState::Fail(const Status& status) {
  {
    std::lock_guard lock(mu_);
    if (first_error_.ok()) first_error_ = status;
  }
  stopped_.store(true, std::memory_order_release);
}

Status RunState::first_error() const {
  std::lock_guard lock(mu_);
  return first_error_;
}

uint64_t RunState::NanosSinceStart(Clock::time_point t) const {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t - start_).count());
}

Clock::time_point RunState::end() const {
  return start_ + std::chrono::nanoseconds(end_ns_.load(std::memory_order_acquire));
}

}  // namespace lsmd::loadgen
