// fuzz_wal: write-ahead logs read the way recovery reads them, in two kinds
// of input chosen by bit 7 of the first (mode) byte.
//
// Raw (bit 7 clear): the rest of the input is a log file, read with WalReader
// (or, bit 6, with LegacyWalReader as a `.log`), each record through
// WriteBatch::FromContents and Iterate. Properties: no crash or
// out-of-bounds read (ASan); stopping is sticky and returns no record;
// good_bytes only grows and stays inside the file; a clean end of file is
// the end of the file or inside a block's trailer (the legacy reader: the
// sum of its records); every verdict but a clean end is a Corruption
// status; a batch FromContents accepts iterates without error, numbers its
// entries from its sequence and rebuilds to the same entries.
//   bit 0      reseal every fragment (or legacy record) laid out as a writer
//              would, so mutations reach the batch parser
//   bits 1-3   largest chunk one SequentialFile::Read returns (short reads):
//              0 = unlimited, n = 1 << (2n - 2) bytes (1, 4, ..., 4096)
//   bits 4-5   the size the reader is told: 0 or 3 the real size, 1 more
//              (the file turns out shorter), 2 fewer bytes
//
// Structured (bit 7 set, bits 1-3 as above but at least 512-byte reads):
// the input describes records,
// which WalWriter writes, and one kind of damage done to the log; the reader
// must give back exactly the records the damage left whole, in order, and a
// verdict that fits the damage (wal_reader.h's tail rule):
//   byte 1    damage: 0 none, 1 cut the file, 2 append zeros, 3 lose 512-byte
//             sectors of the last record (a power loss under sync always),
//             4 flip a bit in one record
//   bytes 2-5 fixed32 position parameter; bytes 6-7 fixed16 count parameter
//   byte 8    number of records (1..16, at most 80 KiB in all)
//   then per record: fixed16 size, u8 flags (bit 0: size * 4; bit 1: the
//             payload is this log's own fragments, a value a client could
//             plant); payload bytes come from the rest of the input
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
#include "core/wal_legacy_reader.h"
#include "core/wal_reader.h"
#include "core/wal_writer.h"
#include "core/write_batch.h"

namespace {

using lsmd::kWalBlockSize;
using lsmd::kWalHeaderSize;
using lsmd::LogRecordReader;
using lsmd::Status;
using Outcome = LogRecordReader::Outcome;

constexpr uint8_t kRepairChecksums = 0x01;
constexpr uint8_t kLegacy = 0x40;
constexpr uint8_t kStructured = 0x80;
constexpr uint64_t kSizeSkew = 7;   // bytes the claimed size is off by, modes 1 and 2
constexpr uint64_t kLogNumber = 1;  // the seeds' logs are 000001.wal
// Enough for a record of three blocks (FIRST, MIDDLE, LAST), small enough
// to keep an input near a millisecond under ASan.
constexpr size_t kMaxStructuredLog = 80 * 1024;
constexpr size_t kMinStructuredChunk = 512;

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

class StringFile final : public lsmd::WritableFile {
 public:
  explicit StringFile(std::string* out) : out_(out) {}
  Status Append(std::string_view data) override {
    out_->append(data);
    return Status::OK();
  }
  Status Flush() override { return Status::OK(); }
  Status Sync() override { return Status::OK(); }
  Status Close() override { return Status::OK(); }
  uint64_t Size() const override { return out_->size(); }

 private:
  std::string* out_;
};

size_t MaxChunk(uint8_t mode) {
  const int chunk_mode = (mode >> 1) & 7;
  return chunk_mode == 0 ? 0 : size_t{1} << (2 * chunk_mode - 2);
}

// Reseals every fragment where a writer would have put one; the rest of a
// block after anything else is left alone.
void RepairFragments(std::string* log) {
  uint64_t at = 0;
  while (at < log->size()) {
    const uint64_t block_end = (at / kWalBlockSize + 1) * kWalBlockSize;
    if (block_end - at < kWalHeaderSize || at + kWalHeaderSize > log->size()) {
      at = block_end;
      continue;
    }
    char* header = log->data() + at;
    const uint8_t type = static_cast<uint8_t>(header[6]);
    const size_t length = static_cast<uint8_t>(header[4]) | size_t{static_cast<uint8_t>(header[5])}
                                                                << 8;
    const uint64_t end = at + kWalHeaderSize + length;
    if (type < 1 || type > lsmd::kWalMaxFragmentType || end > block_end || end > log->size()) {
      at = block_end;
      continue;
    }
    const uint32_t sum =
        lsmd::WalFragmentChecksum(kLogNumber, static_cast<lsmd::WalFragmentType>(type),
                                  std::string_view(header + kWalHeaderSize, length));
    for (int i = 0; i < 4; ++i) header[i] = static_cast<char>((sum >> (8 * i)) & 0xff);
    at = end;
  }
}

// The legacy layout: records back to back; an all-zero header is left alone
// (it stands for a zero-filled tail).
void RepairLegacy(std::string* log) {
  size_t offset = 0;
  while (log->size() - offset >= lsmd::kLegacyWalHeaderSize) {
    char* header = log->data() + offset;
    const uint64_t length = lsmd::DecodeFixed32(header);
    if (length == 0 && lsmd::DecodeFixed64(header + 4) == 0) return;
    if (length > log->size() - offset - lsmd::kLegacyWalHeaderSize) return;
    uint64_t sum = lsmd::Checksum(header + lsmd::kLegacyWalHeaderSize, length);
    for (int i = 0; i < 8; ++i, sum >>= 8) header[4 + i] = static_cast<char>(sum & 0xff);
    offset += lsmd::kLegacyWalHeaderSize + length;
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

struct Read {
  std::vector<std::string> records;
  Outcome outcome = Outcome::kEof;
  uint64_t good_bytes = 0;
};

// Reads to the end, checking the properties every reader has.
Read ReadAll(LogRecordReader* reader, uint64_t end) {
  Read read;
  std::string record;
  uint64_t last_good = 0;
  while ((read.outcome = reader->ReadRecord(&record)) == Outcome::kRecord) {
    Require(reader->good_bytes() > last_good, "good_bytes grows with every record");
    Require(reader->good_bytes() <= end, "good_bytes stays inside the file");
    last_good = reader->good_bytes();
    read.records.push_back(record);
  }
  Require(record.empty(), "no record is returned with a stop");
  Require(read.outcome != Outcome::kIOError, "memory reads never fail");
  Require(reader->good_bytes() == last_good, "a stop does not move good_bytes");
  if (read.outcome == Outcome::kEof) {
    Require(reader->status().ok(), "a clean end has an OK status");
  } else {
    Require(reader->status().IsCorruption(), "torn tails and bad records are Corruption");
  }
  Require(reader->ReadRecord(&record) == read.outcome && record.empty(), "stopping is sticky");
  read.good_bytes = last_good;
  return read;
}

void FuzzRaw(uint8_t mode, std::string log) {
  const bool legacy = (mode & kLegacy) != 0;
  if (mode & kRepairChecksums) legacy ? RepairLegacy(&log) : RepairFragments(&log);
  const int size_mode = (mode >> 4) & 3;
  uint64_t claimed_size = log.size();
  if (size_mode == 1) claimed_size += kSizeSkew;
  if (size_mode == 2) claimed_size -= std::min<uint64_t>(kSizeSkew, claimed_size);
  const uint64_t end = std::min<uint64_t>(claimed_size, log.size());
  auto reader =
      lsmd::NewLogRecordReader(std::make_unique<MemorySequentialFile>(log, MaxChunk(mode)),
                               "fuzz.wal", claimed_size, kLogNumber, legacy);
  const Read read = ReadAll(reader.get(), end);
  uint64_t legacy_bytes = 0;
  for (const std::string& r : read.records) {
    legacy_bytes += lsmd::kLegacyWalHeaderSize + r.size();
    CheckRecord(r);
  }
  if (legacy) Require(read.good_bytes == legacy_bytes, "legacy good_bytes sums the records");
  if (read.outcome == Outcome::kEof) {
    const uint64_t block_end = (read.good_bytes / kWalBlockSize + 1) * kWalBlockSize;
    const bool in_trailer =
        !legacy && block_end - read.good_bytes < kWalHeaderSize && end <= block_end;
    Require(read.good_bytes == end || in_trailer,
            "a clean end of the log is the end of the file, or inside a block trailer");
  }
}

// Takes bytes off the front of the input; zeros once it runs out.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint32_t Fixed(int bytes) {
    uint32_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint32_t{Byte()} << (8 * i);
    return v;
  }
  std::string_view Rest() const {
    return {reinterpret_cast<const char*>(data_) + std::min(pos_, size_),
            size_ - std::min(pos_, size_)};
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// This log's own fragments (a FULL one, then a FIRST..LAST chain): what a
// value a client planted looks like.
std::string_view Planted() {
  static const std::string planted = [] {
    std::string log;
    lsmd::WalWriter writer(std::make_unique<StringFile>(&log), kLogNumber);
    Require(writer.AddRecord("planted").ok(), "writing to memory never fails");
    Require(writer.AddRecord(std::string(kWalBlockSize, 'p')).ok(),
            "writing to memory never fails");
    return log;
  }();
  return planted;
}

void FuzzStructured(uint8_t mode, Input in) {
  const uint8_t damage = in.Byte() % 5;
  const uint32_t position = in.Fixed(4);
  const uint32_t count = in.Fixed(2);
  const size_t n = 1 + in.Byte() % 16;
  std::vector<std::pair<size_t, uint8_t>> shapes;
  for (size_t i = 0; i < n; ++i) {
    const size_t size = in.Fixed(2);
    const uint8_t flags = in.Byte();
    shapes.push_back({(flags & 1) ? size * 4 : size, flags});
  }
  const std::string_view fill = in.Rest();
  std::vector<std::string> records;
  size_t total = 0;
  for (const auto& [size, flags] : shapes) {
    if (total + size > kMaxStructuredLog) break;
    const std::string_view source = (flags & 2) ? Planted() : fill;
    // The source repeated from an offset of its own: planted fragments stay
    // whole. Doubling keeps a one-byte source from costing a call per byte.
    std::string r;
    r.reserve(size);
    if (!source.empty()) {
      r.append(source.substr(size % source.size()));
      r.append(source);
      while (r.size() < size) r.append(r, 0, std::min(r.size(), size - r.size()));
    }
    r.resize(size, '\0');
    total += size;
    records.push_back(std::move(r));
  }
  if (records.empty()) return;

  std::string log;
  std::vector<std::pair<uint64_t, uint64_t>> spans;  // each record's [start, end)
  {
    lsmd::WalWriter writer(std::make_unique<StringFile>(&log), kLogNumber);
    for (const std::string& r : records) {
      const uint64_t before = log.size();
      Require(writer.AddRecord(r).ok(), "writing to memory never fails");
      // A trailer, if one was written, comes before the record's first header.
      const uint64_t block_end = (before / kWalBlockSize + 1) * kWalBlockSize;
      const uint64_t start = block_end - before < kWalHeaderSize ? block_end : before;
      spans.push_back({start, log.size()});
    }
  }
  const size_t last = records.size() - 1;
  size_t expect_min = records.size(), expect_max = records.size();
  bool may_be_clean = true, may_be_torn = false, may_be_corrupt = false;
  switch (damage) {
    case 0:
      break;
    case 1: {  // a crash cut the file
      const uint64_t cut = position % (log.size() + 1);
      log.resize(cut);
      size_t whole = 0;
      while (whole < records.size() && spans[whole].second <= cut) ++whole;
      expect_min = expect_max = whole;
      may_be_clean = whole == records.size() || cut <= spans[whole].first;
      may_be_torn = !may_be_clean;
      break;
    }
    case 2:  // the size reached the disk before the data
      log.append(count % (2 * kWalBlockSize), '\0');
      may_be_torn = true;
      break;
    case 3: {  // sectors of the last, unsynced record never written
      const uint64_t start = spans[last].first;
      const uint64_t first = start / 512 + position % ((log.size() - start) / 512 + 1);
      const uint64_t from = std::max<uint64_t>(start, first * 512);
      const uint64_t to = std::min<uint64_t>(log.size(), (first + 1 + count % 64) * 512);
      for (uint64_t i = from; i < to; ++i) log[i] = 0;
      expect_min = last;
      may_be_torn = true;
      break;
    }
    case 4: {  // one bit of one record flipped
      const size_t victim = count % records.size();
      const auto [start, end] = spans[victim];
      const uint64_t at = start + position % (end - start);
      log[at] ^= static_cast<char>(1 << ((position >> 24) & 7));
      expect_min = expect_max = victim;
      may_be_clean = false;
      may_be_torn = true;
      may_be_corrupt = true;
      // A whole record starting in a later block is always found.
      for (size_t j = victim + 1; j < records.size(); ++j) {
        if (spans[j].first / kWalBlockSize > at / kWalBlockSize) may_be_torn = false;
      }
      break;
    }
  }
  const size_t chunk = MaxChunk(mode) == 0 ? 0 : std::max(MaxChunk(mode), kMinStructuredChunk);
  lsmd::WalReader reader(std::make_unique<MemorySequentialFile>(log, chunk), "fuzz.wal", log.size(),
                         kLogNumber);
  const Read read = ReadAll(&reader, log.size());
  Require(read.records.size() >= expect_min && read.records.size() <= expect_max,
          "the damage leaves exactly the records before it");
  for (size_t i = 0; i < read.records.size(); ++i) {
    Require(read.records[i] == records[i], "every record returned is one written, whole, in order");
  }
  Require(read.good_bytes == (read.records.empty() ? 0 : spans[read.records.size() - 1].second),
          "good_bytes is the end of the last record returned");
  Require(read.outcome != Outcome::kEof || may_be_clean || read.records.size() == records.size(),
          "a clean end only where no record was damaged");
  Require(read.outcome != Outcome::kEof || read.records.size() == records.size() || damage == 1,
          "a clean end keeps every record");
  Require(read.outcome != Outcome::kTornTail || may_be_torn, "torn only where a torn write fits");
  Require(read.outcome != Outcome::kCorruption || may_be_corrupt,
          "a crash's damage is never called corruption");
  // What the recovery modes make of it.
  if (read.outcome == Outcome::kTornTail || read.outcome == Outcome::kCorruption) {
    const auto tolerate =
        lsmd::ActionOnDamage(lsmd::WalRecoveryMode::kTolerateCorruptedTail, read.outcome);
    Require((tolerate == lsmd::WalDamageAction::kRefuse) == may_be_corrupt || damage == 4,
            "tolerate-tail opens after a crash's damage");
    Require(lsmd::ActionOnDamage(lsmd::WalRecoveryMode::kAbsolute, read.outcome) ==
                lsmd::WalDamageAction::kRefuse,
            "absolute refuses all damage");
    Require(lsmd::ActionOnDamage(lsmd::WalRecoveryMode::kPointInTime, read.outcome) ==
                lsmd::WalDamageAction::kCutAndStop,
            "point-in-time keeps the records before the damage");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  if (mode & kStructured) {
    FuzzStructured(mode, Input(data + 1, size - 1));
  } else {
    FuzzRaw(mode, std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  }
  return 0;
}
