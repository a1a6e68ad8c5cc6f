// fuzz_sstable: SSTableReader::Open on arbitrary bytes, then a full iteration
// and point lookups. Properties: no crash, no out-of-bounds read (ASan), and
// never a wrong answer: a Get that finds a key agrees with what iterating the
// same table yields for it, and a key the iteration did not yield is absent.
//
// Since issue 11 the reader checks key order on every segment it reads, so
// the yielded keys must be strictly ascending in both modes below.
//
// Input: one mode byte, then the table file. Mode bit 0 set: every checksum
// the file's own handles point at (data segments via the index, index,
// filter, meta, footer) is recomputed before opening, so mutations reach the
// parsers behind the checksums (most seeds set it); clear: the bytes are read
// as they are. The file is served from memory by a one-file Env: the reader
// does exactly what it does on disk, without a filesystem round trip per run.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/checksum.h"
#include "core/coding.h"
#include "core/env.h"
#include "core/sstable_format.h"
#include "core/sstable_reader.h"

namespace {

constexpr uint8_t kRepairChecksums = 1;
constexpr char kTablePath[] = "/fuzz/L0_001.sst";
constexpr size_t kMaxGetProbes = 64;

void Require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "fuzz_sstable: property violated: %s\n", what);
  std::abort();
}

using lsmd::Result;
using lsmd::Status;

Status Unsupported() { return Status::IOError("fuzz env: unsupported operation"); }

// pread semantics over a string: short at the end, empty past it. Copies into
// scratch so ASan sees a read past what Read returned.
class MemoryFile final : public lsmd::RandomAccessFile {
 public:
  explicit MemoryFile(const std::string* bytes) : bytes_(bytes) {}
  Status Read(uint64_t offset, size_t n, std::string* scratch,
              std::string_view* result) const override {
    if (offset >= bytes_->size()) {
      scratch->clear();
    } else {
      scratch->assign(*bytes_, offset, n);
    }
    *result = *scratch;
    return Status::OK();
  }

 private:
  const std::string* bytes_;
};

// An Env holding one read-only file, kTablePath.
class OneFileEnv final : public lsmd::Env {
 public:
  explicit OneFileEnv(const std::string* bytes) : bytes_(bytes) {}

  Result<std::unique_ptr<lsmd::RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    if (path != kTablePath) return Status::NotFound(path);
    return std::unique_ptr<lsmd::RandomAccessFile>(std::make_unique<MemoryFile>(bytes_));
  }
  Result<uint64_t> GetFileSize(const std::string& path) override {
    if (path != kTablePath) return Status::NotFound(path);
    return uint64_t{bytes_->size()};
  }
  bool FileExists(const std::string& path) override { return path == kTablePath; }

  Result<std::unique_ptr<lsmd::WritableFile>> NewWritableFile(const std::string&) override {
    return Unsupported();
  }
  Result<std::unique_ptr<lsmd::SequentialFile>> NewSequentialFile(const std::string&) override {
    return Unsupported();
  }
  Status RenameFile(const std::string&, const std::string&) override { return Unsupported(); }
  Status RemoveFile(const std::string&) override { return Unsupported(); }
  Status TruncateFile(const std::string&, uint64_t) override { return Unsupported(); }
  Status GetChildren(const std::string&, std::vector<std::string>*) override {
    return Unsupported();
  }
  Status CreateDirIfMissing(const std::string&) override { return Unsupported(); }
  Status SyncDir(const std::string&) override { return Unsupported(); }
  Result<std::unique_ptr<lsmd::FileLock>> LockFile(const std::string&) override {
    return Unsupported();
  }

 private:
  const std::string* bytes_;
};

// ---- Checksum repair (mode bit 0) ----

void StoreFixed64(std::string* dst, size_t offset, uint64_t v) {
  for (int i = 0; i < 8; ++i, v >>= 8) (*dst)[offset + i] = static_cast<char>(v & 0xff);
}

// Reseals the block [offset, offset + size) if it lies inside the file.
void ResealBlock(std::string* file, uint64_t offset, uint64_t size) {
  if (size < lsmd::sst::kChecksumSize || offset > file->size() || size > file->size() - offset) {
    return;
  }
  const size_t payload = size - lsmd::sst::kChecksumSize;
  StoreFixed64(file, offset + payload, lsmd::Checksum(file->data() + offset, payload));
}

// Reseals, in order, every segment the index block lists, the index, filter
// and meta blocks, and the footer. Later reseals may break earlier ones when
// the handles overlap; such inputs just fail to open.
void RepairChecksums(std::string* file) {
  using lsmd::sst::kFooterSize;
  if (file->size() < kFooterSize) return;
  const size_t footer_offset = file->size() - kFooterSize;
  const char* footer = file->data() + footer_offset;
  lsmd::sst::BlockHandle handles[3];  // index, filter, meta
  for (int i = 0; i < 3; ++i) {
    handles[i].offset = lsmd::DecodeFixed64(footer + 16 * i);
    handles[i].size = lsmd::DecodeFixed64(footer + 16 * i + 8);
  }
  const lsmd::sst::BlockHandle& index = handles[0];
  if (index.size >= lsmd::sst::kChecksumSize && index.offset <= footer_offset &&
      index.size <= footer_offset - index.offset) {
    std::string payload = file->substr(index.offset, index.size - lsmd::sst::kChecksumSize);
    std::string_view in = payload;
    std::string_view first_key;
    uint64_t offset = 0, size = 0;
    while (lsmd::GetLengthPrefixed(&in, &first_key) && lsmd::GetVarint64(&in, &offset) &&
           lsmd::GetVarint64(&in, &size)) {
      ResealBlock(file, offset, size);
    }
  }
  for (const lsmd::sst::BlockHandle& h : handles) ResealBlock(file, h.offset, h.size);
  ResealBlock(file, footer_offset, kFooterSize);
}

// ---- The properties ----

struct Entry {
  lsmd::ValueKind kind;
  std::string value;
};

// Every key the iterator yields, in order. *complete: the iteration ended
// without an error. *ascending: keys were strictly ascending throughout.
std::vector<std::pair<std::string, Entry>> IterateAll(const lsmd::SSTableReader& reader,
                                                      bool* complete, bool* ascending) {
  std::vector<std::pair<std::string, Entry>> entries;
  *ascending = true;
  std::unique_ptr<lsmd::Iterator> it = reader.NewIterator();
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!entries.empty() && !(entries.back().first < it->key())) *ascending = false;
    entries.push_back({std::string(it->key()), {it->kind(), std::string(it->value())}});
  }
  *complete = it->status().ok();
  return entries;
}

// The lookups made: each iterated key (up to kMaxGetProbes) and neighbours of
// it that the table may or may not hold.
std::vector<std::string> ProbeKeys(const std::vector<std::pair<std::string, Entry>>& entries) {
  std::vector<std::string> keys = {"", std::string("\xff\xff\xff\xff", 4)};
  for (size_t i = 0; i < entries.size() && i < kMaxGetProbes; ++i) {
    const std::string& key = entries[i].first;
    keys.push_back(key);
    keys.push_back(key + '\0');
    if (!key.empty()) keys.push_back(key.substr(0, key.size() - 1));
  }
  return keys;
}

void CheckLookups(const lsmd::SSTableReader& reader,
                  const std::vector<std::pair<std::string, Entry>>& entries,
                  bool iteration_trusted) {
  std::map<std::string, Entry> by_key(entries.begin(), entries.end());
  for (const std::string& key : ProbeKeys(entries)) {
    lsmd::TableLookup lookup;
    if (!reader.Get(key, &lookup).ok() || !iteration_trusted) continue;
    auto it = by_key.find(key);
    if (lookup.state == lsmd::LookupState::kAbsent) continue;  // a filter may say no
    Require(it != by_key.end(), "Get finds only keys the iteration yields");
    if (lookup.state == lsmd::LookupState::kFound) {
      Require(it->second.kind == lsmd::ValueKind::kPut, "Get finds a put where iteration does");
      Require(lookup.value == it->second.value, "Get returns the value iteration yields");
    } else {
      Require(it->second.kind == lsmd::ValueKind::kTombstone,
              "Get reports a tombstone where iteration does");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool repaired = (data[0] & kRepairChecksums) != 0;
  std::string file(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (repaired) RepairChecksums(&file);

  OneFileEnv env(&file);
  auto reader = lsmd::SSTableReader::Open(&env, kTablePath);
  if (!reader.ok()) {
    Require(reader.status().IsCorruption(), "a bad table gives Corruption");
    return 0;
  }
  const lsmd::TableProperties& props = (*reader)->properties();
  Require(props.file_size == file.size(), "properties().file_size is the file's size");
  Require(props.entries > 0, "an open table has entries");

  bool complete = false, ascending = false;
  const auto entries = IterateAll(**reader, &complete, &ascending);
  // Checksums prove nothing about order (a segment copied over another keeps
  // its own), so the reader checks the order itself: whatever the bytes, with
  // or without repair, what it yields is strictly ascending.
  Require(ascending, "keys the reader yields are strictly ascending");
  // An iteration cut short by a bad segment does not list the keys behind
  // it, which a lookup may still reach: check lookups only against a
  // complete one.
  CheckLookups(**reader, entries, complete);
  return 0;
}
