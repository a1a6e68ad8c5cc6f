// Tables whose checksums all pass but whose keys are out of order (a forged
// file, or one a bug wrote) must be refused: at Open when the sparse index is
// out of order, with Corruption naming the file and segment offset when a
// lookup or scan meets such a segment. Never a wrong value, never a wrong
// "absent".
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/checksum.h"
#include "core/coding.h"
#include "core/sstable_builder.h"
#include "core/sstable_format.h"
#include "core/sstable_reader.h"
#include "test_util.h"

namespace lsmd {
namespace {

constexpr int kEntries = 12;
constexpr int kInterval = 4;  // three segments of four entries each

// Fixed-width keys and values: every entry encodes to the same number of
// bytes, so entries and whole segments can be swapped in place.
std::string Key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key-%08d", i);
  return buf;
}
std::string Value(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "value-%04d", i);
  return buf;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out.good());
}

void StoreFixed64(std::string* dst, size_t offset, uint64_t v) {
  for (int i = 0; i < 8; ++i, v >>= 8) (*dst)[offset + i] = static_cast<char>(v & 0xff);
}

// A well-formed table, and the bytes and handles a forger edits.
struct Table {
  std::string bytes;
  sst::Footer footer;
  std::vector<sst::BlockHandle> segments;

  // Recomputes the checksum of the block at h: the forgery stays "intact".
  void Reseal(const sst::BlockHandle& h) {
    const size_t payload = h.size - sst::kChecksumSize;
    StoreFixed64(&bytes, h.offset + payload, Checksum(bytes.data() + h.offset, payload));
  }
  // Offset in the file of entry j of segment s (all entries the same size).
  size_t EntryOffset(int s, int j) const { return segments[s].offset + j * EntrySize(); }
  size_t EntrySize() const {
    std::string encoded;
    sst::AppendEntry(&encoded, Key(0), ValueKind::kPut, Value(0));
    return encoded.size();
  }
};

Table BuildTable(const std::string& path) {
  auto file = Env::Default()->NewWritableFile(path);
  REQUIRE(file.ok());
  TableOptions options;
  options.index_interval = kInterval;
  SSTableBuilder builder(options, std::move(*file));
  for (int i = 0; i < kEntries; ++i) REQUIRE(builder.Add(Key(i), ValueKind::kPut, Value(i)).ok());
  TableProperties props;
  REQUIRE(builder.Finish(&props).ok());

  Table t;
  t.bytes = ReadFile(path);
  REQUIRE(sst::DecodeFooter(std::string_view(t.bytes).substr(t.bytes.size() - sst::kFooterSize),
                            &t.footer)
              .ok());
  std::string_view index(t.bytes.data() + t.footer.index.offset,
                         t.footer.index.size - sst::kChecksumSize);
  std::string_view first_key;
  sst::BlockHandle h;
  while (GetLengthPrefixed(&index, &first_key) && GetVarint64(&index, &h.offset) &&
         GetVarint64(&index, &h.size)) {
    t.segments.push_back(h);
  }
  REQUIRE(t.segments.size() == kEntries / kInterval);
  for (const auto& segment : t.segments) REQUIRE(segment.size == t.segments[0].size);
  return t;
}

// Swaps n bytes at a and b.
void SwapBytes(std::string* bytes, size_t a, size_t b, size_t n) {
  for (size_t i = 0; i < n; ++i) std::swap((*bytes)[a + i], (*bytes)[b + i]);
}

// A lookup either finds key i with its own value, or fails with Corruption
// naming the file and the segment; it never says "absent" for a key the
// table holds, and never returns another key's value.
void CheckLookupNeverWrong(const SSTableReader& reader, int i, const std::string& path,
                           bool* saw_corruption) {
  TableLookup lookup;
  Status s = reader.Get(Key(i), &lookup);
  if (s.ok()) {
    CHECK_MESSAGE(lookup.state == LookupState::kFound, Key(i));
    CHECK(lookup.value == Value(i));
    return;
  }
  CHECK(s.IsCorruption());
  CHECK(s.message().find(path) != std::string::npos);
  CHECK(s.message().find("at offset") != std::string::npos);
  *saw_corruption = true;
}

// An iteration yields a strictly ascending run of the table's own entries
// and then, having met the bad segment, stops with Corruption.
void CheckScanStopsWithCorruption(const SSTableReader& reader) {
  std::unique_ptr<Iterator> it = reader.NewIterator();
  std::string previous;
  int yielded = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (yielded > 0) CHECK(previous < it->key());
    previous = std::string(it->key());
    ++yielded;
  }
  CHECK(it->status().IsCorruption());
  CHECK(yielded < kEntries);
}

TEST_CASE("a table with two segments swapped (checksums intact) is never answered from") {
  testing::TempDir dir;
  const std::string path = dir.File("L0_001.sst");
  Table t = BuildTable(path);
  // Segments are sealed by their own checksum, so swapped whole they still
  // verify; only their keys betray them.
  SwapBytes(&t.bytes, t.segments[0].offset, t.segments[1].offset, t.segments[0].size);
  WriteFile(path, t.bytes);

  auto reader = SSTableReader::Open(Env::Default(), path);
  REQUIRE(reader.ok());  // the index, filter and meta are untouched
  bool saw_corruption = false;
  for (int i = 0; i < kEntries; ++i) CheckLookupNeverWrong(**reader, i, path, &saw_corruption);
  CHECK(saw_corruption);
  TableLookup lookup;
  Status s = (*reader)->Get(Key(0), &lookup);
  CHECK(s.ToString().find("keys out of order") != std::string::npos);
  CheckScanStopsWithCorruption(**reader);

  // Seeking into the swapped segments fails the same way.
  std::unique_ptr<Iterator> it = (*reader)->NewIterator();
  it->Seek(Key(5));
  CHECK(!it->Valid());
  CHECK(it->status().IsCorruption());
}

TEST_CASE("a segment with two keys swapped inside (checksum recomputed) gives Corruption") {
  testing::TempDir dir;
  const std::string path = dir.File("L0_001.sst");
  Table t = BuildTable(path);
  SwapBytes(&t.bytes, t.EntryOffset(1, 1), t.EntryOffset(1, 2), t.EntrySize());
  t.Reseal(t.segments[1]);
  WriteFile(path, t.bytes);

  auto reader = SSTableReader::Open(Env::Default(), path);
  REQUIRE(reader.ok());
  // Keys 5 and 6 are swapped: without the order check, Get(5) would meet 6
  // first and answer "absent".
  for (int i : {4, 5, 6, 7}) {
    TableLookup lookup;
    Status s = (*reader)->Get(Key(i), &lookup);
    CHECK_MESSAGE(s.IsCorruption(), Key(i));
    CHECK(s.message() == path + ": data segment at offset " + std::to_string(t.segments[1].offset) +
                             " has keys out of order");
  }
  // The other segments still answer.
  bool saw_corruption = false;
  for (int i : {0, 3, 8, 11}) CheckLookupNeverWrong(**reader, i, path, &saw_corruption);
  CHECK(!saw_corruption);
  CheckScanStopsWithCorruption(**reader);
}

TEST_CASE("a segment whose keys reach into the next segment's range gives Corruption") {
  testing::TempDir dir;
  const std::string path = dir.File("L0_001.sst");
  Table t = BuildTable(path);
  // The last key of segment 0 becomes Key(5), above segment 1's first key
  // Key(4): segment 0 is ascending in itself, the table is not.
  const size_t key_offset = t.EntryOffset(0, kInterval - 1) + 1;  // past the 1-byte length
  const std::string forged = Key(5);
  t.bytes.replace(key_offset, forged.size(), forged);
  t.Reseal(t.segments[0]);
  WriteFile(path, t.bytes);

  auto reader = SSTableReader::Open(Env::Default(), path);
  REQUIRE(reader.ok());
  TableLookup lookup;
  CHECK((*reader)->Get(Key(0), &lookup).IsCorruption());
  bool saw_corruption = false;
  for (int i = 0; i < kEntries; ++i) CheckLookupNeverWrong(**reader, i, path, &saw_corruption);
  CheckScanStopsWithCorruption(**reader);
}

TEST_CASE("a last segment with a key above the table's largest key gives Corruption") {
  testing::TempDir dir;
  const std::string path = dir.File("L0_001.sst");
  Table t = BuildTable(path);
  const size_t key_offset = t.EntryOffset(2, kInterval - 1) + 1;
  const std::string forged = Key(99);
  t.bytes.replace(key_offset, forged.size(), forged);
  t.Reseal(t.segments[2]);
  WriteFile(path, t.bytes);

  auto reader = SSTableReader::Open(Env::Default(), path);
  REQUIRE(reader.ok());
  TableLookup lookup;
  CHECK((*reader)->Get(Key(8), &lookup).IsCorruption());
  CheckScanStopsWithCorruption(**reader);
}

TEST_CASE("a table whose sparse index is out of order is refused at Open") {
  testing::TempDir dir;
  const std::string path = dir.File("L0_001.sst");
  Table t = BuildTable(path);
  // Index records are (len, first key, offset, size); swap the first keys of
  // records 1 and 2 (same length), so the index lists Key(8) before Key(4)
  // and each record still points at a real segment.
  std::string_view index(t.bytes.data() + t.footer.index.offset,
                         t.footer.index.size - sst::kChecksumSize);
  std::vector<size_t> key_offsets;
  std::string_view first_key;
  uint64_t ignored;
  while (!index.empty()) {
    const size_t record = static_cast<size_t>(index.data() - t.bytes.data());
    REQUIRE(GetLengthPrefixed(&index, &first_key));
    key_offsets.push_back(record + 1);
    REQUIRE(GetVarint64(&index, &ignored));
    REQUIRE(GetVarint64(&index, &ignored));
  }
  REQUIRE(key_offsets.size() == 3);
  SwapBytes(&t.bytes, key_offsets[1], key_offsets[2], Key(0).size());
  t.Reseal(t.footer.index);
  WriteFile(path, t.bytes);

  auto reader = SSTableReader::Open(Env::Default(), path);
  REQUIRE(!reader.ok());
  CHECK(reader.status().IsCorruption());
  CHECK(reader.status().message() == path + ": index block malformed");
}

TEST_CASE("the untouched table answers every key: the forgeries above are the only cause") {
  testing::TempDir dir;
  const std::string path = dir.File("L0_001.sst");
  Table t = BuildTable(path);
  auto reader = SSTableReader::Open(Env::Default(), path);
  REQUIRE(reader.ok());
  bool saw_corruption = false;
  for (int i = 0; i < kEntries; ++i) CheckLookupNeverWrong(**reader, i, path, &saw_corruption);
  CHECK(!saw_corruption);
  std::unique_ptr<Iterator> it = (*reader)->NewIterator();
  int n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) CHECK(it->key() == Key(n++));
  CHECK(it->status().ok());
  CHECK(n == kEntries);
}

}  // namespace
}  // namespace lsmd
