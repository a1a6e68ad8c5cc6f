// The write-ahead log's format and its round trips: blocks, fragments,
// trailers, checksums that fold in the log number, bounded reads, I/O
// errors, and the legacy `.log` reader. Damage and its verdicts are in
// wal_recovery_test.cc.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <string>
#include <vector>

#include "core/coding.h"
#include "core/env.h"
#include "core/wal_legacy_reader.h"
#include "core/wal_reader.h"
#include "core/wal_writer.h"
#include "support/fault_injection_env.h"
#include "test_util.h"
#include "wal_test_util.h"

namespace lsmd {
namespace {

using Outcome = LogRecordReader::Outcome;
using testing::AppendRecords;
using testing::EncodeLegacyRecord;
using testing::EncodeLog;
using testing::ExpectedChecksum;
using testing::LogLayout;
using testing::Payload;
using testing::ReadLog;
using testing::ReadRaw;
using testing::ReadResult;
using testing::TempDir;
using testing::WriteRaw;

constexpr uint64_t kLog = 1;

void WriteLog(Env* env, const std::string& path, uint64_t number,
              const std::vector<std::string>& records) {
  auto file = env->NewWritableFile(path);
  REQUIRE(file.ok());
  WalWriter writer(std::move(*file), number);
  for (const auto& r : records) REQUIRE(writer.AddRecord(r).ok());
  REQUIRE(writer.Sync().ok());
  REQUIRE(writer.Close().ok());
}

void CheckRoundTrip(const std::vector<std::string>& records) {
  TempDir dir;
  const std::string path = dir.File("000001.wal");
  WriteLog(Env::Default(), path, kLog, records);
  ReadResult r = ReadLog(Env::Default(), path, kLog);
  CHECK(r.end == Outcome::kEof);
  CHECK(r.status.ok());
  REQUIRE(r.records.size() == records.size());
  for (size_t i = 0; i < records.size(); ++i)
    CHECK_MESSAGE(r.records[i] == records[i], "record ", i);
  CHECK(r.good_bytes == *Env::Default()->GetFileSize(path));
}

TEST_CASE("records of many sizes round-trip") {
  std::vector<std::string> records = {"", "x", Payload(1 << 20, 1), "", Payload(100, 2)};
  std::mt19937 rng(3);
  for (int i = 0; i < 300; ++i) {
    const size_t size = (i % 10 == 0) ? 30000 + rng() % 70000 : rng() % 2000;
    records.push_back(Payload(size, 10 + i));
  }
  records.push_back(Payload(3 << 20, 4));  // several MiB: about a hundred fragments
  records.push_back("");
  CheckRoundTrip(records);
}

TEST_CASE("records around the block size round-trip") {
  for (size_t size = kWalMaxFragmentPayload - 3; size <= kWalMaxFragmentPayload + 3; ++size) {
    CAPTURE(size);
    CheckRoundTrip({Payload(size, 1), Payload(size, 2), "tail"});
    CheckRoundTrip({Payload(2 * kWalBlockSize - 2 * kWalHeaderSize - size, 3), Payload(size, 4)});
  }
  // The first record leaves `left` bytes in block 0: a trailer when fewer
  // than a header, an empty FIRST fragment when exactly a header.
  for (size_t left = 0; left <= kWalHeaderSize + 2; ++left) {
    CAPTURE(left);
    const std::string first = Payload(kWalBlockSize - kWalHeaderSize - left, 5);
    CheckRoundTrip({first, "", "after"});
    CheckRoundTrip({first, Payload(kWalBlockSize, 6)});
    CheckRoundTrip({first});
  }
}

TEST_CASE("a record is one FULL fragment: checksum, length, type, payload") {
  const std::string log = EncodeLog(7, {"hello"});
  REQUIRE(log.size() == kWalHeaderSize + 5);
  CHECK(DecodeFixed32(log.data()) == ExpectedChecksum(7, 1, "hello"));
  CHECK(log[4] == 5);
  CHECK(log[5] == 0);
  CHECK(log[6] == 1);  // FULL
  CHECK(log.substr(kWalHeaderSize) == "hello");
  CHECK(log == std::string("\xd8\x31\xdd\x1e\x05\x00\x01hello", 12));  // docs/FORMAT.md
  // An empty record is an empty FULL fragment.
  const std::string empty = EncodeLog(7, {""});
  REQUIRE(empty.size() == kWalHeaderSize);
  CHECK(DecodeFixed32(empty.data()) == ExpectedChecksum(7, 1, ""));
  CHECK(empty[6] == 1);
}

TEST_CASE("a long record is FIRST, MIDDLE, LAST, each filling its block") {
  const std::string payload = Payload(2 * kWalBlockSize + 1000, 9);
  const std::string log = EncodeLog(3, {payload});
  const auto layout = LogLayout(log);
  REQUIRE(layout.size() == 1);
  const auto& f = layout[0].fragments;
  REQUIRE(f.size() == 3);
  CHECK(f[0].offset == 0);
  CHECK(f[0].type == 2);
  CHECK(f[0].length == kWalMaxFragmentPayload);
  CHECK(f[1].offset == kWalBlockSize);
  CHECK(f[1].type == 3);
  CHECK(f[1].length == kWalMaxFragmentPayload);
  CHECK(f[2].offset == 2 * kWalBlockSize);
  CHECK(f[2].type == 4);
  CHECK(f[2].length == payload.size() - 2 * kWalMaxFragmentPayload);
  size_t consumed = 0;
  for (const auto& fragment : f) {
    const std::string_view piece(payload.data() + consumed, fragment.length);
    CHECK(std::string_view(log).substr(fragment.offset + kWalHeaderSize, fragment.length) == piece);
    CHECK(DecodeFixed32(log.data() + fragment.offset) == ExpectedChecksum(3, fragment.type, piece));
    consumed += fragment.length;
  }
  CHECK(log.size() == 2 * kWalBlockSize + kWalHeaderSize + f[2].length);
}

TEST_CASE("fewer than a header's bytes at a block's end are a zero trailer") {
  for (size_t left = 1; left < kWalHeaderSize; ++left) {
    CAPTURE(left);
    const std::string log =
        EncodeLog(kLog, {Payload(kWalBlockSize - kWalHeaderSize - left, 1), "next"});
    REQUIRE(log.size() == kWalBlockSize + kWalHeaderSize + 4);
    CHECK(log.substr(kWalBlockSize - left, left) == std::string(left, '\0'));
    CHECK(log[kWalBlockSize + 6] == 1);  // the next record starts block 1
  }
  // Exactly a header's bytes left: an empty FIRST there, the rest in block 1.
  const std::string log = EncodeLog(kLog, {Payload(kWalBlockSize - 2 * kWalHeaderSize, 1), "next"});
  const auto layout = LogLayout(log);
  REQUIRE(layout.size() == 2);
  REQUIRE(layout[1].fragments.size() == 2);
  CHECK(layout[1].fragments[0].type == 2);
  CHECK(layout[1].fragments[0].length == 0);
  CHECK(layout[1].fragments[1].offset == kWalBlockSize);
}

TEST_CASE("a writer continues the blocks of a log that already holds bytes") {
  std::string log = EncodeLog(kLog, {Payload(kWalBlockSize - 100, 1)});
  AppendRecords(&log, kLog, {Payload(500, 2), Payload(40000, 3)});
  CHECK(log ==
        EncodeLog(kLog, {Payload(kWalBlockSize - 100, 1), Payload(500, 2), Payload(40000, 3)}));
}

TEST_CASE("last_record_bytes counts headers, payload and trailer") {
  std::string log;
  WalWriter writer(std::make_unique<testing::StringFile>(&log), kLog);
  REQUIRE(writer.AddRecord("abc").ok());
  CHECK(writer.last_record_bytes() == kWalHeaderSize + 3);
  REQUIRE(writer.AddRecord(Payload(kWalBlockSize - 2 * kWalHeaderSize - 3 - 2, 1)).ok());
  const uint64_t before = log.size();
  REQUIRE(writer.AddRecord("x").ok());  // 2-byte trailer first
  CHECK(writer.last_record_bytes() == log.size() - before);
  CHECK(writer.last_record_bytes() == 2 + kWalHeaderSize + 1);
}

TEST_CASE("the log number is part of every checksum") {
  TempDir dir;
  const std::string path = dir.File("000005.wal");
  WriteLog(Env::Default(), path, 5, {"one", "two", "three", "four", Payload(50000, 1)});
  CHECK(ReadLog(Env::Default(), path, 5).records.size() == 5);
  // The same bytes under another number (a copied or recycled file) verify
  // nowhere: no record comes back, and the run of writer's headers makes it
  // corruption rather than a torn tail to cut away.
  ReadResult r = ReadLog(Env::Default(), path, 6);
  CHECK(r.records.empty());
  CHECK(r.end == Outcome::kCorruption);
  CHECK(r.good_bytes == 0);
}

TEST_CASE("an empty log is kEof with good_bytes 0") {
  TempDir dir;
  const std::string path = dir.File("000001.wal");
  WriteLog(Env::Default(), path, kLog, {});
  ReadResult r = ReadLog(Env::Default(), path, kLog);
  CHECK(r.end == Outcome::kEof);
  CHECK(r.records.empty());
  CHECK(r.good_bytes == 0);
}

// Hands out the bytes of a string and remembers the largest read asked for.
class CountingFile final : public SequentialFile {
 public:
  explicit CountingFile(std::string bytes) : bytes_(std::move(bytes)) {}
  Status Read(size_t n, std::string* scratch, std::string_view* result) override {
    largest_ = std::max(largest_, n);
    scratch->assign(bytes_.substr(std::min(pos_, bytes_.size()), n));
    pos_ += scratch->size();
    *result = *scratch;
    return Status::OK();
  }
  size_t largest_read() const { return largest_; }
  size_t bytes_read() const { return std::min(pos_, bytes_.size()); }

 private:
  std::string bytes_;
  size_t pos_ = 0;
  size_t largest_ = 0;
};

TEST_CASE("the reader never asks for more than one block at a time") {
  const std::string big = Payload(5 << 20, 1);
  const std::string log = EncodeLog(kLog, {"a", big, "b"});
  auto file = std::make_unique<CountingFile>(log);
  CountingFile* counting = file.get();
  WalReader reader(std::move(file), "mem.wal", log.size(), kLog);
  ReadResult r = testing::ReadAll(&reader);
  CHECK(r.end == Outcome::kEof);
  REQUIRE(r.records.size() == 3);
  CHECK(r.records[1] == big);
  CHECK(counting->largest_read() <= kWalBlockSize);
  CHECK(counting->bytes_read() == log.size());
}

TEST_CASE("read errors are kIOError with the Status") {
  TempDir dir;
  const std::string path = dir.File("000001.wal");
  WriteLog(Env::Default(), path, kLog, {"a", "b"});
  FaultInjectionEnv env(Env::Default());
  env.SetReadFault(EIO);
  ReadResult r = ReadLog(&env, path, kLog);
  CHECK(r.end == Outcome::kIOError);
  CHECK(r.status.IsIOError());
  CHECK(r.records.empty());
  CHECK(env.read_faults_injected() > 0);
}

TEST_CASE("write errors come back from AddRecord and Sync") {
  TempDir dir;
  const std::string path = dir.File("000001.wal");
  FaultInjectionEnv env(Env::Default());
  auto file = env.NewWritableFile(path);
  REQUIRE(file.ok());
  WalWriter writer(std::move(*file), kLog);
  REQUIRE(writer.AddRecord("fine").ok());
  CHECK(writer.size() == kWalHeaderSize + 4);
  env.SetWriteFault(ENOSPC);
  Status s = writer.AddRecord("no room");
  CHECK(s.IsNoSpace());
  CHECK(writer.Sync().IsNoSpace());
  env.ClearFaults();
  CHECK(writer.Close().ok());
}

TEST_CASE("the reader survives arbitrary garbage") {
  std::mt19937 rng(99);
  for (int round = 0; round < 300; ++round) {
    std::string raw = Payload(rng() % 3000, 1000 + round);
    if (round % 2 == 0 && raw.size() >= kWalHeaderSize) {
      // Plausible headers so the reader gets past the type and length checks.
      raw[4] = static_cast<char>(rng() % 64);
      raw[5] = 0;
      raw[6] = static_cast<char>(1 + rng() % 4);
    }
    if (round % 3 == 0) raw = EncodeLog(kLog, {Payload(rng() % 100, round)}) + raw;
    WalReader reader(std::make_unique<CountingFile>(raw), "garbage.wal", raw.size(), kLog);
    ReadResult r = testing::ReadAll(&reader);
    CHECK(r.end != Outcome::kIOError);
    CHECK(r.good_bytes <= raw.size());
    if (r.end == Outcome::kEof) CHECK(r.status.ok());
    if (r.end == Outcome::kTornTail || r.end == Outcome::kCorruption) {
      CHECK(r.status.IsCorruption());
    }
  }
}

// --- the legacy `.log` format, read only ---

ReadResult ReadLegacy(const std::string& contents) {
  LegacyWalReader reader(std::make_unique<CountingFile>(contents), "000003.log", contents.size());
  return testing::ReadAll(&reader);
}

TEST_CASE("legacy logs: records of many sizes are read back") {
  std::vector<std::string> records = {"", "x", Payload(200000, 1), Payload(70000, 2), ""};
  std::string log;
  for (const auto& r : records) log += EncodeLegacyRecord(r);
  ReadResult r = ReadLegacy(log);
  CHECK(r.end == Outcome::kEof);
  CHECK(r.records == records);
  CHECK(r.good_bytes == log.size());
}

TEST_CASE("legacy logs: a bad record is a torn tail only when nothing follows it") {
  const std::string one = EncodeLegacyRecord(Payload(100, 1));
  const std::string two = EncodeLegacyRecord(Payload(100, 2));
  const std::string whole = one + two;
  auto verdict = [](const std::string& log) { return ReadLegacy(log); };

  ReadResult r = verdict(whole.substr(0, whole.size() - 10));  // cut inside the payload
  CHECK(r.end == Outcome::kTornTail);
  CHECK(r.records.size() == 1);
  CHECK(r.good_bytes == one.size());
  CHECK(verdict(whole.substr(0, one.size() + 5)).end == Outcome::kTornTail);  // inside the header
  CHECK(verdict(whole + std::string(100, '\0')).end == Outcome::kTornTail);   // zero-filled tail

  std::string flipped = whole;
  flipped[one.size() - 1] ^= 0x01;  // the first record's payload, the second after it
  r = verdict(flipped);
  CHECK(r.end == Outcome::kCorruption);
  CHECK(r.records.empty());
  CHECK(r.status.message().find("000003.log: bad log record at offset 0") == 0);
  CHECK(verdict(whole + std::string(20, '\0') + "x").end == Outcome::kCorruption);
  std::string huge = whole;
  huge[one.size() + 3] = 0x7f;  // a length no writer makes
  CHECK(verdict(huge).end == Outcome::kCorruption);
}

TEST_CASE("legacy logs: no scan for later records, so a value holding one is harmless") {
  // The old reader scanned the rest of the file for any valid record after
  // a record running past the end; a value holding one made Open refuse.
  const std::string planted = EncodeLegacyRecord("looks like a record");
  const std::string acked = EncodeLegacyRecord("value:" + planted);
  const std::string torn = EncodeLegacyRecord(Payload(300, 3)).substr(0, 100);
  ReadResult r = ReadLegacy(acked + torn);
  CHECK(r.end == Outcome::kTornTail);
  REQUIRE(r.records.size() == 1);
  CHECK(r.records[0] == "value:" + planted);
  CHECK(r.good_bytes == acked.size());
}

}  // namespace
}  // namespace lsmd
