// FlushWindows: when the server was flushing during a run, and the split of
// put latencies into "answered while a flush ran" and "while none ran".
//
// Two sources, both on side connections so they never delay the load:
//  - explicit flushes: the window from sending sstable_flush to its reply;
//  - stats polls every few ms: the interval between two polls counts as
//    flushing when either poll saw frozen_memtables > 0 (a MemTable waits
//    for or is in its flush) or the flushes counter moved between them (a
//    flush began and ended in between). This over-approximates each flush
//    by up to one poll interval on each side, so "no flush" puts are ones
//    answered well clear of any flush.
// A put belongs to the flush side when its reply arrived inside a window.
//
// Thread safety: Add* may be called from any thread (mu_); Finish and the
// queries after every writer is done.
#pragma once

#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "bench/loadgen/wire.h"

namespace lsmd::loadgen {

class FlushWindows {
 public:
  // Times are nanoseconds since the run started.
  void AddExplicitFlush(uint64_t sent_ns, uint64_t answered_ns);
  void AddStatsPoll(uint64_t answered_ns, const StatsSnapshot& snapshot);

  // Merges the windows; call once, after the run.
  void Finish();
  bool Contains(uint64_t ns) const;

  uint64_t explicit_flushes() const { return explicit_flushes_; }
  uint64_t explicit_flush_ns() const { return explicit_flush_ns_; }
  uint64_t polls() const { return polls_.size(); }
  uint64_t polls_seeing_flush() const;
  uint64_t flushes_seen() const;  // the flushes counter's growth over the run
  uint64_t flushing_ns() const;   // total length of the merged windows

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<uint64_t, uint64_t>> windows_;     // GUARDED_BY(mu_) until Finish
  std::vector<std::pair<uint64_t, StatsSnapshot>> polls_;  // GUARDED_BY(mu_) until Finish
  uint64_t explicit_flushes_ = 0;                          // GUARDED_BY(mu_)
  uint64_t explicit_flush_ns_ = 0;                         // GUARDED_BY(mu_)
};

}  // namespace lsmd::loadgen
