// The RocksDB adapter: the same settings as lsmd's (4 MiB write buffer,
// 10 bits/key Bloom filter, no compression, sync as asked); every other
// option is RocksDB's default (block-based tables, 4 KiB blocks, default
// block cache, 2 background jobs).
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>

#include "bench/engine/store.h"

namespace lsmd::bench {
namespace {

Status FromRocksDB(const rocksdb::Status& s) {
  if (s.ok()) return Status::OK();
  if (s.IsNotFound()) return Status::NotFound(s.ToString());
  if (s.IsCorruption()) return Status::Corruption(s.ToString());
  return Status::IOError(s.ToString());
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

class RocksDBStore : public BenchStore {
 public:
  RocksDBStore(std::unique_ptr<rocksdb::DB> db, bool sync) : db_(std::move(db)) {
    write_options_.sync = sync;
  }
  ~RocksDBStore() override { db_->Close(); }

  Status Put(std::string_view key, std::string_view value) override {
    return FromRocksDB(db_->Put(write_options_, ToSlice(key), ToSlice(value)));
  }

  Status Get(std::string_view key, std::string* value) override {
    return FromRocksDB(db_->Get(rocksdb::ReadOptions(), ToSlice(key), value));
  }

  Status Scan(std::string_view start, size_t limit, size_t* count, size_t* bytes) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    *count = 0;
    *bytes = 0;
    for (it->Seek(ToSlice(start)); it->Valid() && *count < limit; it->Next()) {
      *bytes += it->key().size() + it->value().size();
      ++*count;
    }
    return FromRocksDB(it->status());
  }

  Status ReadAll(size_t* count, size_t* bytes) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    *count = 0;
    *bytes = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      *bytes += it->key().size() + it->value().size();
      ++*count;
    }
    return FromRocksDB(it->status());
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions write_options_;
};

}  // namespace

Result<std::unique_ptr<BenchStore>> OpenRocksDBStore(const std::string& dir,
                                                     const StoreSettings& settings) {
  rocksdb::BlockBasedTableOptions table_options;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(settings.bloom_bits_per_key));
  rocksdb::Options options;
  options.create_if_missing = true;
  options.write_buffer_size = settings.write_buffer_bytes;
  options.compression = rocksdb::kNoCompression;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) return FromRocksDB(s);
  return std::unique_ptr<BenchStore>(
      new RocksDBStore(std::unique_ptr<rocksdb::DB>(raw), settings.sync));
}

}  // namespace lsmd::bench
