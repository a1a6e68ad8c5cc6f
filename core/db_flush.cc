// The flush path, on the flush strand: take the oldest frozen MemTable,
// stream it into an SSTable (WriteLevel0Table), record the table in the
// manifest, install a new Version, then release the MemTable and its log.
// It runs on its own thread, so a long compaction never holds it up; the
// two meet only at manifest_mu_, for the length of one manifest save.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <thread>

#include "core/background_yield.h"
#include "core/db_impl.h"
#include "core/filename.h"
#include "core/sstable_reader.h"
#include "core/table_file.h"

namespace lsmd {

void DB::Impl::MaybeScheduleFlush() {
  if (flush_scheduled_ || imm_.empty() || paused_ || retry_pending_) return;
  flush_scheduled_ = true;
  boost::asio::post(flush_strand_, [this] { BackgroundFlush(); });
}

ManifestState DB::Impl::ManifestSnapshot() const {
  ManifestState state = manifest_;
  state.next_log_number = next_log_number_;
  state.tables = current_->AllFiles();
  return state;
}

Result<std::shared_ptr<TableHandle>> DB::Impl::OpenTable(const FileMeta& meta) {
  auto reader = SSTableReader::Open(env_, dir_ + "/" + TableFileName(meta.level, meta.number));
  if (!reader.ok()) return reader.status();
  return std::make_shared<TableHandle>(env_, dir_, meta, std::move(*reader));
}

Status DB::Impl::WriteLevel0Table(const MemTable& mem, uint64_t number,
                                  std::shared_ptr<TableHandle>* table) {
  auto writer = TableFileWriter::Create(env_, dir_, options_, /*level=*/0, number);
  if (!writer.ok()) return writer.status();
  auto it = mem.NewIterator();
  BackgroundYield yield;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    yield.Tick();
    Status s = (*writer)->Add(it->key(), it->kind(), it->value());
    if (!s.ok()) return s;
  }
  auto finished = (*writer)->Finish();
  if (!finished.ok()) return finished.status();
  *table = std::move(*finished);
  counters_.sstable_bytes.fetch_add((*table)->meta().size, std::memory_order_relaxed);
  return Status::OK();
}

void DB::Impl::LogFlush(std::string_view trigger, const MemTable& mem, const TableHandle& table,
                        std::chrono::steady_clock::duration took) {
  spdlog::info("flush ({}): {} entries, {} MemTable bytes -> {} ({} bytes) in {} ms", trigger,
               mem.entries(), mem.ApproximateBytes(), table.name(), table.meta().size,
               std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
}

void DB::Impl::BackgroundFlush() {
  MutexLock lock(&mu_);
  flush_scheduled_ = false;
  if (paused_ || imm_.empty()) return;
  FrozenMemTable frozen = imm_.front();
  const uint64_t number = manifest_.next_table_number++;
  lock.Unlock();

  if (options_.test_flush_delay.count() > 0) std::this_thread::sleep_for(options_.test_flush_delay);
  const auto start = std::chrono::steady_clock::now();
  std::shared_ptr<TableHandle> table;
  Status s = WriteLevel0Table(*frozen.mem, number, &table);

  if (s.ok()) {
    // Taken before mu_ (the lock order), held from the snapshot to the install.
    MutexLock manifest_lock(&manifest_mu_);
    lock.Lock();
    ManifestState next = ManifestSnapshot();
    next.tables.push_back(table->meta());
    // Logs from the next frozen MemTable on are still needed.
    next.log_number = imm_.size() > 1 ? imm_[1].log_number : mem_log_number_;
    lock.Unlock();
    uint64_t manifest_bytes = 0;
    s = SaveManifest(env_, dir_, next, &manifest_bytes);
    if (s.ok()) counters_.manifest_bytes.store(manifest_bytes, std::memory_order_relaxed);
    // If the new manifest may be in place despite the error, it lists this
    // table and has moved log_number past the frozen MemTable's log: the
    // table must stay, or the next Open would find neither.
    const bool keep_table = !s.ok() && ManifestMayList(env_, dir_, {table->meta().number});
    lock.Lock();
    if (s.ok()) {
      manifest_.log_number = next.log_number;
      std::array<TableList, kNumLevels> levels;
      for (int n = 0; n < kNumLevels; ++n) levels[n] = current_->level(n);
      levels[0].insert(levels[0].begin(), table);  // L0 is newest first
      current_ = std::make_shared<Version>(std::move(levels));
      imm_.pop_front();
      RebuildReadView();
    } else if (!keep_table) {
      table->MarkObsolete();  // in no manifest and never read: removed right here
    }
  } else {
    lock.Lock();
  }

  if (s.ok()) {
    const auto took = std::chrono::steady_clock::now() - start;
    counters_.flushes.fetch_add(1, std::memory_order_relaxed);
    counters_.flush_micros.Observe(
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(took).count()));
    FlushResult result;
    result.wrote_file = true;
    result.file_name = table->name();
    result.level = 0;
    result.entries = table->meta().entries;
    result.bloom_bits = table->meta().bloom_bits;
    result.size_bytes = table->meta().size;
    result.smallest_key = table->meta().smallest;
    result.largest_key = table->meta().largest;
    auto waiters = std::move(frozen.ticket->waiters);
    MaybeScheduleFlush();
    MaybeScheduleCompaction();
    lock.Unlock();
    bg_cv_.SignalAll();
    env_->RemoveFile(dir_ + "/" + LogFileName(frozen.log_number));
    counters_.wal_bytes_removed.fetch_add(frozen.log_bytes, std::memory_order_relaxed);
    LogFlush(FlushReasonText(frozen.reason), *frozen.mem, *table, took);
    for (auto& done : waiters) done(result);
    return;
  }

  // Keep every frozen MemTable and its log; tell everyone waiting on them
  // (they flush in order, so none can finish before this one) and retry.
  counters_.flush_failures.fetch_add(1, std::memory_order_relaxed);
  std::vector<FlushCallback> waiters;
  for (FrozenMemTable& f : imm_) {
    for (auto& w : f.ticket->waiters) waiters.push_back(std::move(w));
    f.ticket->waiters.clear();
  }
  const bool retry = !closing_;
  if (retry) retry_pending_ = true;
  lock.Unlock();
  bg_cv_.SignalAll();
  spdlog::error("flush ({}) of {} failed, keeping its MemTable and log{}: {}",
                FlushReasonText(frozen.reason), TableFileName(0, number),
                retry ? " and retrying" : "", s.ToString());
  for (auto& done : waiters) done(s);
  if (retry) {
    retry_timer_.expires_after(options_.flush_retry_delay);
    retry_timer_.async_wait([this](const boost::system::error_code&) {
      MutexLock guard(&mu_);
      retry_pending_ = false;
      if (!closing_) MaybeScheduleFlush();
    });
  }
}

void DB::Impl::RebuildReadView() {
  auto view = std::make_shared<ReadView>();
  view->mem = mem_;
  for (auto it = imm_.rbegin(); it != imm_.rend(); ++it) view->frozen.push_back(it->mem);
  view->version = current_;
  view_ = std::move(view);
}

std::shared_ptr<const ReadView> DB::Impl::GetReadView() {
  MutexLock lock(&mu_);
  return view_;
}

void DB::Impl::PauseBackgroundWork() {
  MutexLock lock(&mu_);
  paused_ = true;
}

void DB::Impl::PauseCompaction() {
  MutexLock lock(&mu_);
  compaction_paused_ = true;
}

void DB::Impl::ResumeCompaction() {
  MutexLock lock(&mu_);
  compaction_paused_ = false;
  MaybeScheduleCompaction();
}

void DB::Impl::ResumeBackgroundWork() {
  MutexLock lock(&mu_);
  paused_ = false;
  MaybeScheduleFlush();
  MaybeScheduleCompaction();
}

}  // namespace lsmd
