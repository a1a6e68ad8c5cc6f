// The write path on the engine's side: what the committer does with a group
// (CommitGroup) or a freeze (CommitFreeze), and the MemTable switch. The
// queue, group formation and who commits are CommitPipeline's
// (commit_pipeline.h).
//
// A put: DB::Put -> CommitPipeline::Write -> (on the committer) CommitGroup:
// MakeRoomForWrite (maybe freezing the MemTable via SwitchMemTable), one
// log record for the whole group, one fdatasync under SyncMode::kAlways,
// MemTable inserts; then the pipeline answers every writer of the group. An
// async put under SyncMode::kNone takes a shorter road when nothing waits:
// CommitPipeline::WriteAsync -> CommitGroup on the caller's own thread,
// answered before it returns. A conditional write (ConditionalWriteAsync)
// takes the same roads but always commits in a group of its own, deciding
// its batch here, on the committer.
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "core/db_impl.h"
#include "core/filename.h"

namespace lsmd {
namespace {

// A threshold below kMemTableFloorBytes (the sample cases use 1024 bytes) is
// honoured, but such a small MemTable is switched at most once per
// Options::min_small_memtable_switch_interval (50 ms by default): otherwise
// a tiny threshold would make every write group create a log, sync the
// directory and queue a flush of its own. So size-triggered switches come at
// most 20 a second plus one per 64 KiB written, and a MemTable holds at most
// max(threshold, 64 KiB) plus one group before it is frozen.
constexpr size_t kMemTableFloorBytes = 64 << 10;

uint64_t Micros(std::chrono::steady_clock::duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

}  // namespace

Status DB::Impl::CommitGroup(std::span<PendingWrite* const> group, bool* would_wait) {
  ThreadRoleScope committer(&committer_);  // the pipeline calls in one at a time
  Status s;
  MemTable* mem;
  {
    MutexLock lock(&mu_);
    s = MakeRoomForWrite(/*forced=*/std::nullopt, would_wait);
    mem = mem_.get();
  }
  RetireOldLog();
  if (!s.ok() || (would_wait != nullptr && *would_wait)) return s;

  if (group.front()->decide) {
    // Alone in its group (CommitPipeline::TakeGroup), after every earlier
    // group was applied: what it reads is the state its writes follow.
    const DB::ReadFn read = [this](std::string_view key, std::string* value) {
      return Get(key, value);
    };
    s = group.front()->decide(read, &group.front()->batch);
    if (!s.ok()) return s;
  }
  if (group.size() == 1 && group.front()->batch.count() == 0) return Status::OK();

  // One record for the whole group: it is replayed all or nothing.
  WriteBatch merged;
  WriteBatch* batch = &group.front()->batch;
  if (group.size() > 1) {
    for (PendingWrite* w : group) merged.Append(w->batch);
    batch = &merged;
  }
  batch->SetSequence(last_sequence_ + 1);

  s = log_->AddRecord(batch->Contents());
  if (s.ok() && options_.sync == SyncMode::kAlways) s = SyncLog(log_.get());
  if (!s.ok()) {
    // The record may be half written: appending after it would turn a torn
    // tail into corruption in the middle of the log. Start a new log first.
    log_broken_ = true;
    spdlog::error("write-ahead log append failed, switching to a new log: {}", s.ToString());
    return s;
  }
  counters_.wal_bytes.fetch_add(log_->last_record_bytes(), std::memory_order_relaxed);
  log_bytes_ += log_->last_record_bytes();
  counters_.commit_group_writes.Observe(group.size());
  last_sequence_ += batch->count();
  return batch->Iterate([mem](uint64_t seq, ValueKind kind, std::string_view key,
                              std::string_view value) { mem->Add(seq, kind, key, value); });
}

void DB::Impl::CommitFreeze(PendingWrite* freeze) {
  ThreadRoleScope committer(&committer_);  // the pipeline calls in one at a time
  MutexLock lock(&mu_);
  retry_pending_ = false;  // an explicit flush retries a failed one now
  if (mem_->entries() == 0 && !log_broken_) {
    if (imm_.empty()) {
      lock.Unlock();
      freeze->flush_done(FlushResult{});  // nothing to flush: no file written
    } else {
      // Complete when the newest frozen MemTable (flushed last) is durable.
      imm_.back().ticket->waiters.push_back(std::move(freeze->flush_done));
      MaybeScheduleFlush();
    }
    return;
  }
  Status s = MakeRoomForWrite(freeze->flush_reason);
  if (s.ok() && !imm_.empty()) {
    imm_.back().ticket->waiters.push_back(std::move(freeze->flush_done));
    lock.Unlock();
    RetireOldLog();
    return;
  }
  lock.Unlock();
  RetireOldLog();
  if (s.ok()) {
    freeze->flush_done(FlushResult{});  // only a broken, empty log was replaced
  } else {
    freeze->flush_done(s);
  }
}

Status DB::Impl::MakeRoomForWrite(std::optional<FlushReason> forced, bool* would_wait) {
  Stall stall;
  Status s = WaitForRoom(forced, would_wait, &stall);
  if (stall.active) {
    const auto now = std::chrono::steady_clock::now();
    counters_.writes_stalled.store(false, std::memory_order_relaxed);
    counters_.write_stall_micros.fetch_add(Micros(now - stall.start), std::memory_order_relaxed);
    stall_log_.Ended(now, now - stall.start, s.ok() ? std::string() : s.ToString());
  }
  return s;
}

Status DB::Impl::WaitForRoom(std::optional<FlushReason> forced, bool* would_wait, Stall* stall) {
  bool allow_delay = !forced;
  const auto deadline = std::chrono::steady_clock::now() + options_.write_stall_timeout;
  while (true) {
    const int l0_files = current_->NumFiles(0);
    if (allow_delay && l0_files >= options_.l0_slowdown_trigger) {
      if (would_wait != nullptr) {
        *would_wait = true;
        return Status::OK();
      }
      // Give compaction a little room rather than hitting the hard stop later.
      counters_.write_slowdowns.fetch_add(1, std::memory_order_relaxed);
      const auto start = std::chrono::steady_clock::now();
      mu_.Unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      mu_.Lock();
      counters_.write_slowdown_micros.fetch_add(Micros(std::chrono::steady_clock::now() - start),
                                                std::memory_order_relaxed);
      allow_delay = false;
      continue;
    }
    const bool must_switch =
        forced || log_broken_ ||
        MemTableFull(mem_->ApproximateBytes(), std::chrono::steady_clock::now());
    if (!must_switch) return Status::OK();
    const bool frozen_full = static_cast<int>(imm_.size()) >= options_.max_frozen_memtables;
    // Every frozen MemTable becomes an L0 file, so counting them keeps L0
    // at or below the stop trigger even while their flushes are queued.
    const bool l0_full = l0_files + static_cast<int>(imm_.size()) >= options_.l0_stop_trigger;
    if (frozen_full || l0_full) {
      if (would_wait != nullptr) {
        *would_wait = true;
        return Status::OK();
      }
      // Shutting down: background work is winding down, so waiting for it
      // would only delay the exit. The write is refused, not lost.
      if (closing_) return Status::Busy("engine is shutting down");
      if (!stall->active) {
        stall->active = true;
        stall->start = std::chrono::steady_clock::now();
        counters_.write_stalls.fetch_add(1, std::memory_order_relaxed);
        counters_.writes_stalled.store(true, std::memory_order_relaxed);
        stall_log_.Started(stall->start,
                           std::to_string(imm_.size()) + " frozen MemTables waiting, " +
                               std::to_string(l0_files) + " L0 files; writes wait for " +
                               (frozen_full ? "a flush" : "compaction"));
        MaybeScheduleFlush();
        MaybeScheduleCompaction();
      }
      if (bg_cv_.WaitUntil(&mu_, deadline) == std::cv_status::timeout) {
        return Status::Busy("write stalled longer than " +
                            std::to_string(options_.write_stall_timeout.count()) +
                            " ms waiting for " + (frozen_full ? "a flush" : "compaction"));
      }
      continue;
    }
    if (!next_log_) {
      Status s = PrepareNextLog();
      if (!s.ok()) return s;
      continue;  // mu_ was released: look at the state again
    }
    return SwitchMemTable(forced        ? *forced
                          : log_broken_ ? FlushReason::kLogFailure
                                        : FlushReason::kMemTableFull);
  }
}

void DB::Impl::RetireOldLog() {
  if (retired_log_) {
    // Under kNone its records were never synced. Its MemTable is frozen and
    // may still be unflushed at a clean Close, which syncs only the current
    // log: a clean shutdown must lose nothing to a later power cut. One sync
    // per MemTable switch, off mu_.
    if (options_.sync == SyncMode::kNone) SyncLog(retired_log_.get());
    retired_log_->Close();
    retired_log_.reset();
  }
  if (retired_log_number_to_remove_ != 0) {
    env_->RemoveFile(dir_ + "/" + LogFileName(retired_log_number_to_remove_));
    counters_.wal_bytes_removed.fetch_add(retired_log_bytes_to_remove_, std::memory_order_relaxed);
    retired_log_number_to_remove_ = 0;
    retired_log_bytes_to_remove_ = 0;
  }
}

Status DB::Impl::SyncLog(WalWriter* log) {
  const auto start = std::chrono::steady_clock::now();
  Status s = log->Sync();
  counters_.wal_sync_micros.Observe(Micros(std::chrono::steady_clock::now() - start));
  return s;
}

bool DB::Impl::MemTableFull(size_t bytes, std::chrono::steady_clock::time_point now) const {
  if (bytes < memtable_threshold_) return false;
  return bytes >= kMemTableFloorBytes ||
         now - last_switch_ >= options_.min_small_memtable_switch_interval;
}

Status DB::Impl::PrepareNextLog() {
  const uint64_t number = next_log_number_++;
  mu_.Unlock();
  const std::string path = dir_ + "/" + LogFileName(number);
  auto file = env_->NewWritableFile(path);
  Status s = file.status();
  // Records synced into the new log are only durable once its name is:
  // under kAlways at every commit, under kNone at a clean Close (which syncs
  // the current log's bytes but not the directory).
  if (s.ok()) s = env_->SyncDir(dir_);
  if (s.ok()) {
    next_log_ = std::make_unique<WalWriter>(std::move(*file), number);
    next_log_file_number_ = number;
  } else if (file.ok()) {
    (*file)->Close();
    env_->RemoveFile(path);
  }
  mu_.Lock();
  return s;
}

Status DB::Impl::SwitchMemTable(FlushReason reason) {
  // Every record in the old log was already handed to the OS; it is closed
  // (and, if it holds nothing, removed) by RetireOldLog once mu_ is released.
  retired_log_ = std::move(log_);
  log_ = std::move(next_log_);
  if (mem_->entries() == 0) {
    // Only a broken log gets here with an empty MemTable: it holds nothing
    // acknowledged, so it can go at once.
    retired_log_number_to_remove_ = mem_log_number_;
    retired_log_bytes_to_remove_ = log_bytes_;
  } else {
    imm_.push_back(
        FrozenMemTable{mem_, mem_log_number_, log_bytes_, reason, std::make_shared<FlushTicket>()});
    mem_ = std::make_shared<MemTable>(memtable_threshold_);
  }
  log_bytes_ = 0;
  log_broken_ = false;
  mem_log_number_ = next_log_file_number_;
  last_switch_ = std::chrono::steady_clock::now();
  RebuildReadView();
  MaybeScheduleFlush();
  return Status::OK();
}

Status DB::Impl::SetMemTableThreshold(size_t bytes) {
  if (bytes == 0 || bytes > (size_t{1} << 30)) {
    return Status::InvalidArgument("memtable threshold must be from 1 byte to 1 GiB");
  }
  MutexLock lock(&mu_);
  memtable_threshold_ = bytes;
  return Status::OK();
}

}  // namespace lsmd
