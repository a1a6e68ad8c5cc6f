// DB: the engine's facade. Everything a server needs: Open, Put, Delete, Get,
// Scan, Flush, LookupInSSTable, Stats, Close. It owns the commit thread (log
// append, group sync, MemTable insert) and the background strand (flushes and
// compactions).
//
// Thread safety: every method may be called from any thread. Callbacks of the
// *Async methods run on an engine thread and must not block for long.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/histogram.h"
#include "core/options.h"
#include "core/status.h"
#include "core/write_batch.h"

namespace lsmd {

struct FlushResult {
  bool wrote_file = false;  // false: the MemTable was empty, no file written
  std::string file_name;    // e.g. "L0_001.sst"
  int level = 0;
  uint64_t entries = 0;
  uint64_t bloom_bits = 0;
  uint64_t size_bytes = 0;
  std::string smallest_key;
  std::string largest_key;
};

struct SSTableLookupResult {
  bool found = false;
  std::string value;
  bool bloom_checked = false;
  int disk_reads = 0;
};

struct ScanResult {
  std::vector<std::pair<std::string, std::string>> entries;
  bool more = false;  // more keys remain in [start, end) past the limit
};

struct TableInfo {
  std::string name;
  int level = 0;
  uint64_t entries = 0;
  uint64_t size_bytes = 0;
  uint64_t bloom_bits = 0;
  std::string smallest_key;
  std::string largest_key;
};

struct LevelInfo {
  int level = 0;
  uint64_t files = 0;
  uint64_t bytes = 0;
};

struct CompactResult {
  std::vector<LevelInfo> levels;
  uint64_t duration_ms = 0;
};

struct DBStats {
  uint64_t memtable_bytes = 0;
  uint64_t memtable_entries = 0;
  uint64_t memtable_threshold_bytes = 0;
  uint64_t frozen_memtables = 0;
  uint64_t flushes = 0;
  uint64_t flush_failures = 0;
  uint64_t write_stalls = 0;           // writes that waited for a flush or compaction
  uint64_t write_slowdowns = 0;        // writes delayed because L0 is filling up
  uint64_t bloom_negatives = 0;        // table lookups the filter answered alone
  uint64_t bloom_false_positives = 0;  // filter said maybe, the table did not hold the key
  uint64_t wal_bytes_written = 0;
  uint64_t sstable_bytes_written = 0;
  uint64_t compactions = 0;
  uint64_t compaction_bytes_read = 0;
  uint64_t compaction_bytes_written = 0;
  std::vector<LevelInfo> levels;
  std::vector<TableInfo> tables;

  // For monitoring (a metrics scrape, INFO). Durations in microseconds.
  // Exact definitions: docs/COMPACTION.md, "Stats".
  bool writes_stalled = false;         // a writer is waiting in a stall right now
  uint64_t write_stall_micros = 0;     // time writers spent stalled, added as each stall ends
  uint64_t write_slowdown_micros = 0;  // time writers were delayed by slowdowns
  uint64_t wal_syncs = 0;              // fdatasyncs of a log (wal_sync_micros.count)
  // Estimated bytes compaction must still rewrite to bring every level
  // within its target; 0 when no compaction is due.
  uint64_t pending_compaction_bytes = 0;
  // Tables, logs and MANIFEST on disk (files being written not included).
  uint64_t live_data_bytes = 0;
  Histogram::Snapshot flush_micros;         // each successful flush's duration
  Histogram::Snapshot commit_group_writes;  // writes per commit group (sum: writes committed)
  Histogram::Snapshot wal_sync_micros;      // each log sync's duration
  // Compactions by output level, one entry for each of levels 1 .. 6; the
  // totals above (compactions, compaction_bytes_*) are their sums.
  struct LevelCompactions {
    int level = 0;
    uint64_t count = 0;
    uint64_t bytes_read = 0;
    uint64_t bytes_written = 0;
    uint64_t micros = 0;  // summed durations
  };
  std::vector<LevelCompactions> compactions_by_level;
};

class DB {
 public:
  using WriteCallback = std::function<void(Status)>;
  using FlushCallback = std::function<void(Result<FlushResult>)>;
  using CompactCallback = std::function<void(Result<CompactResult>)>;

  // Locks dir (Busy if another process holds it), loads the manifest, opens
  // every live SSTable, replays unflushed logs, removes leftover temp files.
  static Result<std::unique_ptr<DB>> Open(const Options& options, const std::string& dir);
  // Finishes queued writes and background work, then closes. See Close().
  ~DB();
  DB(const DB&) = delete;
  DB& operator=(const DB&) = delete;

  // Returns once the write is in the log (synced under SyncMode::kAlways)
  // and the MemTable. Concurrent writers share one sync (group commit).
  Status Put(std::string_view key, std::string_view value);
  Status Delete(std::string_view key);
  // The same, without blocking the caller. Under SyncMode::kAlways done runs
  // on whichever thread commits the write (the commit thread, or a
  // synchronous writer's thread that committed a group holding it). Under kNone, when no other
  // write is being committed and the write needs no wait (no stall, no slowdown), the caller's
  // thread commits it at once and done runs inline, before PutAsync returns; otherwise done runs on
  // the commit thread.
  void PutAsync(std::string_view key, std::string_view value, WriteCallback done);
  void DeleteAsync(std::string_view key, WriteCallback done);

  // Every put and delete of batch as one atomic write: one log record, so
  // after a crash all of it is there or none. InvalidArgument (nothing
  // written) if a key is empty or too long. Callbacks as for PutAsync.
  void WriteAsync(WriteBatch batch, WriteCallback done);

  // A read-modify-write, atomic against every other write: decide runs on
  // the committer after every write ordered before it is applied and before
  // any write ordered after it, and `read` (Get semantics) sees exactly that
  // state. decide fills *batch with the writes to make, or leaves it empty
  // to make none; a non-OK status from it fails the write with that status.
  // done runs once the writes are durable (as for PutAsync; under kAlways an
  // empty decision is answered without a sync). decide must be quick: every
  // writer waits while it runs.
  using ReadFn = std::function<Status(std::string_view key, std::string* value)>;
  using DecideFn = std::function<Status(const ReadFn& read, WriteBatch* batch)>;
  void ConditionalWriteAsync(DecideFn decide, WriteCallback done);

  // NotFound if the key is absent or deleted.
  Status Get(std::string_view key, std::string* value);

  // Keys in [start, end) in order, newest versions, no tombstones; an empty
  // end means no upper bound. At most limit entries.
  Status Scan(std::string_view start, std::string_view end, size_t limit, ScanResult* out);
  // The same walk without copying: visit(key, value) for each entry, in key
  // order. The views are valid only during the call (they point into the
  // MemTable or a table's mapped segment). *more as in ScanResult.
  using ScanVisitor = std::function<void(std::string_view key, std::string_view value)>;
  Status Scan(std::string_view start, std::string_view end, size_t limit, const ScanVisitor& visit,
              bool* more);
  // The same walk, stopped by the visitor: visit(key, value) returns false to
  // stop before that entry, which is then not counted as visited and sets
  // *more (it remains in the range). A caller that bounds what it takes by
  // bytes, not only by count, stops this way.
  using ScanWhileVisitor = std::function<bool(std::string_view key, std::string_view value)>;
  Status ScanWhile(std::string_view start, std::string_view end, size_t limit,
                   const ScanWhileVisitor& visit, bool* more);

  // Freezes the current MemTable and returns once its SSTable is durable and
  // recorded in the manifest (earlier frozen MemTables are flushed first).
  Result<FlushResult> Flush();
  void FlushAsync(FlushCallback done);

  // Merges every level down to the deepest one that holds data.
  Result<CompactResult> CompactAll();
  void CompactAllAsync(CompactCallback done);

  // The automatic flush threshold from now on (1 byte .. 1 GiB).
  Status SetMemTableThreshold(size_t bytes);

  // Looks the key up in one live SSTable only. NotFound if no live table has
  // that name (the message says so when compaction merged it away).
  Result<SSTableLookupResult> LookupInSSTable(std::string_view table_name, std::string_view key);

  DBStats GetStats();

  // The server is stopping: a running compaction is abandoned at its next
  // entry (its inputs stay, its partial outputs are removed) and no new one
  // starts, so a client waiting on CompactAll gets its error now rather than
  // holding the shutdown up. Reads, writes and flushes go on until Close.
  void BeginShutdown();

  // Stops taking writes, finishes queued writes, syncs the log, waits for
  // the running flush (a compaction is abandoned, as BeginShutdown). Later
  // calls fail with InvalidArgument("closed").
  Status Close();

  // Test hooks: hold background flushes and compactions (queued work waits)
  // until resumed. Writers keep going until the frozen queue is full.
  void TEST_PauseBackgroundWork();
  void TEST_ResumeBackgroundWork();
  // Holds compactions only; flushes go on, so L0 grows.
  void TEST_PauseCompaction();
  void TEST_ResumeCompaction();

  class Impl;

 private:
  explicit DB(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lsmd
