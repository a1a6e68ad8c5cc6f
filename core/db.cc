// DB's public face: each call forwards to DB::Impl (db_impl.h), whose work is
// split by path: commit_pipeline.cc (the commit queue), db_write.cc,
// db_read.cc, db_flush.cc, db_open.cc, compaction_driver.cc.
#include "core/db.h"

#include <future>

#include "core/db_impl.h"

namespace lsmd {
namespace {

constexpr size_t kMaxKeyBytes = 16 * 1024;

Status CheckKey(std::string_view key) {
  if (key.empty()) return Status::InvalidArgument("key must not be empty");
  if (key.size() > kMaxKeyBytes) return Status::InvalidArgument("key longer than 16 KiB");
  return Status::OK();
}

Status CheckBatchKeys(const WriteBatch& batch) {
  Status bad;
  Status s = batch.Iterate([&](uint64_t, ValueKind, std::string_view key, std::string_view) {
    if (bad.ok()) bad = CheckKey(key);
  });
  return s.ok() ? bad : s;
}

}  // namespace

DB::DB(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DB::~DB() = default;

Result<std::unique_ptr<DB>> DB::Open(const Options& options, const std::string& dir) {
  if (options.memtable_bytes == 0 || options.max_frozen_memtables < 1 ||
      options.index_interval < 1 || options.bloom_bits_per_key < 1 ||
      options.l0_compaction_trigger < 1 ||
      options.l0_slowdown_trigger < options.l0_compaction_trigger ||
      options.l0_stop_trigger < options.l0_slowdown_trigger || options.target_file_bytes == 0 ||
      options.level1_max_bytes == 0) {
    return Status::InvalidArgument("inconsistent engine options");
  }
  auto impl = std::make_unique<Impl>(options, dir);
  Status s = impl->Open();
  if (!s.ok()) return s;
  return std::unique_ptr<DB>(new DB(std::move(impl)));
}

Status DB::Put(std::string_view key, std::string_view value) {
  Status s = CheckKey(key);
  if (!s.ok()) return s;
  WriteBatch batch;
  batch.Put(key, value);
  return impl_->Write(std::move(batch));
}

Status DB::Delete(std::string_view key) {
  Status s = CheckKey(key);
  if (!s.ok()) return s;
  WriteBatch batch;
  batch.Delete(key);
  return impl_->Write(std::move(batch));
}

void DB::PutAsync(std::string_view key, std::string_view value, WriteCallback done) {
  Status s = CheckKey(key);
  if (!s.ok()) return done(s);
  WriteBatch batch;
  batch.Put(key, value);
  impl_->WriteAsync(std::move(batch), std::move(done));
}

void DB::DeleteAsync(std::string_view key, WriteCallback done) {
  Status s = CheckKey(key);
  if (!s.ok()) return done(s);
  WriteBatch batch;
  batch.Delete(key);
  impl_->WriteAsync(std::move(batch), std::move(done));
}

void DB::WriteAsync(WriteBatch batch, WriteCallback done) {
  Status s = CheckBatchKeys(batch);
  if (!s.ok()) return done(s);
  impl_->WriteAsync(std::move(batch), std::move(done));
}

void DB::ConditionalWriteAsync(DecideFn decide, WriteCallback done) {
  // The keys decide writes are checked on the committer, before anything
  // of its batch reaches the log.
  impl_->ConditionalWriteAsync(
      [decide = std::move(decide)](const ReadFn& read, WriteBatch* batch) {
        Status s = decide(read, batch);
        return s.ok() ? CheckBatchKeys(*batch) : s;
      },
      std::move(done));
}

Status DB::Get(std::string_view key, std::string* value) { return impl_->Get(key, value); }

Status DB::Scan(std::string_view start, std::string_view end, size_t limit, ScanResult* out) {
  out->entries.clear();
  return impl_->Scan(
      start, end, limit,
      [out](std::string_view key, std::string_view value) {
        out->entries.emplace_back(std::string(key), std::string(value));
        return true;
      },
      &out->more);
}

Status DB::Scan(std::string_view start, std::string_view end, size_t limit,
                const ScanVisitor& visit, bool* more) {
  bool ignored;
  return impl_->Scan(
      start, end, limit,
      [&visit](std::string_view key, std::string_view value) {
        visit(key, value);
        return true;
      },
      more != nullptr ? more : &ignored);
}

Status DB::ScanWhile(std::string_view start, std::string_view end, size_t limit,
                     const ScanWhileVisitor& visit, bool* more) {
  bool ignored;
  return impl_->Scan(start, end, limit, visit, more != nullptr ? more : &ignored);
}

Result<FlushResult> DB::Flush() {
  std::promise<Result<FlushResult>> promise;
  auto future = promise.get_future();
  impl_->FlushAsync([&promise](Result<FlushResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

void DB::FlushAsync(FlushCallback done) { impl_->FlushAsync(std::move(done)); }

Result<CompactResult> DB::CompactAll() {
  std::promise<Result<CompactResult>> promise;
  auto future = promise.get_future();
  impl_->CompactAllAsync([&promise](Result<CompactResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

void DB::CompactAllAsync(CompactCallback done) { impl_->CompactAllAsync(std::move(done)); }

Status DB::SetMemTableThreshold(size_t bytes) { return impl_->SetMemTableThreshold(bytes); }

Result<SSTableLookupResult> DB::LookupInSSTable(std::string_view table_name, std::string_view key) {
  return impl_->LookupInSSTable(table_name, key);
}

DBStats DB::GetStats() { return impl_->GetStats(); }

void DB::BeginShutdown() { impl_->BeginShutdown(); }

Status DB::Close() { return impl_->Close(); }

void DB::TEST_PauseBackgroundWork() { impl_->PauseBackgroundWork(); }
void DB::TEST_ResumeBackgroundWork() { impl_->ResumeBackgroundWork(); }
void DB::TEST_PauseCompaction() { impl_->PauseCompaction(); }
void DB::TEST_ResumeCompaction() { impl_->ResumeCompaction(); }

}  // namespace lsmd
