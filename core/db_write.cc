// The write path: commit queue, group commit, MemTable switch.
//
// A put: DB::Put -> Write -> Enqueue -> CommitLoop (this thread, if no
// committer is active) -> CommitWrites: MakeRoomForWrite (maybe
// FreezeMemTable via SwitchMemTable), one log record for the whole group,
// one fdatasync under SyncMode::kAlways, MemTable inserts, then every writer
// of the group is answered. An async put under SyncMode::kNone takes a
// shorter road when nothing waits: WriteAsync -> TryCommitInline ->
// CommitWrites on the caller's own thread, answered before it returns. A
// conditional write (ConditionalWriteAsync) takes the same roads but always
// commits in a group of its own, deciding its batch on the committer.
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "core/db_impl.h"
#include "core/filename.h"

namespace lsmd {
namespace {

// A group stops growing here, so one huge write does not delay small ones
// behind it for long and a group's record stays bounded.
constexpr size_t kMaxGroupBytes = 1 << 20;

// A threshold below kMemTableFloorBytes (the sample cases use 1024 bytes) is
// honoured, but such a small MemTable is switched at most once per
// kMinSwitchInterval: otherwise a tiny threshold would make every write
// group create a log, sync the directory and queue a flush of its own. So
// size-triggered switches come at most 20 a second plus one per 64 KiB
// written, and a MemTable holds at most max(threshold, 64 KiB) plus one
// group before it is frozen.
constexpr size_t kMemTableFloorBytes = 64 << 10;
constexpr auto kMinSwitchInterval = std::chrono::milliseconds(50);

}  // namespace

Status DB::Impl::Write(WriteBatch batch) {
  PendingWrite w;
  w.batch = std::move(batch);
  MutexLock lock(&write_mu_);
  if (writes_closed_) return Status::InvalidArgument("engine is closed");
  write_queue_.push_back(&w);
  // Wait until our write is done or nobody is committing; in the latter case
  // this thread commits (its own write and whatever queued behind it).
  while (!w.finished && committing_) write_cv_.Wait(&write_mu_);
  if (w.finished) return w.status;
  committing_ = true;
  lock.Unlock();
  CommitLoop(&w);
  lock.Lock();
  ReleaseCommitterRole();
  return w.status;
}

void DB::Impl::ReleaseCommitterRole() {
  committing_ = false;
  if (!write_queue_.empty()) {
    write_cv_.SignalAll();
    commit_cv_.Signal();
  } else if (stop_commit_thread_) {
    commit_cv_.Signal();  // Close() waits for the last committer to finish
  }
}

bool DB::Impl::TryCommitInline(PendingWrite* w) {
  {
    MutexLock lock(&write_mu_);
    // Queued writes were accepted first: committing past them would reorder.
    if (writes_closed_ || committing_ || !write_queue_.empty()) return false;
    committing_ = true;
  }

  bool would_wait = false;
  Status s;
  {
    // Given back on every way out: were a bad_alloc to escape the commit
    // with the role still taken, every later write would queue forever.
    struct GiveBackRole {
      DB::Impl* impl;
      ~GiveBackRole() {
        MutexLock guard(&impl->write_mu_);
        impl->ReleaseCommitterRole();
      }
    } give_back{this};
    PendingWrite* const group[] = {w};
    s = CommitWrites(group, &would_wait);
  }
  if (would_wait) return false;  // nothing was written (nor decided): queue it instead
  w->write_done(s);
  return true;
}

void DB::Impl::Enqueue(PendingWrite* w) {
  MutexLock lock(&write_mu_);
  if (writes_closed_) {
    lock.Unlock();
    Status closed = Status::InvalidArgument("engine is closed");
    if (w->kind == PendingWrite::Kind::kFreeze) {
      w->flush_done(closed);
    } else {
      w->write_done(closed);
    }
    delete w;
    return;
  }
  write_queue_.push_back(w);
  if (!committing_) commit_cv_.Signal();
}

void DB::Impl::WriteAsync(WriteBatch batch, WriteCallback done) {
  if (options_.sync == SyncMode::kNone) {
    // On the stack: the inline road (the common one) allocates nothing more.
    PendingWrite local;
    local.batch = std::move(batch);
    local.write_done = std::move(done);
    if (TryCommitInline(&local)) return;
    Enqueue(new PendingWrite(std::move(local)));
    return;
  }
  auto* w = new PendingWrite;
  w->batch = std::move(batch);
  w->write_done = std::move(done);
  Enqueue(w);
}

void DB::Impl::ConditionalWriteAsync(DecideFn decide, WriteCallback done) {
  auto w = std::make_unique<PendingWrite>();
  w->decide = std::move(decide);
  w->write_done = std::move(done);
  if (options_.sync == SyncMode::kNone && TryCommitInline(w.get())) return;
  Enqueue(w.release());
}

void DB::Impl::FlushAsync(FlushCallback done) {
  auto* w = new PendingWrite;
  w->kind = PendingWrite::Kind::kFreeze;
  w->flush_done = std::move(done);
  Enqueue(w);
}

void DB::Impl::CommitThreadMain() {
  MutexLock lock(&write_mu_);
  while (true) {
    // Until nobody commits, and there is work or the engine is closing.
    while (committing_ || (write_queue_.empty() && !stop_commit_thread_)) {
      commit_cv_.Wait(&write_mu_);
    }
    if (write_queue_.empty() && stop_commit_thread_) return;
    committing_ = true;
    lock.Unlock();
    CommitLoop(nullptr);
    lock.Lock();
    committing_ = false;
    write_cv_.SignalAll();
  }
}

void DB::Impl::CommitLoop(PendingWrite* mine) {
  std::vector<PendingWrite*> group;
  while (true) {
    group.clear();
    {
      MutexLock lock(&write_mu_);
      if (write_queue_.empty() || (mine != nullptr && mine->finished)) return;
      PendingWrite* first = write_queue_.front();
      write_queue_.pop_front();
      group.push_back(first);
      // A conditional write commits alone: it must read every write before
      // it applied, and decide before any write after it.
      if (first->kind == PendingWrite::Kind::kWrite && !first->decide) {
        size_t bytes = first->batch.ByteSize();
        while (!write_queue_.empty()) {
          PendingWrite* next = write_queue_.front();
          if (next->kind != PendingWrite::Kind::kWrite || next->decide) break;
          if (bytes + next->batch.ByteSize() > kMaxGroupBytes) break;
          bytes += next->batch.ByteSize();
          group.push_back(next);
          write_queue_.pop_front();
        }
      }
    }

    if (group.front()->kind == PendingWrite::Kind::kFreeze) {
      CommitFreeze(group.front());
      delete group.front();
      continue;
    }

    Status s = CommitWrites(group);
    std::vector<PendingWrite*> async_done;
    {
      MutexLock lock(&write_mu_);
      for (PendingWrite* w : group) {
        w->status = s;
        w->finished = true;
        if (w->write_done) async_done.push_back(w);
      }
    }
    write_cv_.SignalAll();
    for (PendingWrite* w : async_done) {
      w->write_done(s);
      delete w;
    }
  }
}

Status DB::Impl::CommitWrites(std::span<PendingWrite* const> group, bool* would_wait) {
  Status s;
  MemTable* mem;
  {
    MutexLock lock(&mu_);
    s = MakeRoomForWrite(/*force=*/false, would_wait);
    mem = mem_.get();
  }
  RetireOldLog();
  if (!s.ok() || (would_wait != nullptr && *would_wait)) return s;

  if (group.front()->decide) {
    // Alone in its group (CommitLoop), after every earlier group was applied:
    // what it reads is the state its writes follow.
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
  if (s.ok() && options_.sync == SyncMode::kAlways) s = log_->Sync();
  if (!s.ok()) {
    // The record may be half written: appending after it would turn a torn
    // tail into corruption in the middle of the log. Start a new log first.
    log_broken_ = true;
    spdlog::error("write-ahead log append failed, switching to a new log: {}", s.ToString());
    return s;
  }
  wal_bytes_.fetch_add(batch->ByteSize() + kWalHeaderSize, std::memory_order_relaxed);
  last_sequence_ += batch->count();
  return batch->Iterate([mem](uint64_t seq, ValueKind kind, std::string_view key,
                              std::string_view value) { mem->Add(seq, kind, key, value); });
}

void DB::Impl::CommitFreeze(PendingWrite* freeze) {
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
  Status s = MakeRoomForWrite(/*force=*/true);
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

Status DB::Impl::MakeRoomForWrite(bool force, bool* would_wait) {
  bool allow_delay = !force;
  bool counted_stall = false;
  const auto deadline = std::chrono::steady_clock::now() + options_.write_stall_timeout;
  while (true) {
    const int l0_files = current_->NumFiles(0);
    if (allow_delay && l0_files >= options_.l0_slowdown_trigger) {
      if (would_wait != nullptr) {
        *would_wait = true;
        return Status::OK();
      }
      // Give compaction a little room rather than hitting the hard stop later.
      write_slowdowns_.fetch_add(1, std::memory_order_relaxed);
      mu_.Unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      mu_.Lock();
      allow_delay = false;
      continue;
    }
    const bool must_switch =
        force || log_broken_ ||
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
      if (!counted_stall) {
        counted_stall = true;
        write_stalls_.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("write stall: {} frozen MemTables waiting, {} L0 files", imm_.size(),
                     l0_files);
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
    return SwitchMemTable();
  }
}

void DB::Impl::RetireOldLog() {
  if (retired_log_) {
    retired_log_->Close();
    retired_log_.reset();
  }
  if (retired_log_number_to_remove_ != 0) {
    env_->RemoveFile(dir_ + "/" + LogFileName(retired_log_number_to_remove_));
    retired_log_number_to_remove_ = 0;
  }
}

bool DB::Impl::MemTableFull(size_t bytes, std::chrono::steady_clock::time_point now) const {
  if (bytes < memtable_threshold_) return false;
  return bytes >= kMemTableFloorBytes || now - last_switch_ >= kMinSwitchInterval;
}

Status DB::Impl::PrepareNextLog() {
  const uint64_t number = next_log_number_++;
  mu_.Unlock();
  const std::string path = dir_ + "/" + LogFileName(number);
  auto file = env_->NewWritableFile(path);
  Status s = file.status();
  if (s.ok() && options_.sync == SyncMode::kAlways) {
    // Records synced into the new log are only durable once its name is.
    s = env_->SyncDir(dir_);
  }
  if (s.ok()) {
    next_log_ = std::make_unique<WalWriter>(std::move(*file));
    next_log_file_number_ = number;
  } else if (file.ok()) {
    (*file)->Close();
    env_->RemoveFile(path);
  }
  mu_.Lock();
  return s;
}

Status DB::Impl::SwitchMemTable() {
  // Every record in the old log was already handed to the OS; it is closed
  // (and, if it holds nothing, removed) by RetireOldLog once mu_ is released.
  retired_log_ = std::move(log_);
  log_ = std::move(next_log_);
  if (mem_->entries() == 0) {
    // Only a broken log gets here with an empty MemTable: it holds nothing
    // acknowledged, so it can go at once.
    retired_log_number_to_remove_ = mem_log_number_;
  } else {
    imm_.push_back(FrozenMemTable{mem_, mem_log_number_, std::make_shared<FlushTicket>()});
    mem_ = std::make_shared<MemTable>(memtable_threshold_);
  }
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
