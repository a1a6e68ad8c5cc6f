#include "core/engine_counters.h"

namespace lsmd {

void EngineCounters::RecordCompaction(int output_level, uint64_t bytes_read, uint64_t bytes_written,
                                      uint64_t micros) {
  LevelCompactions& c = compactions[output_level];
  c.count.fetch_add(1, std::memory_order_relaxed);
  c.bytes_read.fetch_add(bytes_read, std::memory_order_relaxed);
  c.bytes_written.fetch_add(bytes_written, std::memory_order_relaxed);
  c.micros.fetch_add(micros, std::memory_order_relaxed);
}

void EngineCounters::Fill(DBStats* stats) const {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  stats->flushes = flushes.load(kRelaxed);
  stats->flush_failures = flush_failures.load(kRelaxed);
  stats->write_stalls = write_stalls.load(kRelaxed);
  stats->write_slowdowns = write_slowdowns.load(kRelaxed);
  stats->bloom_negatives = bloom_negatives.load(kRelaxed);
  stats->bloom_false_positives = bloom_false_positives.load(kRelaxed);
  stats->sstable_bytes_written = sstable_bytes.load(kRelaxed);

  stats->writes_stalled = writes_stalled.load(kRelaxed);
  stats->write_stall_micros = write_stall_micros.load(kRelaxed);
  stats->write_slowdown_micros = write_slowdown_micros.load(kRelaxed);
  stats->flush_micros = flush_micros.Read();
  stats->commit_group_writes = commit_group_writes.Read();
  stats->wal_sync_micros = wal_sync_micros.Read();
  stats->wal_syncs = stats->wal_sync_micros.count;

  // Removed first: every byte counted removed was counted written before,
  // so the difference never goes below zero.
  const uint64_t removed = wal_bytes_removed.load(kRelaxed);
  const uint64_t written = wal_bytes.load(kRelaxed);
  stats->wal_bytes_written = written;
  stats->live_data_bytes =
      (written > removed ? written - removed : 0) + manifest_bytes.load(kRelaxed);

  stats->compactions = stats->compaction_bytes_read = stats->compaction_bytes_written = 0;
  stats->compactions_by_level.clear();
  for (int level = 1; level < kNumLevels; ++level) {
    const LevelCompactions& c = compactions[level];
    DBStats::LevelCompactions out;
    out.level = level;
    out.count = c.count.load(kRelaxed);
    out.bytes_read = c.bytes_read.load(kRelaxed);
    out.bytes_written = c.bytes_written.load(kRelaxed);
    out.micros = c.micros.load(kRelaxed);
    stats->compactions += out.count;
    stats->compaction_bytes_read += out.bytes_read;
    stats->compaction_bytes_written += out.bytes_written;
    stats->compactions_by_level.push_back(out);
  }
}

}  // namespace lsmd
