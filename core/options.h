// Options: every tunable of the engine, with the defaults a server starts with.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "core/env.h"

namespace lsmd {

enum class SyncMode {
  kAlways,  // a write is acknowledged only after fdatasync of its log record
  kNone,    // written to the OS at once, never synced: a power loss (not a
            // process crash) may lose the most recent writes
};

struct Options {
  Env* env = Env::Default();

  // A MemTable past this many accounted bytes is frozen and flushed.
  size_t memtable_bytes = 4 << 20;
  // Frozen MemTables allowed to wait for their flush; beyond that writers stall.
  int max_frozen_memtables = 2;
  // A writer stalled this long gets Busy instead of waiting on.
  std::chrono::milliseconds write_stall_timeout{10000};

  int bloom_bits_per_key = 10;
  int index_interval = 16;
  SyncMode sync = SyncMode::kAlways;

  // Delay before a failed background flush is tried again.
  std::chrono::milliseconds flush_retry_delay{1000};

  // Leveled compaction (docs/COMPACTION.md).
  int l0_compaction_trigger = 4;         // L0 files that start a compaction into L1
  int l0_slowdown_trigger = 8;           // L0 files at which each write is delayed 1 ms
  int l0_stop_trigger = 12;              // L0 files at which writes wait for compaction
  uint64_t target_file_bytes = 2 << 20;  // size of the files compaction writes
  uint64_t level1_max_bytes = 10 << 20;  // each deeper level holds 10 times more

  // Test hook: the background strand sleeps this long before writing each
  // flush's SSTable, so tests can observe writes served during a flush.
  std::chrono::milliseconds test_flush_delay{0};
};

}  // namespace lsmd
