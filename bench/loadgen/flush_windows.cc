#include "bench/loadgen/flush_windows.h"

#include <algorithm>

namespace lsmd::loadgen {

void FlushWindows::AddExplicitFlush(uint64_t sent_ns, uint64_t answered_ns) {
  std::lock_guard lock(mu_);
  windows_.emplace_back(sent_ns, answered_ns);
  ++explicit_flushes_;
  explicit_flush_ns_ += answered_ns - sent_ns;
}

void FlushWindows::AddStatsPoll(uint64_t answered_ns, const StatsSnapshot& snapshot) {
  std::lock_guard lock(mu_);
  polls_.emplace_back(answered_ns, snapshot);
}

void FlushWindows::Finish() {
  std::lock_guard lock(mu_);
  std::sort(polls_.begin(), polls_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 1; i < polls_.size(); ++i) {
    const StatsSnapshot& before = polls_[i - 1].second;
    const StatsSnapshot& after = polls_[i].second;
    if (before.frozen_memtables > 0 || after.frozen_memtables > 0 ||
        before.flushes != after.flushes) {
      windows_.emplace_back(polls_[i - 1].first, polls_[i].first);
    }
  }
  std::sort(windows_.begin(), windows_.end());
  std::vector<std::pair<uint64_t, uint64_t>> merged;
  for (const auto& w : windows_) {
    if (!merged.empty() && w.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, w.second);
    } else {
      merged.push_back(w);
    }
  }
  windows_ = std::move(merged);
}

bool FlushWindows::Contains(uint64_t ns) const {
  // The last window starting at or before ns.
  auto it = std::upper_bound(windows_.begin(), windows_.end(), ns,
                             [](uint64_t t, const auto& w) { return t < w.first; });
  if (it == windows_.begin()) return false;
  --it;
  return ns <= it->second;
}

uint64_t FlushWindows::polls_seeing_flush() const {
  uint64_t n = 0;
  for (const auto& poll : polls_) n += poll.second.frozen_memtables > 0 ? 1 : 0;
  return n;
}

uint64_t FlushWindows::flushes_seen() const {
  if (polls_.empty()) return 0;
  return polls_.back().second.flushes - polls_.front().second.flushes;
}

uint64_t FlushWindows::flushing_ns() const {
  uint64_t total = 0;
  for (const auto& w : windows_) total += w.second - w.first;
  return total;
}

}  // namespace lsmd::loadgen
