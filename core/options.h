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

// What Open does with a damaged write-ahead log (docs/RELIABILITY.md), after
// RocksDB's WALRecoveryMode. "Torn tail" and "corruption" are the reader's
// verdicts (wal_reader.h): damage with no complete record after it, and
// damage with one.
enum class WalRecoveryMode {
  kDefault,  // resolved at Open: kTolerateCorruptedTail under SyncMode::kAlways,
             // kPointInTime under SyncMode::kNone
  // A torn tail is cut off (a crash's unfinished write: never acknowledged
  // under kAlways); corruption fails Open naming the file and offset.
  kTolerateCorruptedTail,
  // Replay stops at the first damage of any kind, or at a log whose records
  // do not continue the sequence where replay stands: everything before is
  // kept, the rest of that log and the later logs are dropped with a
  // warning. The store is as it was at one moment, possibly an older one.
  // Under kNone a power loss can damage any unsynced page, so this is the
  // mode that still opens.
  kPointInTime,
  // Any damage fails Open, a torn tail included.
  kAbsolute,
};

// kDefault resolved against the sync mode; the others unchanged.
inline WalRecoveryMode EffectiveWalRecovery(WalRecoveryMode mode, SyncMode sync) {
  if (mode != WalRecoveryMode::kDefault) return mode;
  return sync == SyncMode::kAlways ? WalRecoveryMode::kTolerateCorruptedTail
                                   : WalRecoveryMode::kPointInTime;
}

// The --wal-recovery names; "default" for kDefault.
inline const char* WalRecoveryModeName(WalRecoveryMode mode) {
  switch (mode) {
    case WalRecoveryMode::kTolerateCorruptedTail:
      return "tolerate-tail";
    case WalRecoveryMode::kPointInTime:
      return "point-in-time";
    case WalRecoveryMode::kAbsolute:
      return "absolute";
    case WalRecoveryMode::kDefault:
      break;
  }
  return "default";
}

struct Options {
  Env* env = Env::Default();

  // A MemTable past this many accounted bytes is frozen and flushed.
  size_t memtable_bytes = 4 << 20;
  // A MemTable under 64 KiB is switched at most once per this interval
  // (core/db_write.cc), so a tiny memtable_bytes cannot make every write
  // group create a log. Zero turns the limit off: switches then depend on
  // bytes alone, which tests that count sync points need.
  std::chrono::milliseconds min_small_memtable_switch_interval{50};
  // Frozen MemTables allowed to wait for their flush; beyond that writers stall.
  int max_frozen_memtables = 2;
  // A writer stalled this long gets Busy instead of waiting on.
  std::chrono::milliseconds write_stall_timeout{10000};

  int bloom_bits_per_key = 10;
  int index_interval = 16;
  SyncMode sync = SyncMode::kAlways;
  WalRecoveryMode wal_recovery = WalRecoveryMode::kDefault;

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
