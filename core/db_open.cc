// Opening and closing a data directory.
//
// Open: lock the directory, load the manifest, remove leftovers (temporary
// files, tables no manifest lists, logs already flushed), open every live
// table (footers and checksums checked), replay the logs not yet flushed
// (either format, by the recovery mode) into MemTables, each written out as
// an L0 table when it fills, then start a fresh log. After Open the
// directory holds exactly one log, so logs of different runs never have to
// be ordered against each other.
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <optional>
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

Status DB::Impl::ReplayLogs(const std::vector<std::string>& log_names,
                            std::vector<std::shared_ptr<TableHandle>>* tables) {
  const WalRecoveryMode mode = EffectiveWalRecovery(options_.wal_recovery, options_.sync);
  // A full MemTable becomes a table at once, so replay holds one MemTable's
  // worth however long the logs are; at least 1 MiB, so a tiny threshold
  // does not make thousands of tables. Only Open's manifest lists them: a
  // crash before it leaves them as leftovers and the logs as they were.
  const size_t budget = std::max<size_t>(options_.memtable_bytes, size_t{1} << 20);
  auto mem = std::make_unique<MemTable>(budget);
  auto write_table = [&]() REQUIRES(mu_) -> Status {
    std::shared_ptr<TableHandle> table;
    const auto start = std::chrono::steady_clock::now();
    Status s = WriteLevel0Table(*mem, manifest_.next_table_number++, &table);
    if (!s.ok()) return s;
    LogFlush("log replay at open", *mem, *table, std::chrono::steady_clock::now() - start);
    tables->push_back(std::move(table));
    mem = std::make_unique<MemTable>(budget);
    return Status::OK();
  };

  // Point-in-time. The logs replayed here were all written by one run, whose
  // batch sequences run on from log to log (db_write.cc numbers each batch
  // after the last one appended). So a log that starts past next_sequence
  // lost acknowledged writes before it (e.g. a power loss took an earlier
  // log's tail), and after damage a later log is replayed only if it starts
  // exactly at next_sequence (the damage was an append that failed and was
  // never acknowledged; the engine went on in a new log), as in RocksDB.
  std::optional<uint64_t> next_sequence;
  bool stopped = false;
  for (const std::string& name : log_names) {
    const ParsedFileName parsed = ParseFileName(name);
    const std::string path = dir_ + "/" + name;
    auto size = env_->GetFileSize(path);
    if (!size.ok()) return size.status();
    auto file = env_->NewSequentialFile(path);
    if (!file.ok()) return file.status();
    auto reader =
        NewLogRecordReader(std::move(*file), path, *size, parsed.number, parsed.legacy_log);
    std::string record;
    uint64_t records = 0;
    uint64_t cut = 0;  // where the log is truncated, if it is
    Status damage;     // why it is, if it is
    while (true) {
      const uint64_t before = reader->good_bytes();
      const LogRecordReader::Outcome outcome = reader->ReadRecord(&record);
      if (outcome == LogRecordReader::Outcome::kEof) break;
      if (outcome == LogRecordReader::Outcome::kIOError) return reader->status();
      if (outcome != LogRecordReader::Outcome::kRecord) {
        const WalDamageAction action = ActionOnDamage(mode, outcome);
        if (action == WalDamageAction::kRefuse) return reader->status();
        cut = reader->good_bytes();
        damage = reader->status();
        if (action == WalDamageAction::kCutAndStop) stopped = true;
        break;
      }
      WriteBatch batch;
      Status s = WriteBatch::FromContents(record, &batch);
      if (!s.ok()) {
        // The checksum held, so this is not the disk's doing.
        s = Status::Corruption(path + ": bad write batch in the log record at offset " +
                               std::to_string(before) + ": " + s.message());
        if (mode != WalRecoveryMode::kPointInTime) return s;
        cut = before;
        damage = s;
        stopped = true;
        break;
      }
      if (mode == WalRecoveryMode::kPointInTime && records == 0 && (stopped || next_sequence)) {
        const bool continues = next_sequence && (stopped ? batch.sequence() == *next_sequence
                                                         : batch.sequence() <= *next_sequence);
        if (!continues) {
          spdlog::warn(
              "open: point-in-time recovery: ignoring {} ({} bytes): it does not continue the "
              "replayed writes (its first batch is sequence {}, replay stands at {})",
              path, *size, batch.sequence(), next_sequence.value_or(0));
          stopped = true;
          break;
        }
        if (stopped) spdlog::info("open: {} continues the replayed writes; replaying it", path);
        stopped = false;
      }
      s = batch.Iterate(
          [&](uint64_t, ValueKind kind, std::string_view key, std::string_view value)
              REQUIRES(committer_) {
            // The log's order is the truth: number the entries afresh rather
            // than trusting sequences from an earlier run.
            mem->Add(++last_sequence_, kind, key, value);
          });
      if (!s.ok()) return s;
      next_sequence = batch.sequence() + batch.count();
      ++records;
      if (mem->ApproximateBytes() >= budget) {
        s = write_table();
        if (!s.ok()) return s;
      }
    }
    if (stopped && records == 0 && damage.ok()) continue;  // ignored, warned above (or empty)
    if (!damage.ok()) {
      if (stopped) {
        spdlog::warn(
            "open: point-in-time recovery stops in {}: {}; keeping its {} records before offset "
            "{}, dropping the {} bytes after it and every later log that does not continue "
            "from there",
            path, damage.message(), records, cut, *size - cut);
      } else {
        spdlog::warn("open: {} ends in a torn record ({}); truncating it at offset {}", path,
                     damage.message(), cut);
      }
      // So that nothing is ever appended after the damage (the log is
      // deleted once its records are in a table anyway).
      Status s = env_->TruncateFile(path, cut);
      if (!s.ok()) return s;
    }
    spdlog::info("open: replayed {} records from {}", records, path);
  }
  if (mem->entries() > 0) return write_table();
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

  std::vector<std::pair<uint64_t, std::string>> numbered_logs;
  for (const std::string& name : names) {
    const ParsedFileName parsed = ParseFileName(name);
    if (parsed.type == FileType::kLog && parsed.number >= manifest_.log_number) {
      numbered_logs.emplace_back(parsed.number, name);
    }
  }
  std::sort(numbered_logs.begin(), numbered_logs.end());
  std::vector<std::string> logs;
  for (auto& [number, name] : numbered_logs) logs.push_back(std::move(name));
  std::vector<std::shared_ptr<TableHandle>> recovered;
  s = ReplayLogs(logs, &recovered);
  if (!s.ok()) return s;

  ManifestState next = manifest_;
  next.tables = current_->AllFiles();
  if (!recovered.empty()) {
    std::array<TableList, kNumLevels> with_tables;
    for (int n = 0; n < kNumLevels; ++n) with_tables[n] = current_->level(n);
    // L0 is newest first: each table holds writes later than the one before.
    for (const auto& table : recovered) {
      next.tables.push_back(table->meta());
      with_tables[0].insert(with_tables[0].begin(), table);
    }
    current_ = std::make_shared<Version>(std::move(with_tables));
  }

  // A fresh log for the new MemTable; every older log is now in a table.
  mem_log_number_ = next_log_number_++;
  auto file = env_->NewWritableFile(dir_ + "/" + LogFileName(mem_log_number_));
  if (!file.ok()) return file.status();
  log_ = std::make_unique<WalWriter>(std::move(*file), mem_log_number_);
  next.log_number = mem_log_number_;
  next.next_log_number = next_log_number_;
  uint64_t manifest_bytes = 0;
  s = SaveManifest(env_, dir_, next, &manifest_bytes);
  if (!s.ok()) return s;
  counters_.manifest_bytes.store(manifest_bytes, std::memory_order_relaxed);
  manifest_ = next;
  for (const std::string& name : logs) env_->RemoveFile(dir_ + "/" + name);

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
    s = SyncLog(log_.get());  // under SyncMode::kNone too: a clean shutdown loses nothing
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
