#include <doctest/doctest.h>
#include <stdlib.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/sstable_builder.h"
#include "core/sstable_format.h"
#include "core/sstable_reader.h"
#include "support/fault_injection_env.h"

namespace lsmd {
namespace {

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/lsmd-sstable-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct Entry {
  std::string key;
  ValueKind kind = ValueKind::kPut;
  std::string value;
};

std::string Key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key-%08d", i);
  return buf;
}

std::string ValueFor(int i) { return "value-" + std::to_string(i) + std::string(i % 7, 'v'); }

// Keys Key(step * i) for i < n; every 10th entry (i % 10 == 3) a tombstone.
std::vector<Entry> MakeEntries(int n, int step = 1) {
  std::vector<Entry> entries;
  entries.reserve(n);
  for (int i = 0; i < n; ++i) {
    const bool tombstone = i % 10 == 3;
    entries.push_back({Key(step * i), tombstone ? ValueKind::kTombstone : ValueKind::kPut,
                       tombstone ? "" : ValueFor(i)});
  }
  return entries;
}

TableProperties WriteTable(const std::string& path, const std::vector<Entry>& entries,
                           TableOptions options = {}) {
  auto file = Env::Default()->NewWritableFile(path);
  REQUIRE(file.ok());
  SSTableBuilder builder(options, std::move(*file));
  for (const Entry& e : entries) REQUIRE(builder.Add(e.key, e.kind, e.value).ok());
  CHECK(builder.entries() == entries.size());
  TableProperties props;
  REQUIRE(builder.Finish(&props).ok());
  return props;
}

std::unique_ptr<SSTableReader> OpenTable(const std::string& path, Env* env = Env::Default()) {
  auto reader = SSTableReader::Open(env, path);
  REQUIRE_MESSAGE(reader.ok(), reader.status().ToString());
  return std::move(*reader);
}

std::string ReadBytes(const std::string& path) {
  std::string bytes;
  REQUIRE(Env::Default()->ReadFileToString(path, &bytes).ok());
  return bytes;
}

void WriteBytes(const std::string& path, std::string_view bytes) {
  auto file = Env::Default()->NewWritableFile(path);
  REQUIRE(file.ok());
  REQUIRE((*file)->Append(bytes).ok());
  REQUIRE((*file)->Close().ok());
}

sst::Footer ReadFooter(const std::string& bytes) {
  sst::Footer footer;
  REQUIRE(
      sst::DecodeFooter(std::string_view(bytes).substr(bytes.size() - sst::kFooterSize), &footer)
          .ok());
  return footer;
}

// Open must fail with a Corruption whose message names the file and `what`.
void CheckOpenCorruption(const std::string& path, const std::string& what) {
  auto reader = SSTableReader::Open(Env::Default(), path);
  REQUIRE_FALSE(reader.ok());
  CHECK_MESSAGE(reader.status().IsCorruption(), reader.status().ToString());
  CHECK_MESSAGE(reader.status().message().find(path) != std::string::npos,
                reader.status().ToString());
  CHECK_MESSAGE(reader.status().message().find(what) != std::string::npos,
                reader.status().ToString());
}

TableLookup Lookup(const SSTableReader& reader, std::string_view key) {
  TableLookup lookup;
  Status s = reader.Get(key, &lookup);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return lookup;
}

void CheckFound(const SSTableReader& reader, const Entry& e) {
  TableLookup lookup = Lookup(reader, e.key);
  CHECK(lookup.bloom_checked);
  CHECK_FALSE(lookup.bloom_negative);
  CHECK(lookup.disk_reads == 1);
  if (e.kind == ValueKind::kPut) {
    CHECK(lookup.state == LookupState::kFound);
    CHECK(lookup.value == e.value);
  } else {
    CHECK(lookup.state == LookupState::kDeleted);
  }
}

void CheckAbsent(const SSTableReader& reader, std::string_view key) {
  TableLookup lookup = Lookup(reader, key);
  CHECK(lookup.state == LookupState::kAbsent);
  CHECK(lookup.disk_reads <= 1);
  if (lookup.bloom_negative) CHECK(lookup.disk_reads == 0);
}

// Iterates the whole table and compares it with `entries`.
void CheckIteration(const SSTableReader& reader, const std::vector<Entry>& entries) {
  auto it = reader.NewIterator();
  size_t i = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++i) {
    REQUIRE(i < entries.size());
    CHECK(it->key() == entries[i].key);
    CHECK(it->kind() == entries[i].kind);
    CHECK(it->value() == entries[i].value);
  }
  CHECK(it->status().ok());
  CHECK(i == entries.size());
}

// Counts the Read calls made on the random-access files it opens.
class CountingEnv : public FaultInjectionEnv {
 public:
  CountingEnv() : FaultInjectionEnv(Env::Default()) {}
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    auto base = FaultInjectionEnv::NewRandomAccessFile(path);
    if (!base.ok()) return base.status();
    return std::unique_ptr<RandomAccessFile>(new CountingFile(std::move(*base), &reads));
  }
  std::atomic<int> reads{0};

 private:
  class CountingFile : public RandomAccessFile {
   public:
    CountingFile(std::unique_ptr<RandomAccessFile> base, std::atomic<int>* reads)
        : base_(std::move(base)), reads_(reads) {}
    Status Read(uint64_t offset, size_t n, std::string* scratch,
                std::string_view* result) const override {
      ++*reads_;
      return base_->Read(offset, n, scratch, result);
    }

   private:
    std::unique_ptr<RandomAccessFile> base_;
    std::atomic<int>* reads_;
  };
};

TEST_CASE("round trip of 100,000 entries: every Get, full iteration, properties") {
  TempDir dir;
  const std::string path = dir.File("L0_001.sst");
  const std::vector<Entry> entries = MakeEntries(100'000);
  const TableProperties built = WriteTable(path, entries);
  auto reader = OpenTable(path);

  const TableProperties& props = reader->properties();
  CHECK(props.entries == 100'000);
  CHECK(props.file_size == *Env::Default()->GetFileSize(path));
  CHECK(props.bloom_bits == 100'000 * 10);
  CHECK(props.smallest_key == Key(0));
  CHECK(props.largest_key == Key(99'999));
  CHECK(built.entries == props.entries);
  CHECK(built.file_size == props.file_size);
  CHECK(built.bloom_bits == props.bloom_bits);
  CHECK(built.smallest_key == props.smallest_key);
  CHECK(built.largest_key == props.largest_key);
  CHECK(reader->path() == path);

  for (const Entry& e : entries) CheckFound(*reader, e);
  CheckIteration(*reader, entries);
}

// Keys are Key(2i): odd-numbered keys are absent, and fall inside segments
// and between them.
void CheckSegmentBoundaries(int interval, int n) {
  CAPTURE(interval);
  TempDir dir;
  const std::string path = dir.File("t.sst");
  const std::vector<Entry> entries = MakeEntries(n, 2);
  WriteTable(path, entries, TableOptions{.index_interval = interval});
  auto reader = OpenTable(path);
  CHECK(reader->properties().entries == static_cast<uint64_t>(n));

  for (int first = 0; first < n; first += interval) {
    const int last = std::min(first + interval, n) - 1;
    CheckFound(*reader, entries[first]);
    CheckFound(*reader, entries[last]);
    CheckAbsent(*reader, Key(2 * first + 1));  // inside a segment (or between, if interval 1)
    CheckAbsent(*reader, Key(2 * last + 1));   // after the segment's last key
    if (first > 0) CheckAbsent(*reader, Key(2 * first - 1));  // just before its first key
  }
  for (std::string_view key : {"", "a", "key-", "key-0000000", "z", "key-99999999"}) {
    TableLookup lookup = Lookup(*reader, key);
    CHECK(lookup.state == LookupState::kAbsent);
    CHECK(lookup.disk_reads == 0);  // outside [smallest, largest]: no segment read
  }
  CheckIteration(*reader, entries);

  // Seek lands on the first key >= target, across segment boundaries too.
  auto it = reader->NewIterator();
  for (int i = 0; i < n; ++i) {
    it->Seek(Key(2 * i));
    REQUIRE(it->Valid());
    CHECK(it->key() == entries[i].key);
    it->Seek(Key(2 * i - 1));
    REQUIRE(it->Valid());
    CHECK(it->key() == entries[i].key);
    it->Next();
    CHECK(it->Valid() == (i + 1 < n));
    if (i + 1 < n) CHECK(it->key() == entries[i + 1].key);
  }
  it->Seek("");
  REQUIRE(it->Valid());
  CHECK(it->key() == entries[0].key);
  it->Seek(Key(2 * n - 1));
  CHECK_FALSE(it->Valid());
  it->Seek("zzz");
  CHECK_FALSE(it->Valid());
  CHECK(it->status().ok());
}

TEST_CASE("lookups and seeks on every sparse-index boundary") {
  CheckSegmentBoundaries(16, 1'000);
  CheckSegmentBoundaries(7, 500);
  CheckSegmentBoundaries(1, 200);
  CheckSegmentBoundaries(16, 16);  // one full segment
  CheckSegmentBoundaries(16, 1);   // one entry
}

TEST_CASE("one Read call per lookup hit, none for a Bloom negative") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  const std::vector<Entry> entries = MakeEntries(5'000, 2);
  WriteTable(path, entries);
  CountingEnv env;
  auto reader = OpenTable(path, &env);
  CHECK(env.reads == 2);  // the footer, then index + filter + meta together

  env.reads = 0;
  CheckFound(*reader, entries[1234]);
  CHECK(env.reads == 1);

  int negatives = 0, false_positives = 0;
  for (int i = 0; i < 5'000; ++i) {
    env.reads = 0;
    TableLookup lookup = Lookup(*reader, Key(2 * i + 1));
    CHECK(lookup.state == LookupState::kAbsent);
    CHECK(lookup.bloom_checked);
    CHECK(lookup.disk_reads == env.reads);
    if (lookup.bloom_negative) {
      ++negatives;
      CHECK(lookup.disk_reads == 0);
    } else if (i + 1 < 5'000) {
      ++false_positives;
      CHECK(lookup.disk_reads == 1);
    }
  }
  CHECK(negatives > 4'900);
  CHECK(false_positives < 100);

  // Past the largest key even a Bloom false positive costs no read.
  int tries = 0;
  for (int i = 0;; ++i) {
    TableLookup lookup = Lookup(*reader, "zz" + std::to_string(i));
    if (lookup.bloom_negative) continue;
    CHECK(lookup.state == LookupState::kAbsent);
    CHECK(lookup.disk_reads == 0);
    if (++tries == 3) break;
  }
}

TEST_CASE("tombstones come back as kDeleted, from Get and the iterator") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  std::vector<Entry> entries = {{"a", ValueKind::kPut, "1"},
                                {"b", ValueKind::kTombstone, ""},
                                {"c", ValueKind::kTombstone, ""},
                                {"d", ValueKind::kPut, ""}};  // an empty value is not a delete
  WriteTable(path, entries, TableOptions{.index_interval = 2});
  auto reader = OpenTable(path);
  for (const Entry& e : entries) CheckFound(*reader, e);
  CheckIteration(*reader, entries);
  auto it = reader->NewIterator();
  it->Seek("b");
  REQUIRE(it->Valid());
  CHECK(it->kind() == ValueKind::kTombstone);
}

TEST_CASE("keys and values are arbitrary bytes: NUL, 0xff, 16 KiB keys, MB values") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  std::vector<Entry> entries = {
      {std::string("\0", 1), ValueKind::kPut, std::string("v\0v", 3)},
      {std::string("\0\0", 2), ValueKind::kPut, "x"},
      {std::string("a\0b", 3), ValueKind::kPut, std::string(3 << 20, '\x01')},
      {std::string(16 << 10, 'k'), ValueKind::kPut, std::string(1 << 20, '\0')},
      {"\x7f", ValueKind::kTombstone, ""},
      {"\xff\xff", ValueKind::kPut, std::string(5, '\xff')},
  };
  WriteTable(path, entries, TableOptions{.index_interval = 2});
  auto reader = OpenTable(path);
  for (const Entry& e : entries) CheckFound(*reader, e);
  CheckAbsent(*reader, "a");
  CheckAbsent(*reader, std::string("a\0a", 3));
  CheckIteration(*reader, entries);
  CHECK(reader->properties().largest_key == "\xff\xff");
}

TEST_CASE("the builder rejects unsorted keys, duplicates and empty tables") {
  TempDir dir;
  auto file = Env::Default()->NewWritableFile(dir.File("t.sst"));
  REQUIRE(file.ok());
  SSTableBuilder builder(TableOptions{}, std::move(*file));
  REQUIRE(builder.Add("b", ValueKind::kPut, "1").ok());
  CHECK(builder.Add("b", ValueKind::kPut, "2").IsInvalidArgument());
  CHECK(builder.Add("a", ValueKind::kPut, "3").IsInvalidArgument());
  CHECK(builder.Add("c", ValueKind::kPut, "4").ok());
  CHECK(builder.entries() == 2);
  CHECK(builder.FileSize() > 0);
  TableProperties props;
  REQUIRE(builder.Finish(&props).ok());
  CHECK(props.entries == 2);
  CHECK(builder.Add("d", ValueKind::kPut, "5").IsInvalidArgument());

  auto empty_file = Env::Default()->NewWritableFile(dir.File("empty.sst"));
  REQUIRE(empty_file.ok());
  SSTableBuilder empty(TableOptions{}, std::move(*empty_file));
  CHECK(empty.Finish(&props).IsInvalidArgument());
}

TEST_CASE("a flipped byte in each section is caught, never a wrong value") {
  TempDir dir;
  const std::string path = dir.File("L0_001.sst");
  const std::vector<Entry> entries = MakeEntries(100);
  WriteTable(path, entries);
  const std::string original = ReadBytes(path);
  const sst::Footer footer = ReadFooter(original);
  auto flip = [&](size_t pos) {
    std::string bytes = original;
    bytes[pos] ^= 0x20;
    WriteBytes(path, bytes);
  };

  SUBCASE("data segment: Get and the iterator report Corruption") {
    const size_t pos = original.find(ValueFor(40));  // segment 2 holds entries 32..47
    REQUIRE(pos < footer.index.offset);
    flip(pos + 2);
    auto reader = OpenTable(path);  // Open reads no data segment
    TableLookup lookup;
    for (int i : {32, 40, 47}) {
      Status s = reader->Get(Key(i), &lookup);
      CHECK(s.IsCorruption());
      CHECK(s.message().find(path) != std::string::npos);
      CHECK(s.message().find("offset") != std::string::npos);
      CHECK(lookup.state != LookupState::kFound);
    }
    CheckFound(*reader, entries[5]);  // other segments are fine
    CheckFound(*reader, entries[60]);

    auto it = reader->NewIterator();
    int seen = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++seen) {
      CHECK(it->key() == entries[seen].key);
      CHECK(it->value() == entries[seen].value);
    }
    CHECK(seen == 32);
    CHECK(it->status().IsCorruption());
    it->Seek(Key(50));  // an error stays
    CHECK_FALSE(it->Valid());
    auto seek_it = reader->NewIterator();
    seek_it->Seek(Key(40));
    CHECK_FALSE(seek_it->Valid());
    CHECK(seek_it->status().IsCorruption());
  }
  SUBCASE("index block") {
    flip(footer.index.offset + 3);
    CheckOpenCorruption(path, "index block checksum mismatch");
  }
  SUBCASE("filter block") {
    flip(footer.filter.offset + 10);
    CheckOpenCorruption(path, "filter block checksum mismatch");
  }
  SUBCASE("meta block") {
    flip(footer.meta.offset + 2);
    CheckOpenCorruption(path, "meta block checksum mismatch");
  }
  SUBCASE("footer: every byte") {
    for (size_t pos = original.size() - sst::kFooterSize; pos < original.size(); ++pos) {
      CAPTURE(pos);
      flip(pos);
      CheckOpenCorruption(path, "footer");
    }
  }
}

TEST_CASE("every single-byte flip gives Corruption or the right answers") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  const std::vector<Entry> entries = MakeEntries(20);
  WriteTable(path, entries, TableOptions{.index_interval = 4});
  const std::string original = ReadBytes(path);
  const uint64_t data_size = ReadFooter(original).index.offset;

  for (size_t pos = 0; pos < original.size(); ++pos) {
    CAPTURE(pos);
    std::string bytes = original;
    bytes[pos] ^= 0x01;
    WriteBytes(path, bytes);
    auto reader = SSTableReader::Open(Env::Default(), path);
    if (!reader.ok()) {
      CHECK(reader.status().IsCorruption());
      CHECK(pos >= data_size);
      continue;
    }
    CHECK(pos < data_size);  // every section but the data is checked at Open
    int corrupt = 0;
    for (const Entry& e : entries) {
      TableLookup lookup;
      Status s = (*reader)->Get(e.key, &lookup);
      if (!s.ok()) {
        CHECK(s.IsCorruption());
        ++corrupt;
        continue;
      }
      CHECK(lookup.state ==
            (e.kind == ValueKind::kPut ? LookupState::kFound : LookupState::kDeleted));
      CHECK(lookup.value == e.value);
    }
    CHECK(corrupt == 4);  // exactly the entries of the damaged segment
    auto it = (*reader)->NewIterator();
    size_t i = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++i) {
      CHECK(it->key() == entries[i].key);
      CHECK(it->value() == entries[i].value);
    }
    CHECK(it->status().IsCorruption());
  }
}

TEST_CASE("truncated and garbage files fail Open cleanly") {
  TempDir dir;
  const std::string path = dir.File("L0_001.sst");
  WriteTable(path, MakeEntries(50), TableOptions{.index_interval = 8});
  const std::string original = ReadBytes(path);
  const std::string truncated = dir.File("truncated.sst");
  for (size_t size = 0; size < original.size(); ++size) {
    CAPTURE(size);
    WriteBytes(truncated, std::string_view(original).substr(0, size));
    auto reader = SSTableReader::Open(Env::Default(), truncated);
    REQUIRE_FALSE(reader.ok());
    CHECK(reader.status().IsCorruption());
    CHECK(reader.status().message().find(truncated) != std::string::npos);
  }

  std::mt19937_64 rng(42);
  for (size_t size : {1, 75, 76, 77, 1'000, 100'000}) {
    std::string garbage(size, '\0');
    for (char& c : garbage) c = static_cast<char>(rng());
    WriteBytes(truncated, garbage);
    CHECK(SSTableReader::Open(Env::Default(), truncated).status().IsCorruption());
  }
  CHECK_FALSE(SSTableReader::Open(Env::Default(), dir.File("missing.sst")).ok());
}

TEST_CASE("a footer with a good checksum but impossible offsets is Corruption") {
  TempDir dir;
  const std::string path = dir.File("crafted.sst");
  auto craft = [&](const sst::Footer& footer, const std::string& body) {
    std::string bytes = body;
    sst::EncodeFooter(footer, &bytes);
    WriteBytes(path, bytes);
  };
  sst::Footer footer;
  footer.entries = 1;
  footer.index = {1ull << 62, 1ull << 62};
  footer.filter = {~0ull - 3, 16};
  footer.meta = {0, ~0ull};
  craft(footer, std::string(100, 'x'));
  CheckOpenCorruption(path, "out of bounds");

  // Offsets that chain up to the footer only by wrapping around 2^64.
  footer.index = {~0ull - 15, 8};
  footer.filter = {~0ull - 7, 8};
  footer.meta = {0, 100};
  craft(footer, std::string(100, 'x'));
  CheckOpenCorruption(path, "out of bounds");

  // Sections with good checksums whose index points past the data.
  std::string body = "data-data";
  std::string index;
  PutLengthPrefixed(&index, "a");
  PutVarint64(&index, 0);
  PutVarint64(&index, 1'000);
  sst::AppendBlockChecksum(&index, 0);
  footer.index = {body.size(), index.size()};
  body += index;
  std::string filter = std::string(8, '\0') + "\x07";
  sst::AppendBlockChecksum(&filter, 0);
  footer.filter = {body.size(), filter.size()};
  body += filter;
  std::string meta;
  PutLengthPrefixed(&meta, "a");
  PutLengthPrefixed(&meta, "a");
  sst::AppendBlockChecksum(&meta, 0);
  footer.meta = {body.size(), meta.size()};
  body += meta;
  craft(footer, body);
  CheckOpenCorruption(path, "index block malformed");
}

TEST_CASE("read errors surface as IOError from Get and the iterator") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  const std::vector<Entry> entries = MakeEntries(100);
  WriteTable(path, entries);
  FaultInjectionEnv env(Env::Default());
  auto reader = OpenTable(path, &env);
  env.SetReadFault(EIO);
  TableLookup lookup;
  CHECK(reader->Get(Key(10), &lookup).IsIOError());
  auto it = reader->NewIterator();
  it->SeekToFirst();
  CHECK_FALSE(it->Valid());
  CHECK(it->status().IsIOError());
  env.ClearFaults();
  CheckFound(*reader, entries[10]);
  CheckIteration(*reader, entries);
}

TEST_CASE("many threads read one table at once") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  const std::vector<Entry> entries = MakeEntries(10'000);
  WriteTable(path, entries, TableOptions{.index_interval = 7});
  auto reader = OpenTable(path);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto it = reader->NewIterator();
      size_t i = 0;
      for (it->SeekToFirst(); it->Valid(); it->Next(), ++i) {
        if (it->key() != entries[i].key || it->value() != entries[i].value) ++errors;
      }
      if (i != entries.size() || !it->status().ok()) ++errors;
      for (size_t j = t; j < entries.size(); j += 4) {
        TableLookup lookup;
        if (!reader->Get(entries[j].key, &lookup).ok() || lookup.value != entries[j].value) {
          ++errors;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  CHECK(errors == 0);
}

}  // namespace
}  // namespace lsmd
