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

  Status Scan(std::string_view start, size_t limit, size_t* count, size_t* bytes) override {
    ScanResult out;
    Status s = db_->Scan(start, "", limit, &out);
    Tally(out, count, bytes);
    return s;
  }

  // DB has no iterator: page through with Scan, restarting just past the last
  // key returned (the key followed by a zero byte is the next possible key).
  Status ReadAll(size_t* count, size_t* bytes) override {
    *count = 0;
    *bytes = 0;
    std::string start;
    while (true) {
      ScanResult out;
      Status s = db_->Scan(start, "", kReadAllPage, &out);
      if (!s.ok()) return s;
      size_t page_count = 0;
      size_t page_bytes = 0;
      Tally(out, &page_count, &page_bytes);
      *count += page_count;
      *bytes += page_bytes;
      if (!out.more || out.entries.empty()) return Status::OK();
      start = out.entries.back().first;
      start.push_back('\0');
    }
  }

 private:
  static void Tally(const ScanResult& out, size_t* count, size_t* bytes) {
    *count = out.entries.size();
    *bytes = 0;
    for (const auto& [key, value] : out.entries) *bytes += key.size() + value.size();
  }

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
