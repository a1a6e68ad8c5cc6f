// The lsmd adapter: DB with the engine's own Options.
#include "bench/engine/store.h"
#include "core/db.h"

namespace lsmd::bench {
namespace {

// Entries per Scan call while ReadAll walks the whole key space.
constexpr size_t kReadAllPage = 1000;

class LsmdStore : public BenchStore {
 public:
  explicit LsmdStore(std::unique_ptr<DB> db) : db_(std::move(db)) {}
  ~LsmdStore() override { db_->Close(); }

  Status Put(std::string_view key, std::string_view value) override { return db_->Put(key, value); }

  Status Get(std::string_view key, std::string* value) override { return db_->Get(key, value); }

  // Like the LevelDB and RocksDB adapters, looks at each entry in place
  // without copying it out.
  Status Scan(std::string_view start, size_t limit, size_t* count, size_t* bytes) override {
    *count = 0;
    *bytes = 0;
    return db_->Scan(
        start, "", limit,
        [count, bytes](std::string_view key, std::string_view value) {
          ++*count;
          *bytes += key.size() + value.size();
        },
        nullptr);
  }

  // DB has no iterator: page through with Scan, restarting just past the last
  // key returned (the key followed by a zero byte is the next possible key).
  Status ReadAll(size_t* count, size_t* bytes) override {
    *count = 0;
    *bytes = 0;
    std::string start;
    std::string last;  // the page's last key; its capacity is reused
    while (true) {
      bool more = false;
      size_t page_count = 0;
      Status s = db_->Scan(
          start, "", kReadAllPage,
          [&](std::string_view key, std::string_view value) {
            ++page_count;
            *bytes += key.size() + value.size();
            last.assign(key);
          },
          &more);
      if (!s.ok()) return s;
      *count += page_count;
      if (!more || page_count == 0) return Status::OK();
      start = last;
      start.push_back('\0');
    }
  }

 private:
  std::unique_ptr<DB> db_;
};

}  // namespace

Result<std::unique_ptr<BenchStore>> OpenLsmdStore(const std::string& dir,
                                                  const StoreSettings& settings) {
  Options options;
  options.memtable_bytes = settings.write_buffer_bytes;
  options.bloom_bits_per_key = settings.bloom_bits_per_key;
  options.sync = settings.sync ? SyncMode::kAlways : SyncMode::kNone;
  auto db = DB::Open(options, dir);
  if (!db.ok()) return db.status();
  return std::unique_ptr<BenchStore>(new LsmdStore(std::move(*db)));
}

}  // namespace lsmd::bench
