// DB::Impl: the engine's state and the threads that own it.
//
// Threads and what they own:
// - The committer: whichever thread holds CommitPipeline's committer role
//   (commit_pipeline.h: a synchronous writer, the commit thread, or an async
//   writer on the inline road under SyncMode::kNone). Exactly one at a time;
//   the pipeline calls CommitGroup and CommitFreeze only from it, and they
//   hold committer_, the role as a capability the analysis checks. It alone
//   appends to log_, inserts into mem_ and switches MemTables, so the
//   skiplist has one writer.
// - The flush strand (flush_strand_): writes frozen MemTables to L0 tables,
//   oldest first, one at a time.
// - The compaction strand (compaction_strand_): compactions, one at a time,
//   and the removal of tables no Version lists any more. A flush never waits
//   behind a compaction: the two strands run on two threads, and
//   only their manifest saves are serialized (manifest_mu_).
// - Readers (any thread): take a ReadView under mu_, then read without locks.
//   A reader never drops the last reference to a table (obsolete_tables_
//   holds one), so no unlink or munmap ever runs on a request thread.
//
// Lock order: the pipeline's mutex (the commit queue's) and manifest_mu_
// are each taken before mu_, never while holding it; those two are never
// held together. The pipeline calls CommitGroup and CommitFreeze with its
// mutex released. Checked by the thread safety analysis where one class
// holds both locks (manifest_mu_ ACQUIRED_BEFORE mu_); the pipeline's
// mutex is another object's, so that half of the rule is this comment.
#pragma once

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/commit_pipeline.h"
#include "core/db.h"
#include "core/engine_counters.h"
#include "core/flush_reason.h"
#include "core/manifest.h"
#include "core/memtable.h"
#include "core/mutex.h"
#include "core/version.h"
#include "core/wal_writer.h"
#include "core/write_batch.h"
#include "core/write_stall_log.h"

namespace lsmd {

// Everything a Get or Scan reads, as of one moment. Immutable once built.
struct ReadView {
  std::shared_ptr<MemTable> mem;
  std::vector<std::shared_ptr<MemTable>> frozen;  // newest first
  std::shared_ptr<const Version> version;
};

// Callers waiting for one frozen MemTable's flush.
struct FlushTicket {
  // Guarded by DB::Impl::mu_ (another object's mutex: not expressible as an
  // annotation).
  std::vector<DB::FlushCallback> waiters;
};

struct FrozenMemTable {
  std::shared_ptr<MemTable> mem;
  uint64_t log_number = 0;
  uint64_t log_bytes = 0;  // what EngineCounters::wal_bytes counted of its log
  FlushReason reason = FlushReason::kMemTableFull;
  std::shared_ptr<FlushTicket> ticket;
};

class DB::Impl final : private GroupCommitter {
 public:
  Impl(const Options& options, std::string dir);
  ~Impl();

  // db_open.cc
  Status Open() EXCLUDES(mu_, manifest_mu_);
  Status Close() EXCLUDES(mu_, manifest_mu_);

  // The commit path is CommitPipeline's (commit_pipeline.h).
  Status Write(WriteBatch batch) EXCLUDES(mu_) { return pipeline_.Write(std::move(batch)); }
  void WriteAsync(WriteBatch batch, WriteCallback done) EXCLUDES(mu_) {
    pipeline_.WriteAsync(std::move(batch), std::move(done));
  }
  void ConditionalWriteAsync(DecideFn decide, WriteCallback done) EXCLUDES(mu_) {
    pipeline_.ConditionalWriteAsync(std::move(decide), std::move(done));
  }
  void FlushAsync(FlushCallback done, FlushReason reason = FlushReason::kExplicit) EXCLUDES(mu_) {
    pipeline_.FlushAsync(std::move(done), reason);
  }

  // db_write.cc
  Status SetMemTableThreshold(size_t bytes) EXCLUDES(mu_);

  // db_read.cc
  Status Get(std::string_view key, std::string* value) EXCLUDES(mu_);
  Status Scan(std::string_view start, std::string_view end, size_t limit,
              const DB::ScanWhileVisitor& visit, bool* more) EXCLUDES(mu_);
  Result<SSTableLookupResult> LookupInSSTable(std::string_view name, std::string_view key)
      EXCLUDES(mu_);
  DBStats GetStats() EXCLUDES(mu_);

  // compaction_driver.cc
  void CompactAllAsync(CompactCallback done) EXCLUDES(mu_);
  void BeginShutdown() EXCLUDES(mu_);

  void PauseBackgroundWork() EXCLUDES(mu_);
  void ResumeBackgroundWork() EXCLUDES(mu_);
  void PauseCompaction() EXCLUDES(mu_);
  void ResumeCompaction() EXCLUDES(mu_);

 private:
  // --- the committer's work (db_write.cc) ---
  // GroupCommitter, called by the pipeline's committer: one call at a time.
  // CommitGroup: MakeRoomForWrite, decide (a conditional write), one log
  // record and (kAlways) one sync, the MemTable inserts. With would_wait
  // given, returns at once, committing nothing and setting *would_wait,
  // where MakeRoomForWrite would have to sleep.
  Status CommitGroup(std::span<PendingWrite* const> group, bool* would_wait) override EXCLUDES(mu_);
  // Freezes the MemTable; answers once its flush is durable.
  void CommitFreeze(PendingWrite* freeze) override EXCLUDES(mu_);
  // Waits out stalls, freezes a full MemTable, releasing mu_ while it
  // sleeps or creates the next log. forced: freeze even if below the
  // threshold, for that reason (an explicit flush). With would_wait given,
  // never sleeps: sets *would_wait and returns instead.
  Status MakeRoomForWrite(std::optional<FlushReason> forced, bool* would_wait = nullptr)
      REQUIRES(mu_, committer_);
  // MakeRoomForWrite's loop; a stall it enters is left in *stall for
  // MakeRoomForWrite to end, whichever way the loop returns.
  struct Stall {
    bool active = false;
    std::chrono::steady_clock::time_point start;
  };
  Status WaitForRoom(std::optional<FlushReason> forced, bool* would_wait, Stall* stall)
      REQUIRES(mu_, committer_);
  // next_log_ prepared. Starts a new log and MemTable, freezing the old one
  // for this reason.
  Status SwitchMemTable(FlushReason reason) REQUIRES(mu_, committer_);
  // fdatasync of a log, timed for the stats.
  Status SyncLog(WalWriter* log);
  // Creates the next log file (and, under kAlways, syncs the directory)
  // with mu_ released, so readers never wait for that I/O. Leaves it in
  // next_log_ for SwitchMemTable.
  Status PrepareNextLog() REQUIRES(mu_, committer_);
  // Closes the log SwitchMemTable replaced.
  void RetireOldLog() REQUIRES(committer_) EXCLUDES(mu_);
  // Whether a MemTable of this size must be frozen now: past the threshold,
  // and (for a tiny threshold) not too soon after the last switch; see
  // kMemTableFloorBytes in db_write.cc.
  bool MemTableFull(size_t bytes, std::chrono::steady_clock::time_point now) const REQUIRES(mu_);

  // --- background work (db_flush.cc, compaction_driver.cc) ---
  void MaybeScheduleFlush() REQUIRES(mu_);
  void MaybeScheduleCompaction() REQUIRES(mu_);
  // Hands tables a new manifest no longer lists to the compaction strand,
  // which removes each once no reader holds it.
  void RetireTables(const TableList& tables) REQUIRES(mu_);
  void MaybeScheduleSweep() REQUIRES(mu_);
  // On the compaction strand: releases retired tables nobody else holds.
  void SweepObsoleteTables() EXCLUDES(mu_);
  void BackgroundFlush() EXCLUDES(mu_, manifest_mu_);
  void BackgroundCompaction() EXCLUDES(mu_, manifest_mu_);
  // Writes mem to a new SSTable at `level`; on success *table is open and durable.
  Status WriteLevel0Table(const MemTable& mem, uint64_t number,
                          std::shared_ptr<TableHandle>* table);
  // A flush's one log line.
  static void LogFlush(std::string_view trigger, const MemTable& mem, const TableHandle& table,
                       std::chrono::steady_clock::duration took);
  // Publishes a new ReadView from mem_, imm_, current_.
  void RebuildReadView() REQUIRES(mu_);
  // The manifest state to save: manifest_ with the current log counters
  // filled in.
  ManifestState ManifestSnapshot() const REQUIRES(mu_);
  std::shared_ptr<const ReadView> GetReadView() EXCLUDES(mu_);
  // Opens an SSTable this engine wrote.
  Result<std::shared_ptr<TableHandle>> OpenTable(const FileMeta& meta);

  // --- recovery (db_open.cc) ---
  Status RemoveLeftoverFiles(const std::vector<std::string>& names) REQUIRES(mu_);
  // Replays the named logs (oldest first) under options_.wal_recovery into
  // L0 tables, appended to *tables in the order written (oldest first).
  Status ReplayLogs(const std::vector<std::string>& log_names,
                    std::vector<std::shared_ptr<TableHandle>>* tables) REQUIRES(mu_, committer_);

  friend class CompactionJobRunner;

  const Options options_;
  Env* const env_;
  const std::string dir_;
  std::unique_ptr<FileLock> dir_lock_;

  // Counters for Stats: relaxed atomics and Histograms, written from any
  // thread without a lock.
  EngineCounters counters_;

  // Serializes manifest saves: a flush and a compaction each build their new
  // manifest from the state under it and install it before letting go, so
  // neither can save a manifest that forgets the other's change.
  Mutex manifest_mu_ ACQUIRED_BEFORE(mu_);

  // Guards the engine's shared state below. Never held across file I/O.
  Mutex mu_;
  // Signaled when a flush or compaction finishes or fails (stalled writers).
  CondVar bg_cv_;
  std::shared_ptr<MemTable> mem_ GUARDED_BY(mu_);  // inserted into by the committer
  uint64_t mem_log_number_ GUARDED_BY(mu_) = 0;
  std::deque<FrozenMemTable> imm_ GUARDED_BY(mu_);  // oldest first
  std::shared_ptr<const Version> current_ GUARDED_BY(mu_);
  std::shared_ptr<const ReadView> view_ GUARDED_BY(mu_);
  ManifestState manifest_ GUARDED_BY(mu_);  // written on the strand
  uint64_t next_log_number_ GUARDED_BY(mu_) = 1;
  size_t memtable_threshold_ GUARDED_BY(mu_);
  bool flush_scheduled_ GUARDED_BY(mu_) = false;
  bool compaction_scheduled_ GUARDED_BY(mu_) = false;
  bool compaction_running_ GUARDED_BY(mu_) = false;
  bool retry_pending_ GUARDED_BY(mu_) = false;
  bool paused_ GUARDED_BY(mu_) = false;
  bool compaction_paused_ GUARDED_BY(mu_) = false;
  bool closing_ GUARDED_BY(mu_) = false;
  std::vector<CompactCallback> compact_waiters_ GUARDED_BY(mu_);
  bool manual_compaction_ GUARDED_BY(mu_) = false;
  TableList obsolete_tables_ GUARDED_BY(mu_);
  bool sweep_scheduled_ GUARDED_BY(mu_) = false;
  // When the MemTable was last switched (for the tiny-threshold rate limit).
  std::chrono::steady_clock::time_point last_switch_ GUARDED_BY(mu_);

  // The committer role, as a capability: no lock stands behind it. The
  // pipeline makes one CommitGroup or CommitFreeze call at a time, and
  // each takes the role for its length (a ThreadRoleScope), as do Open
  // (no committer yet) and Close (none any more, the pipeline closed). So
  // the analysis checks that only the committer touches the state below;
  // that one thread at a time calls in is the pipeline's promise, asserted
  // in debug builds.
  ThreadRole committer_;
  std::unique_ptr<WalWriter> log_ GUARDED_BY(committer_);
  // The log the next MemTable will use, created ahead of the switch.
  std::unique_ptr<WalWriter> next_log_ GUARDED_BY(committer_);
  uint64_t next_log_file_number_ GUARDED_BY(committer_) = 0;
  // The log SwitchMemTable replaced, closed by RetireOldLog outside mu_.
  std::unique_ptr<WalWriter> retired_log_ GUARDED_BY(committer_);
  // A broken log holding nothing, and what wal_bytes counted of it.
  uint64_t retired_log_number_to_remove_ GUARDED_BY(committer_) = 0;
  uint64_t retired_log_bytes_to_remove_ GUARDED_BY(committer_) = 0;
  // What wal_bytes counted of log_ (appends that succeeded).
  uint64_t log_bytes_ GUARDED_BY(committer_) = 0;
  WriteStallLog stall_log_ GUARDED_BY(committer_);
  // An append failed: never append to this log again.
  bool log_broken_ GUARDED_BY(committer_) = false;
  uint64_t last_sequence_ GUARDED_BY(committer_) = 0;

  // The commit queue and the committer role: calls CommitGroup and
  // CommitFreeze. Declared after everything those use.
  CommitPipeline pipeline_{this, /*allow_inline=*/options_.sync == SyncMode::kNone};

  // Two background threads, each a strand of its own: flushes on one,
  // compactions and table removal on the other.
  boost::asio::thread_pool flush_pool_{1};
  boost::asio::thread_pool compaction_pool_{1};
  boost::asio::strand<boost::asio::thread_pool::executor_type> flush_strand_;
  boost::asio::strand<boost::asio::thread_pool::executor_type> compaction_strand_;
  boost::asio::steady_timer retry_timer_;   // used on flush_strand_ only
  boost::asio::steady_timer sweep_timer_;   // used on compaction_strand_ only
  std::atomic<bool> shutting_down_{false};  // set by BeginShutdown or Close: compaction stops
};

}  // namespace lsmd
