// EngineCounters: what the engine counts for DBStats (the stats message,
// INFO, a metrics scrape). Written from any engine thread with relaxed
// atomics and lock-free Histograms only, so the commit path can afford them
// (no lock, no allocation); read by GetStats, which may be a few events
// behind the writers. Figures for people and dashboards, never for
// decisions.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "core/db.h"
#include "core/histogram.h"
#include "core/manifest.h"

namespace lsmd {

struct EngineCounters {
  std::atomic<uint64_t> flushes{0}, flush_failures{0};
  std::atomic<uint64_t> write_stalls{0}, write_slowdowns{0};
  std::atomic<uint64_t> write_stall_micros{0}, write_slowdown_micros{0};
  // Set by the committer for the length of a stall (only the committer
  // stalls, so one flag says whether any writer waits).
  std::atomic<bool> writes_stalled{false};
  std::atomic<uint64_t> bloom_negatives{0}, bloom_false_positives{0};
  std::atomic<uint64_t> sstable_bytes{0};
  // Log bytes appended by this run, and the part of them in logs since
  // removed: the difference is the logs on disk (every older log is
  // replayed and removed at Open).
  std::atomic<uint64_t> wal_bytes{0}, wal_bytes_removed{0};
  std::atomic<uint64_t> manifest_bytes{0};  // MANIFEST's size as last saved
  Histogram flush_micros{kBackgroundBucketsUs};
  Histogram commit_group_writes{kGroupSizeBuckets};
  Histogram wal_sync_micros{kLatencyBucketsUs};

  // Installed compactions by output level (index 1 .. kNumLevels - 1; 0 is
  // never an output). The totals in DBStats are their sums, so the two
  // always agree.
  struct LevelCompactions {
    std::atomic<uint64_t> count{0}, bytes_read{0}, bytes_written{0}, micros{0};
  };
  std::array<LevelCompactions, kNumLevels> compactions;

  void RecordCompaction(int output_level, uint64_t bytes_read, uint64_t bytes_written,
                        uint64_t micros);
  // Every figure above into *stats. live_data_bytes gets the logs' and the
  // manifest's share; the tables' share and pending_compaction_bytes need
  // the Version and are GetStats' to add.
  void Fill(DBStats* stats) const;
};

}  // namespace lsmd
