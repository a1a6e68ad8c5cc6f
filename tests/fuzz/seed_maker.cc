// fuzz_seed_maker: writes the binary seeds of tests/fuzz/corpus/ (SSTables,
// write-ahead logs and manifests made by the real writers), each prefixed
// with the mode byte its fuzz target reads first. Run it after a format
// change:  build-fuzz/tests/fuzz/fuzz_seed_maker tests/fuzz/corpus
// The request seeds are text and written by hand.
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/checksum.h"
#include "core/coding.h"
#include "core/env.h"
#include "core/manifest.h"
#include "core/sstable_builder.h"
#include "core/wal_writer.h"
#include "core/write_batch.h"

namespace {

// Mode bytes (see the header of each fuzz target).
constexpr char kRaw = 0x00;
constexpr char kRepair = 0x01;
constexpr char kRepairByteReads = 0x03;    // fuzz_wal: checksums repaired, 1-byte reads
constexpr char kRepairLongerClaim = 0x11;  // fuzz_wal: the reader is told a larger size
constexpr char kLegacyRaw = 0x40;          // fuzz_wal: a legacy `.log`, as is
constexpr char kLegacyRepair = 0x41;       // fuzz_wal: a legacy `.log`, records resealed
constexpr char kStructured = static_cast<char>(0x80);  // fuzz_wal: records, then damage

lsmd::Env* const env = lsmd::Env::Default();

void Check(const lsmd::Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "fuzz_seed_maker: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

std::string ReadAll(const std::string& path) {
  std::string bytes;
  Check(env->ReadFileToString(path, &bytes), "read back");
  return bytes;
}

void WriteSeed(const std::string& dir, const std::string& name, char mode, std::string_view body) {
  std::string bytes(1, mode);
  bytes.append(body);
  std::FILE* f = std::fopen((dir + "/" + name).c_str(), "wb");
  if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() ||
      std::fclose(f) != 0) {
    std::fprintf(stderr, "fuzz_seed_maker: cannot write %s/%s\n", dir.c_str(), name.c_str());
    std::exit(1);
  }
}

struct Entry {
  std::string key;
  lsmd::ValueKind kind;
  std::string value;
};

std::string BuildTable(const std::string& scratch, const std::vector<Entry>& entries,
                       int index_interval) {
  const std::string path = scratch + "/table.sst";
  auto file = env->NewWritableFile(path);
  Check(file.status(), "create table");
  lsmd::TableOptions options;
  options.index_interval = index_interval;
  lsmd::SSTableBuilder builder(options, std::move(*file));
  for (const Entry& e : entries) Check(builder.Add(e.key, e.kind, e.value), "add");
  lsmd::TableProperties props;
  Check(builder.Finish(&props), "finish table");
  return ReadAll(path);
}

std::vector<Entry> Entries(int n, std::string_view prefix) {
  std::vector<Entry> entries;
  for (int i = 0; i < n; ++i) {
    char key[32];
    std::snprintf(key, sizeof(key), "%.*s%04d", static_cast<int>(prefix.size()), prefix.data(), i);
    const bool tombstone = i % 5 == 2;
    entries.push_back({key, tombstone ? lsmd::ValueKind::kTombstone : lsmd::ValueKind::kPut,
                       tombstone ? "" : "v" + std::to_string(i * i)});
  }
  return entries;
}

// n puts whose entries all encode to the same number of bytes, so segments
// (and entries inside one) can be swapped in place.
std::vector<Entry> FixedWidthEntries(int n) {
  std::vector<Entry> entries;
  for (int i = 0; i < n; ++i) {
    char key[16], value[16];
    std::snprintf(key, sizeof(key), "key:%04d", i);
    std::snprintf(value, sizeof(value), "v%05d", i);
    entries.push_back({key, lsmd::ValueKind::kPut, value});
  }
  return entries;
}

void SwapRanges(std::string* bytes, size_t a, size_t b, size_t n) {
  for (size_t i = 0; i < n; ++i) std::swap((*bytes)[a + i], (*bytes)[b + i]);
}

// The shapes of a past finding (issue 11): keys out of order behind valid
// checksums. Twelve fixed-width entries in three equal segments of four.
void MakeOutOfOrderTables(const std::string& dir, const std::string& scratch) {
  const std::string table = BuildTable(scratch, FixedWidthEntries(12), 4);
  const size_t index_offset = lsmd::DecodeFixed64(table.data() + table.size() - 76);
  const size_t segment = index_offset / 3;
  const size_t entry = (segment - 8) / 4;
  // Whole segments swapped: each keeps its own valid checksum (raw mode).
  std::string swapped = table;
  SwapRanges(&swapped, 0, segment, segment);
  WriteSeed(dir, "segments-swapped-raw", kRaw, swapped);
  // Two entries swapped inside segment 1 (the fuzzer reseals it).
  std::string inside = table;
  SwapRanges(&inside, segment + entry, segment + 2 * entry, entry);
  WriteSeed(dir, "keys-swapped-in-segment", kRepair, inside);
}

void MakeTables(const std::string& dir, const std::string& scratch) {
  WriteSeed(dir, "one-entry", kRepair,
            BuildTable(scratch, {{"k", lsmd::ValueKind::kPut, "value"}}, 16));
  const std::string small = BuildTable(scratch, Entries(20, "key:"), 4);
  WriteSeed(dir, "twenty-entries-five-segments", kRepair, small);
  WriteSeed(dir, "twenty-entries-raw", kRaw, small);
  std::vector<Entry> binary = {{std::string("\0", 1), lsmd::ValueKind::kPut, "zero"},
                               {"\x7f", lsmd::ValueKind::kTombstone, ""},
                               {"\xff\xfe", lsmd::ValueKind::kPut, std::string(40, 'x')}};
  WriteSeed(dir, "binary-keys", kRepair, BuildTable(scratch, binary, 2));
  WriteSeed(dir, "sixty-entries-four-segments", kRepair,
            BuildTable(scratch, Entries(60, "user:"), 16));
  MakeOutOfOrderTables(dir, scratch);
}

std::string BuildLog(const std::string& scratch, const std::vector<lsmd::WriteBatch>& batches) {
  // fuzz_wal reads every log as number 1, which its checksums depend on.
  const std::string path = scratch + "/000001.wal";
  auto file = env->NewWritableFile(path);
  Check(file.status(), "create log");
  lsmd::WalWriter writer(std::move(*file), 1);
  for (const lsmd::WriteBatch& b : batches) Check(writer.AddRecord(b.Contents()), "add record");
  Check(writer.Close(), "close log");
  return ReadAll(path);
}

// The legacy `.log` format: fixed32 length | fixed64 XXH3-64 | payload.
std::string BuildLegacyLog(const std::vector<lsmd::WriteBatch>& batches) {
  std::string log;
  for (const lsmd::WriteBatch& b : batches) {
    lsmd::PutFixed32(&log, static_cast<uint32_t>(b.Contents().size()));
    lsmd::PutFixed64(&log, lsmd::Checksum(b.Contents()));
    log.append(b.Contents());
  }
  return log;
}

// A structured fuzz_wal input (see its header): records of these sizes and
// flags, then one kind of damage with its two parameters.
std::string Structured(uint8_t damage, uint32_t position, uint16_t count,
                       const std::vector<std::pair<uint16_t, uint8_t>>& records) {
  std::string in(1, static_cast<char>(damage));
  lsmd::PutFixed32(&in, position);
  in.push_back(static_cast<char>(count & 0xff));
  in.push_back(static_cast<char>(count >> 8));
  in.push_back(static_cast<char>(records.size() - 1));
  for (const auto& [size, flags] : records) {
    in.push_back(static_cast<char>(size & 0xff));
    in.push_back(static_cast<char>(size >> 8));
    in.push_back(static_cast<char>(flags));
  }
  return in + "payload bytes: k\x01v";
}

void MakeLogs(const std::string& dir, const std::string& scratch) {
  lsmd::WriteBatch one;
  one.SetSequence(1);
  one.Put("user:42", "Alice");
  WriteSeed(dir, "one-put", kRepair, BuildLog(scratch, {one}));

  std::vector<lsmd::WriteBatch> batches(3);
  uint64_t seq = 1;
  for (int b = 0; b < 3; ++b) {
    batches[b].SetSequence(seq);
    for (int i = 0; i < 3; ++i, ++seq) {
      const std::string key = "k" + std::to_string(b * 3 + i);
      if (i == 1) {
        batches[b].Delete(key);
      } else {
        batches[b].Put(key, std::string(b * 4 + i, 'v'));
      }
    }
  }
  const std::string log = BuildLog(scratch, batches);
  WriteSeed(dir, "three-batches", kRepair, log);
  WriteSeed(dir, "three-batches-raw", kRaw, log);
  WriteSeed(dir, "three-batches-byte-reads", kRepairByteReads, log);
  WriteSeed(dir, "three-batches-size-overstated", kRepairLongerClaim, log);
  WriteSeed(dir, "torn-tail", kRaw, log.substr(0, log.size() - 5));
  WriteSeed(dir, "zero-filled-tail", kRaw, log + std::string(24, '\0'));

  const std::string legacy = BuildLegacyLog(batches);
  WriteSeed(dir, "legacy-three-batches", kLegacyRepair, legacy);
  WriteSeed(dir, "legacy-torn-tail", kLegacyRaw, legacy.substr(0, legacy.size() - 5));

  // Structured: small records around one of four blocks (80000 bytes: size
  // 20000, times 4) and one holding this log's own fragments.
  const std::vector<std::pair<uint16_t, uint8_t>> shapes = {{100, 0}, {0, 0},     {20000, 1},
                                                            {300, 2}, {32761, 0}, {50, 0}};
  WriteSeed(dir, "structured-intact", kStructured, Structured(0, 0, 0, shapes));
  WriteSeed(dir, "structured-cut", kStructured, Structured(1, 70000, 0, shapes));
  WriteSeed(dir, "structured-zero-tail", kStructured, Structured(2, 0, 5000, shapes));
  WriteSeed(dir, "structured-lost-sectors", kStructured,
            Structured(3, 3, 10, {{100, 0}, {20000, 1}}));
  WriteSeed(dir, "structured-flipped-bit", kStructured, Structured(4, 12345, 2, shapes));
}

void MakeManifests(const std::string& dir) {
  lsmd::ManifestState empty;
  WriteSeed(dir, "empty", kRepair, lsmd::EncodeManifest(empty));

  lsmd::ManifestState state;
  state.next_table_number = 9;
  state.next_log_number = 5;
  state.log_number = 4;
  state.tables = {{0, 7, 4096, 100, 1024, "a", "m"},
                  {0, 8, 2048, 50, 512, "c", "z"},
                  {1, 3, 65536, 2000, 20480, "a", "k"},
                  {2, 1, 131072, 4000, 40960, std::string("\0", 1), "\xff"}};
  state.compact_pointers[1] = "k";
  const std::string encoded = lsmd::EncodeManifest(state);
  WriteSeed(dir, "four-tables", kRepair, encoded);
  WriteSeed(dir, "four-tables-raw", kRaw, encoded);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <tests/fuzz/corpus>\n", argv[0]);
    return 2;
  }
  const std::string corpus = argv[1];
  char scratch_template[] = "/tmp/lsmd-fuzz-seeds-XXXXXX";
  if (::mkdtemp(scratch_template) == nullptr) return 1;
  const std::string scratch = scratch_template;
  for (const char* target : {"sstable", "wal", "manifest"}) {
    std::filesystem::create_directories(corpus + "/" + target);
  }
  MakeTables(corpus + "/sstable", scratch);
  MakeLogs(corpus + "/wal", scratch);
  MakeManifests(corpus + "/manifest");
  std::filesystem::remove_all(scratch);
  return 0;
}
