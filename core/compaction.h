// Compaction: choosing which tables to merge (PickCompaction) and merging
// them into new tables one level down (CompactionJob). The DB runs both on
// its background strand (compaction_driver.cc) and installs the result.
//
// Leveled, as LevelDB: L0 tables overlap each other; from L1 down each level
// is a sorted run of non-overlapping tables of about target_file_bytes, and
// level n may hold level1_max_bytes * 10^(n-1) bytes. See docs/COMPACTION.md.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/options.h"
#include "core/version.h"

namespace lsmd {

// What made a compaction run, for its log line.
enum class CompactionReason {
  kL0Files,     // L0 held l0_compaction_trigger files or more
  kLevelBytes,  // a level held more than its budget (MaxBytesForLevel)
  kManual,      // DB::CompactAll
};
const char* CompactionReasonText(CompactionReason reason);

struct Compaction {
  CompactionReason reason = CompactionReason::kL0Files;
  int level = 0;         // the level being compacted (its tables are the newer inputs)
  int output_level = 1;  // where the merged tables go
  // Inputs in priority order, newest first: each L0 table alone, then sorted
  // runs. Every table listed is removed when the compaction is installed.
  std::vector<TableList> sources;
  bool full = false;  // a manual full compaction (every table)

  TableList AllInputs() const;
  uint64_t InputBytes() const;
};

// The byte budget of level n >= 1.
uint64_t MaxBytesForLevel(const Options& options, int level);

// The most urgent compaction, or nothing when every level is within budget.
// compact_pointers[n] is where the last compaction of level n stopped.
std::optional<Compaction> PickCompaction(const Version& version, const Options& options,
                                         const std::vector<std::string>& compact_pointers);

// Every table merged into the deepest level that holds data (at least L1).
std::optional<Compaction> PickFullCompaction(const Version& version);

// An estimate of the bytes compaction still has to read (and rewrite) to
// bring every level within its target, in the manner of RocksDB's
// estimated pending compaction bytes; the exact definition is in
// docs/COMPACTION.md (Stats). 0 exactly when PickCompaction picks nothing.
uint64_t EstimatePendingCompactionBytes(const Version& version, const Options& options);

// Merges a compaction's inputs into new tables at its output level.
class CompactionJob {
 public:
  // Allocates a file number for the next output (called on the strand).
  using NumberAllocator = std::function<uint64_t()>;
  CompactionJob(Env* env, std::string dir, const Options& options, const Version& version,
                const Compaction& compaction, NumberAllocator next_number,
                const std::atomic<bool>* shutting_down);

  // Streams the merge; memory is a few segments per input. On failure (or
  // shutdown) every output written so far is removed.
  Status Run();

  const std::vector<std::shared_ptr<TableHandle>>& outputs() const { return outputs_; }
  uint64_t bytes_written() const { return bytes_written_; }
  uint64_t tombstones_dropped() const { return tombstones_dropped_; }

 private:
  // True when no level below the output can hold an older version of key,
  // so a tombstone for it can be dropped.
  bool IsBottommostForKey(std::string_view key) const;
  void RemoveOutputs();

  Env* const env_;
  const std::string dir_;
  const Options& options_;
  const Version& version_;
  const Compaction& compaction_;
  NumberAllocator next_number_;
  const std::atomic<bool>* shutting_down_;
  std::vector<std::shared_ptr<TableHandle>> outputs_;
  uint64_t bytes_written_ = 0;
  uint64_t tombstones_dropped_ = 0;
};

}  // namespace lsmd
