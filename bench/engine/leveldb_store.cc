// The LevelDB adapter: the same settings as lsmd's (4 MiB write buffer,
// 10 bits/key Bloom filter, no compression, sync as asked); every other
// option is LevelDB's default (8 MiB block cache, 4 KiB blocks).
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include "bench/engine/store.h"

namespace lsmd::bench {
namespace {

Status FromLevelDB(const leveldb::Status& s) {
  if (s.ok()) return Status::OK();
  if (s.IsNotFound()) return Status::NotFound(s.ToString());
  if (s.IsCorruption()) return Status::Corruption(s.ToString());
  return Status::IOError(s.ToString());
}

leveldb::Slice ToSlice(std::string_view s) { return leveldb::Slice(s.data(), s.size()); }

class LevelDBStore : public BenchStore {
 public:
  LevelDBStore(std::unique_ptr<const leveldb::FilterPolicy> filter, std::unique_ptr<leveldb::DB> db,
               bool sync)
      : filter_(std::move(filter)), db_(std::move(db)) {
    write_options_.sync = sync;
  }
  ~LevelDBStore() override { db_.reset(); }  // before the filter policy it uses

  Status Put(std::string_view key, std::string_view value) override {
    return FromLevelDB(db_->Put(write_options_, ToSlice(key), ToSlice(value)));
  }

  Status Get(std::string_view key, std::string* value) override {
    return FromLevelDB(db_->Get(leveldb::ReadOptions(), ToSlice(key), value));
  }

  Status Scan(std::string_view start, size_t limit, size_t* count, size_t* bytes) override {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    *count = 0;
    *bytes = 0;
    for (it->Seek(ToSlice(start)); it->Valid() && *count < limit; it->Next()) {
      *bytes += it->key().size() + it->value().size();
      ++*count;
    }
    return FromLevelDB(it->status());
  }

  Status ReadAll(size_t* count, size_t* bytes) override {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    *count = 0;
    *bytes = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      *bytes += it->key().size() + it->value().size();
      ++*count;
    }
    return FromLevelDB(it->status());
  }

 private:
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::DB> db_;
  leveldb::WriteOptions write_options_;
};

}  // namespace

Result<std::unique_ptr<BenchStore>> OpenLevelDBStore(const std::string& dir,
                                                     const StoreSettings& settings) {
  std::unique_ptr<const leveldb::FilterPolicy> filter(
      leveldb::NewBloomFilterPolicy(settings.bloom_bits_per_key));
  leveldb::Options options;
  options.create_if_missing = true;
  options.write_buffer_size = settings.write_buffer_bytes;
  options.filter_policy = filter.get();
  options.compression = leveldb::kNoCompression;
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir, &raw);
  if (!s.ok()) return FromLevelDB(s);
  return std::unique_ptr<BenchStore>(
      new LevelDBStore(std::move(filter), std::unique_ptr<leveldb::DB>(raw), settings.sync));
}

}  // namespace lsmd::bench
