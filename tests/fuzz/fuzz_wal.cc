// fuzz_wal: a write-ahead log replayed the way recovery does it: WalReader
// ReadRecord until it stops, each record through WriteBatch::FromContents and
// Iterate. Properties: no crash or out-of-bounds read (ASan); the reader's
// accounting adds up (good_bytes is the sum of the whole records read, and a
// clean end of file is the end of the file); stopping is sticky; a batch that
// FromContents accepts iterates without error, numbers its entries
// consecutively from its sequence, and rebuilds to the same entries.
//
// Input: one mode byte, then the log file.
//   bit 0      recompute each record's XXH3 before reading, so mutations reach
//              the batch parser (most seeds set it); clear: read as is
//   bits 1-3   largest chunk one SequentialFile::Read returns (short reads):
//              0 = unlimited, n = 1 << (2n - 2) bytes (1, 4, ..., 4096)
//   bits 4-5   the size WalReader is told: 0 or 3 the real size, 1 more
//              (the file turns out shorter), 2 fewer bytes
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/checksum.h"
#include "core/coding.h"
#include "core/env.h"
#include "core/wal_reader.h"
#include "core/wal_writer.h"
#include "core/write_batch.h"

namespace {

using lsmd::Status;
using lsmd::WalReader;

constexpr uint8_t kRepairChecksums = 1;
constexpr uint64_t kSizeSkew = 7;  // bytes the claimed size is off by, modes 1 and 2

void Require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "fuzz_wal: property violated: %s\n", what);
  std::abort();
}

// Hands out the bytes at most max_chunk at a time (0: no limit).
class MemorySequentialFile final : public lsmd::SequentialFile {
 public:
  MemorySequentialFile(std::string_view bytes, size_t max_chunk)
      : bytes_(bytes), max_chunk_(max_chunk) {}
  Status Read(size_t n, std::string* scratch, std::string_view* result) override {
    if (max_chunk_ != 0) n = std::min(n, max_chunk_);
    scratch->assign(bytes_.substr(std::min(pos_, bytes_.size()), n));
    pos_ += scratch->size();
    *result = *scratch;
    return Status::OK();
  }

 private:
  std::string_view bytes_;
  size_t max_chunk_;
  size_t pos_ = 0;
};

// Walks the records as the writer lays them out and reseals each whole one.
// An all-zero header is left alone: it stands for a zero-filled tail.
void RepairChecksums(std::string* log) {
  size_t offset = 0;
  while (log->size() - offset >= lsmd::kWalHeaderSize) {
    char* header = log->data() + offset;
    const uint64_t length = lsmd::DecodeFixed32(header);
    if (length == 0 && lsmd::DecodeFixed64(header + 4) == 0) return;
    if (length > log->size() - offset - lsmd::kWalHeaderSize) return;
    uint64_t sum = lsmd::Checksum(header + lsmd::kWalHeaderSize, length);
    for (int i = 0; i < 8; ++i, sum >>= 8) header[4 + i] = static_cast<char>(sum & 0xff);
    offset += lsmd::kWalHeaderSize + length;
  }
}

struct BatchEntry {
  uint64_t sequence;
  lsmd::ValueKind kind;
  std::string key;
  std::string value;
  bool operator==(const BatchEntry&) const = default;
};

std::vector<BatchEntry> Entries(const lsmd::WriteBatch& batch) {
  std::vector<BatchEntry> entries;
  Status s = batch.Iterate(
      [&](uint64_t seq, lsmd::ValueKind kind, std::string_view key, std::string_view value) {
        entries.push_back({seq, kind, std::string(key), std::string(value)});
      });
  Require(s.ok(), "a batch FromContents accepted iterates without error");
  return entries;
}

void CheckRecord(const std::string& record) {
  lsmd::WriteBatch batch;
  if (!lsmd::WriteBatch::FromContents(record, &batch).ok()) return;
  Require(batch.Contents() == record, "FromContents adopts the record as is");
  const std::vector<BatchEntry> entries = Entries(batch);
  Require(entries.size() == batch.count(), "Iterate visits count() entries");
  lsmd::WriteBatch rebuilt;
  rebuilt.SetSequence(batch.sequence());
  for (size_t i = 0; i < entries.size(); ++i) {
    Require(entries[i].sequence == batch.sequence() + i, "sequence numbers are consecutive");
    if (entries[i].kind == lsmd::ValueKind::kPut) {
      rebuilt.Put(entries[i].key, entries[i].value);
    } else {
      Require(entries[i].value.empty(), "a tombstone carries no value");
      rebuilt.Delete(entries[i].key);
    }
  }
  Require(Entries(rebuilt) == entries, "Put/Delete rebuild the same entries");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string log(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (mode & kRepairChecksums) RepairChecksums(&log);

  const int chunk_mode = (mode >> 1) & 7;
  const size_t max_chunk = chunk_mode == 0 ? 0 : size_t{1} << (2 * chunk_mode - 2);
  const int size_mode = (mode >> 4) & 3;
  uint64_t claimed_size = log.size();
  if (size_mode == 1) claimed_size += kSizeSkew;
  if (size_mode == 2) claimed_size -= std::min<uint64_t>(kSizeSkew, claimed_size);

  WalReader reader(std::make_unique<MemorySequentialFile>(log, max_chunk), "fuzz.log",
                   claimed_size);
  std::string record;
  uint64_t whole_record_bytes = 0;
  WalReader::Outcome outcome;
  while ((outcome = reader.ReadRecord(&record)) == WalReader::Outcome::kRecord) {
    whole_record_bytes += lsmd::kWalHeaderSize + record.size();
    Require(reader.good_bytes() == whole_record_bytes, "good_bytes sums the records read");
    CheckRecord(record);
  }
  Require(record.empty(), "no record is returned with a stop");
  Require(outcome != WalReader::Outcome::kIOError, "memory reads never fail");
  Require(reader.good_bytes() == whole_record_bytes, "a stop does not move good_bytes");
  Require(reader.good_bytes() <= std::min<uint64_t>(claimed_size, log.size()),
          "good_bytes stays inside the file");
  if (outcome == WalReader::Outcome::kEof) {
    Require(reader.status().ok(), "a clean end has an OK status");
    Require(reader.good_bytes() == std::min<uint64_t>(claimed_size, log.size()),
            "a clean end of the log is the end of the file");
  } else {
    Require(reader.status().IsCorruption(), "torn tails and bad records are Corruption");
  }
  Require(reader.ReadRecord(&record) == outcome && record.empty(), "stopping is sticky");
  return 0;
}
