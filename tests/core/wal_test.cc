#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <random>
#include <string>
#include <vector>

#include "core/coding.h"
#include "core/env.h"
#include "core/wal_reader.h"
#include "core/wal_writer.h"
#include "test_util.h"

namespace lsmd {
namespace {

using testing::TempDir;

std::string Payload(size_t size, uint32_t seed) {
  std::string s(size, '\0');
  std::mt19937 rng(seed);
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

void WriteLog(Env* env, const std::string& path, const std::vector<std::string>& records) {
  auto file = env->NewWritableFile(path);
  REQUIRE(file.ok());
  WalWriter writer(std::move(*file));
  for (const auto& r : records) REQUIRE(writer.AddRecord(r).ok());
  REQUIRE(writer.Sync().ok());
  REQUIRE(writer.Close().ok());
}

void WriteRaw(const std::string& path, std::string_view contents) {
  auto file = Env::Default()->NewWritableFile(path);
  REQUIRE(file.ok());
  REQUIRE((*file)->Append(contents).ok());
  REQUIRE((*file)->Close().ok());
}

std::string ReadRaw(const std::string& path) {
  std::string contents;
  REQUIRE(Env::Default()->ReadFileToString(path, &contents).ok());
  return contents;
}

struct ReadResult {
  std::vector<std::string> records;
  WalReader::Outcome end;
  uint64_t good_bytes;
  Status status;
};

// Reads records until the reader stops.
ReadResult ReadLog(Env* env, const std::string& path) {
  auto size = env->GetFileSize(path);
  REQUIRE(size.ok());
  auto file = env->NewSequentialFile(path);
  REQUIRE(file.ok());
  WalReader reader(std::move(*file), path, *size);
  ReadResult result;
  std::string record;
  while ((result.end = reader.ReadRecord(&record)) == WalReader::Outcome::kRecord) {
    result.records.push_back(record);
  }
  // The reader stays stopped.
  CHECK(reader.ReadRecord(&record) == result.end);
  CHECK(record.empty());
  result.good_bytes = reader.good_bytes();
  result.status = reader.status();
  return result;
}

uint64_t RecordSize(const std::string& payload) { return kWalHeaderSize + payload.size(); }

TEST_CASE("records of many sizes round-trip") {
  TempDir dir;
  const std::string path = dir.File("000001.log");
  std::vector<std::string> records = {"", "x", Payload(1 << 20, 1), "", Payload(100, 2)};
  std::mt19937 rng(3);
  for (int i = 0; i < 300; ++i) {
    // Sizes straddling the reader's 64 KiB read-ahead chunk, too.
    const size_t size = (i % 10 == 0) ? 60000 + rng() % 10000 : rng() % 2000;
    records.push_back(Payload(size, 10 + i));
  }
  records.push_back(Payload(1 << 20, 4));
  WriteLog(Env::Default(), path, records);

  ReadResult r = ReadLog(Env::Default(), path);
  CHECK(r.end == WalReader::Outcome::kEof);
  CHECK(r.status.ok());
  REQUIRE(r.records.size() == records.size());
  for (size_t i = 0; i < records.size(); ++i) CHECK(r.records[i] == records[i]);
  CHECK(r.good_bytes == *Env::Default()->GetFileSize(path));
}

TEST_CASE("an empty log is kEof with good_bytes 0") {
  TempDir dir;
  const std::string path = dir.File("empty.log");
  WriteLog(Env::Default(), path, {});
  ReadResult r = ReadLog(Env::Default(), path);
  CHECK(r.end == WalReader::Outcome::kEof);
  CHECK(r.records.empty());
  CHECK(r.good_bytes == 0);
}

TEST_CASE("the record format is length, XXH3, payload") {
  TempDir dir;
  const std::string path = dir.File("format.log");
  WriteLog(Env::Default(), path, {"hello"});
  const std::string raw = ReadRaw(path);
  REQUIRE(raw.size() == kWalHeaderSize + 5);
  CHECK(DecodeFixed32(raw.data()) == 5);
  CHECK(DecodeFixed64(raw.data() + 4) == XXH3_64bits("hello", 5));
  CHECK(raw.substr(kWalHeaderSize) == "hello");
}

TEST_CASE("a torn final record is kTornTail with good_bytes at the last whole record") {
  TempDir dir;
  const std::string path = dir.File("torn.log");
  const std::vector<std::string> records = {Payload(100, 1), Payload(200, 2), Payload(300, 3)};
  const uint64_t two_records = RecordSize(records[0]) + RecordSize(records[1]);
  const uint64_t full = two_records + RecordSize(records[2]);

  auto check_torn = [&](const std::string& contents) {
    WriteRaw(path, contents);
    ReadResult r = ReadLog(Env::Default(), path);
    CHECK(r.end == WalReader::Outcome::kTornTail);
    REQUIRE(r.records.size() == 2);
    CHECK(r.records[0] == records[0]);
    CHECK(r.records[1] == records[1]);
    CHECK(r.good_bytes == two_records);
  };
  WriteLog(Env::Default(), path, records);
  const std::string whole = ReadRaw(path);
  REQUIRE(whole.size() == full);

  SUBCASE("cut inside the header") {
    check_torn(whole.substr(0, two_records + 1));
    check_torn(whole.substr(0, two_records + kWalHeaderSize - 1));
  }
  SUBCASE("cut inside the payload") {
    check_torn(whole.substr(0, two_records + kWalHeaderSize));
    check_torn(whole.substr(0, two_records + kWalHeaderSize + 150));
    check_torn(whole.substr(0, full - 1));
  }
  SUBCASE("last payload garbled") {
    std::string garbled = whole;
    garbled[full - 1] ^= 0x01;
    check_torn(garbled);
    garbled = whole;
    garbled[two_records + kWalHeaderSize] ^= 0x80;
    check_torn(garbled);
  }
  SUBCASE("last checksum garbled") {
    std::string garbled = whole;
    garbled[two_records + 4] ^= 0x10;
    check_torn(garbled);
  }
  SUBCASE("the engine can truncate at good_bytes and append again") {
    WriteRaw(path, whole.substr(0, full - 7));
    ReadResult r = ReadLog(Env::Default(), path);
    REQUIRE(r.end == WalReader::Outcome::kTornTail);
    REQUIRE(Env::Default()->TruncateFile(path, r.good_bytes).ok());
    r = ReadLog(Env::Default(), path);
    CHECK(r.end == WalReader::Outcome::kEof);
    CHECK(r.records.size() == 2);
  }
}

// Flips one byte at record_start + byte_offset in a log of three 100-byte
// records and reads it back.
ReadResult ReadWithFlip(const std::string& path, int record, size_t byte_offset, uint8_t mask) {
  const std::vector<std::string> records = {Payload(100, 1), Payload(100, 2), Payload(100, 3)};
  WriteLog(Env::Default(), path, records);
  std::string raw = ReadRaw(path);
  raw[RecordSize(records[0]) * record + byte_offset] ^= static_cast<char>(mask);
  WriteRaw(path, raw);
  ReadResult r = ReadLog(Env::Default(), path);
  // Never a wrong record: whatever was returned is an original one.
  REQUIRE(r.records.size() <= static_cast<size_t>(record));
  for (size_t i = 0; i < r.records.size(); ++i) CHECK(r.records[i] == records[i]);
  CHECK(r.good_bytes == RecordSize(records[0]) * record);
  return r;
}

void CheckCorruptionAt(const ReadResult& r, const std::string& path, uint64_t offset) {
  CHECK(r.end == WalReader::Outcome::kCorruption);
  CHECK(r.status.IsCorruption());
  const std::string expected = path + ": bad log record at offset " + std::to_string(offset);
  CHECK_MESSAGE(r.status.message().find(expected) == 0, r.status.ToString());
}

TEST_CASE("a corrupt record with more after it is kCorruption naming file and offset") {
  TempDir dir;
  const std::string path = dir.File("000007.log");
  const uint64_t record_size = kWalHeaderSize + 100;
  // The first and then the middle of three records, so the offset is checked
  // as 0 and as a real position.
  for (int record : {0, 1}) {
    CAPTURE(record);
    const uint64_t offset = record_size * record;
    {
      INFO("payload byte flipped");
      ReadResult r = ReadWithFlip(path, record, kWalHeaderSize + 50, 0x04);
      CheckCorruptionAt(r, path, offset);
      CHECK(r.status.message().find("checksum mismatch") != std::string::npos);
    }
    {
      INFO("checksum byte flipped");
      CheckCorruptionAt(ReadWithFlip(path, record, 4 + 3, 0x01), path, offset);
    }
    {
      INFO("length grown a little: the record ends inside the next one");
      CheckCorruptionAt(ReadWithFlip(path, record, 0, 0x01), path, offset);  // 100 -> 101
    }
    {
      INFO("length shrunk: the record ends inside its own payload");
      CheckCorruptionAt(ReadWithFlip(path, record, 0, 0x20), path, offset);  // 100 -> 68
    }
    {
      INFO("length beyond any record the writer makes");
      ReadResult r = ReadWithFlip(path, record, 3, 0x40);  // 100 + 2^30
      CheckCorruptionAt(r, path, offset);
      CHECK(r.status.message().find("exceeds the limit") != std::string::npos);
    }
    {
      // 100 -> 100 + 2^16: the header claims a record that runs past the end
      // of the file, as a crash in the middle of the last write would. But
      // whole, valid records follow it, which a torn write never leaves:
      // truncating here would drop them, so it is corruption.
      INFO("length grown past end of file, with valid records after it");
      CheckCorruptionAt(ReadWithFlip(path, record, 2, 0x01), path, offset);
    }
  }
}

TEST_CASE("a zero-filled tail (size reached the disk before data) is a torn tail") {
  TempDir dir;
  Env* env = Env::Default();
  const std::string path = dir.File("000001.log");
  WriteLog(env, path, {"one", "two"});
  const std::string good = ReadRaw(path);
  WriteRaw(path, good + std::string(4096, '\0'));
  ReadResult r = ReadLog(env, path);
  CHECK(r.records == std::vector<std::string>{"one", "two"});
  CHECK(r.end == WalReader::Outcome::kTornTail);
  CHECK(r.good_bytes == good.size());

  // Zeros followed by data are damage, not a crash.
  WriteRaw(path, good + std::string(64, '\0') + "x");
  r = ReadLog(env, path);
  CHECK(r.end == WalReader::Outcome::kCorruption);
  CHECK(r.status.message().find("offset " + std::to_string(good.size())) != std::string::npos);
}

TEST_CASE("read errors are kIOError with the Status") {
  TempDir dir;
  const std::string path = dir.File("io.log");
  WriteLog(Env::Default(), path, {"a", "b"});
  FaultInjectionEnv env(Env::Default());
  env.SetReadFault(EIO);
  ReadResult r = ReadLog(&env, path);
  CHECK(r.end == WalReader::Outcome::kIOError);
  CHECK(r.status.IsIOError());
  CHECK(r.records.empty());
  CHECK(env.read_faults_injected() > 0);
}

TEST_CASE("write errors come back from AddRecord and Sync") {
  TempDir dir;
  const std::string path = dir.File("nospace.log");
  FaultInjectionEnv env(Env::Default());
  auto file = env.NewWritableFile(path);
  REQUIRE(file.ok());
  WalWriter writer(std::move(*file));
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
  TempDir dir;
  const std::string path = dir.File("garbage.log");
  std::mt19937 rng(99);
  for (int round = 0; round < 200; ++round) {
    std::string raw = Payload(rng() % 300, 1000 + round);
    if (round % 2 == 0 && raw.size() >= 4) {
      // Plausible small lengths so the reader gets past the header check.
      raw[0] = static_cast<char>(rng() % 64);
      raw[1] = raw[2] = raw[3] = 0;
    }
    WriteRaw(path, raw);
    ReadResult r = ReadLog(Env::Default(), path);
    CHECK(r.end != WalReader::Outcome::kIOError);
    CHECK(r.good_bytes <= raw.size());
  }
}

}  // namespace
}  // namespace lsmd
