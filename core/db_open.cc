// Opening and closing a data directory.
//
// Open: lock the directory, load the manifest, remove leftovers (temporary
// files, tables no manifest lists, logs already flushed), open every live
// table (footers and checksums checked), replay the logs not yet flushed into
// a MemTable and write it out as an L0 table, then start a fresh log. After
// Open the directory holds exactly one log, so logs of different runs never
// have to be ordered against each other.
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <set>

#include "core/db_impl.h"
#include "core/filename.h"
#include "core/wal_reader.h"

namespace lsmd {

DB::Impl::Impl(const Options& options, std::string dir)
    : options_(options),
      env_(options.env),
      dir_(std::move(dir)),
      memtable_threshold_(options.memtable_bytes),
      flush_strand_(boost::asio::make_strand(flush_pool_.get_executor())),
      compaction_strand_(boost::asio::make_strand(compaction_pool_.get_executor())),
      retry_timer_(flush_strand_),
      sweep_timer_(compaction_strand_) {}

DB::Impl::~Impl() {
  Close();
  flush_pool_.join();
  compaction_pool_.join();
}

Status DB::Impl::RemoveLeftoverFiles(const std::vector<std::string>& names) {
  std::set<uint64_t> live;
  for (const FileMeta& t : manifest_.tables) live.insert(t.number);
  for (const std::string& name : names) {
    const ParsedFileName parsed = ParseFileName(name);
    bool remove = false;
    if (parsed.type == FileType::kTemp) {
      remove = true;  // a write cut short by a crash
    } else if (parsed.type == FileType::kTable) {
      // Output of a flush or compaction that crashed before its manifest update.
      remove = live.count(parsed.number) == 0;
      manifest_.next_table_number = std::max(manifest_.next_table_number, parsed.number + 1);
    } else if (parsed.type == FileType::kLog) {
      remove = parsed.number < manifest_.log_number;  // flushed before a crash
      next_log_number_ = std::max(next_log_number_, parsed.number + 1);
    }
    if (remove) {
      spdlog::info("open: removing leftover file {}", name);
      Status s = env_->RemoveFile(dir_ + "/" + name);
      if (!s.ok()) return s;
    }
  }
  return Status::OK();
}

Status DB::Impl::ReplayLogs(const std::vector<uint64_t>& log_numbers, MemTable* mem) {
  for (uint64_t number : log_numbers) {
    const std::string path = dir_ + "/" + LogFileName(number);
    auto size = env_->GetFileSize(path);
    if (!size.ok()) return size.status();
    auto file = env_->NewSequentialFile(path);
    if (!file.ok()) return file.status();
    WalReader reader(std::move(*file), path, *size);
    std::string record;
    uint64_t records = 0;
    while (true) {
      WalReader::Outcome outcome = reader.ReadRecord(&record);
      if (outcome == WalReader::Outcome::kRecord) {
        WriteBatch batch;
        Status s = WriteBatch::FromContents(record, &batch);
        if (!s.ok()) {
          return Status::Corruption(path + ": bad write batch in record ending at offset " +
                                    std::to_string(reader.good_bytes()) + ": " + s.message());
        }
        // The log's order is the truth: number the entries afresh rather
        // than trusting sequences from an earlier run.
        s = batch.Iterate(
            [&](uint64_t, ValueKind kind, std::string_view key, std::string_view value)
                REQUIRES(committer_) { mem->Add(++last_sequence_, kind, key, value); });
        if (!s.ok()) return s;
        ++records;
        continue;
      }
      if (outcome == WalReader::Outcome::kEof) break;
      if (outcome == WalReader::Outcome::kTornTail) {
        spdlog::warn("open: {} ends in a torn record ({}); truncating it at offset {}", path,
                     reader.status().message(), reader.good_bytes());
        Status s = env_->TruncateFile(path, reader.good_bytes());
        if (!s.ok()) return s;
        break;
      }
      return reader.status();  // corruption in the middle, or a read error
    }
    spdlog::info("open: replayed {} records from {}", records, path);
  }
  return Status::OK();
}

Status DB::Impl::Open() {
  // No other thread sees the engine before Open returns: mu_ is held across
  // the I/O below for the analysis' sake only, never contended, and this
  // thread is the committer until then (no write can reach the pipeline).
  MutexLock guard(&mu_);
  ThreadRoleScope committer(&committer_);
  Status s = env_->CreateDirIfMissing(dir_);
  if (!s.ok()) return s;
  auto lock = env_->LockFile(dir_ + "/" + kLockFileName);
  if (!lock.ok()) return lock.status();
  dir_lock_ = std::move(*lock);

  bool exists = false;
  s = LoadManifest(env_, dir_, &manifest_, &exists);
  if (!s.ok()) return s;
  std::vector<std::string> names;
  s = env_->GetChildren(dir_, &names);
  if (!s.ok()) return s;
  if (!exists) {
    for (const std::string& name : names) {
      if (ParseFileName(name).type == FileType::kTable) {
        return Status::Corruption(dir_ + ": SSTables present but MANIFEST is missing");
      }
    }
  }
  next_log_number_ = std::max<uint64_t>(manifest_.next_log_number, 1);
  s = RemoveLeftoverFiles(names);
  if (!s.ok()) return s;

  std::array<TableList, kNumLevels> levels;
  for (const FileMeta& meta : manifest_.tables) {
    auto table = OpenTable(meta);
    if (!table.ok()) return table.status();
    levels[meta.level].push_back(std::move(*table));
  }
  std::sort(levels[0].begin(), levels[0].end(),
            [](const auto& a, const auto& b) { return a->meta().number > b->meta().number; });
  for (int n = 1; n < kNumLevels; ++n) {
    std::sort(levels[n].begin(), levels[n].end(),
              [](const auto& a, const auto& b) { return a->meta().smallest < b->meta().smallest; });
  }
  current_ = std::make_shared<Version>(std::move(levels));

  std::vector<uint64_t> logs;
  for (const std::string& name : names) {
    const ParsedFileName parsed = ParseFileName(name);
    if (parsed.type == FileType::kLog && parsed.number >= manifest_.log_number) {
      logs.push_back(parsed.number);
    }
  }
  std::sort(logs.begin(), logs.end());
  auto recovered = std::make_shared<MemTable>(memtable_threshold_);
  s = ReplayLogs(logs, recovered.get());
  if (!s.ok()) return s;

  ManifestState next = manifest_;
  next.tables = current_->AllFiles();
  if (recovered->entries() > 0) {
    std::shared_ptr<TableHandle> table;
    const uint64_t number = manifest_.next_table_number++;
    next.next_table_number = manifest_.next_table_number;
    s = WriteLevel0Table(*recovered, number, &table);
    if (!s.ok()) return s;
    next.tables.push_back(table->meta());
    std::array<TableList, kNumLevels> with_table;
    for (int n = 0; n < kNumLevels; ++n) with_table[n] = current_->level(n);
    with_table[0].insert(with_table[0].begin(), table);
    current_ = std::make_shared<Version>(std::move(with_table));
    spdlog::info("open: recovered {} log entries into {}", recovered->entries(), table->name());
  }

  // A fresh log for the new MemTable; every older log is now in a table.
  mem_log_number_ = next_log_number_++;
  auto file = env_->NewWritableFile(dir_ + "/" + LogFileName(mem_log_number_));
  if (!file.ok()) return file.status();
  log_ = std::make_unique<WalWriter>(std::move(*file));
  next.log_number = mem_log_number_;
  next.next_log_number = next_log_number_;
  s = SaveManifest(env_, dir_, next);
  if (!s.ok()) return s;
  manifest_ = next;
  for (uint64_t number : logs) env_->RemoveFile(dir_ + "/" + LogFileName(number));

  mem_ = std::make_shared<MemTable>(memtable_threshold_);
  RebuildReadView();
  pipeline_.Start();
  boost::asio::post(flush_strand_, [] { pthread_setname_np(pthread_self(), "lsmd-flush"); });
  boost::asio::post(compaction_strand_,
                    [] { pthread_setname_np(pthread_self(), "lsmd-compact"); });
  MaybeScheduleCompaction();
  return Status::OK();
}

Status DB::Impl::Close() {
  {
    // Wakes a writer stalled on a full frozen queue (it gives up) and stops
    // new compactions and flush retries; queued flushes still run.
    MutexLock lock(&mu_);
    closing_ = true;
  }
  bg_cv_.SignalAll();
  // Refuses new writes, commits the queued ones (a stall now fails them
  // at once), stops the commit thread.
  if (!pipeline_.Close()) return Status::OK();  // closed already
  ThreadRoleScope committer(&committer_);       // no other committer from here on

  Status s;
  if (log_) {
    s = log_->Sync();  // under SyncMode::kNone too: a clean shutdown loses nothing
    Status c = log_->Close();
    if (s.ok()) s = c;
  }
  // Created ahead of a switch that never came: empty, replayed as such.
  if (next_log_) next_log_->Close();

  // Let the flush in progress (and queued ones) finish; stop compaction and
  // the retry timer. Frozen MemTables left unflushed are safe in their logs.
  shutting_down_.store(true);
  boost::asio::post(flush_strand_, [this] { retry_timer_.cancel(); });
  boost::asio::post(compaction_strand_, [this] { sweep_timer_.cancel(); });
  flush_pool_.join();
  compaction_pool_.join();

  std::vector<FlushCallback> flush_waiters;
  std::vector<CompactCallback> compact_waiters;
  TableList retired;
  {
    MutexLock lock(&mu_);
    for (FrozenMemTable& f : imm_) {
      for (auto& w : f.ticket->waiters) flush_waiters.push_back(std::move(w));
      f.ticket->waiters.clear();
    }
    compact_waiters.swap(compact_waiters_);
    retired.swap(obsolete_tables_);  // the background threads are gone: removed here
  }
  retired.clear();
  const Status closed = Status::IOError("engine closed before the work finished");
  for (auto& w : flush_waiters) w(closed);
  for (auto& w : compact_waiters) w(closed);
  dir_lock_.reset();
  return s;
}

}  // namespace lsmd
