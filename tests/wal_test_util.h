// Helpers for the write-ahead log suites: logs built in memory, raw file
// access, the layout an undamaged log has (an oracle walked independently
// of WalReader), and the legacy record encoding.
#pragma once

#include <doctest/doctest.h>
#include <xxhash.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/coding.h"
#include "core/env.h"
#include "core/wal_reader.h"
#include "core/wal_writer.h"

namespace lsmd::testing {

inline std::string Payload(size_t size, uint32_t seed) {
  std::string s(size, '\0');
  std::mt19937 rng(seed);
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

inline void WriteRaw(const std::string& path, std::string_view contents) {
  auto file = Env::Default()->NewWritableFile(path);
  REQUIRE(file.ok());
  REQUIRE((*file)->Append(contents).ok());
  REQUIRE((*file)->Close().ok());
}

inline std::string ReadRaw(const std::string& path) {
  std::string contents;
  REQUIRE(Env::Default()->ReadFileToString(path, &contents).ok());
  return contents;
}

// A WritableFile into a string, starting with `initial` (what a log on disk
// already holds), so a WalWriter can encode records without a file.
class StringFile final : public WritableFile {
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

// Appends records to `log` (a log's bytes so far) as WalWriter would.
inline void AppendRecords(std::string* log, uint64_t log_number,
                          const std::vector<std::string>& records) {
  WalWriter writer(std::make_unique<StringFile>(log), log_number);
  for (const std::string& r : records) REQUIRE(writer.AddRecord(r).ok());
}

inline std::string EncodeLog(uint64_t log_number, const std::vector<std::string>& records) {
  std::string log;
  AppendRecords(&log, log_number, records);
  return log;
}

// The fragment checksum, computed the way docs/FORMAT.md states it.
inline uint32_t ExpectedChecksum(uint64_t log_number, uint8_t type, std::string_view payload) {
  std::string input;
  input.push_back(static_cast<char>(payload.size() & 0xff));
  input.push_back(static_cast<char>(payload.size() >> 8));
  input.push_back(static_cast<char>(type));
  PutFixed64(&input, log_number);
  input.append(payload);
  return static_cast<uint32_t>(XXH3_64bits(input.data(), input.size()));
}

// The legacy `.log` record: fixed32 length | fixed64 XXH3-64 | payload.
inline std::string EncodeLegacyRecord(std::string_view payload) {
  std::string out;
  PutFixed32(&out, static_cast<uint32_t>(payload.size()));
  PutFixed64(&out, XXH3_64bits(payload.data(), payload.size()));
  out.append(payload);
  return out;
}

struct FragmentInfo {
  uint64_t offset;  // of the header
  uint8_t type;
  size_t length;
};

struct RecordLayout {
  uint64_t start;  // first fragment's header
  uint64_t end;    // past the last fragment
  std::vector<FragmentInfo> fragments;
};

// The records of an undamaged log, walked with the format's rules alone.
inline std::vector<RecordLayout> LogLayout(std::string_view log) {
  std::vector<RecordLayout> records;
  RecordLayout current{};
  uint64_t at = 0;
  while (at < log.size()) {
    const uint64_t left_in_block = kWalBlockSize - at % kWalBlockSize;
    if (left_in_block < kWalHeaderSize) {
      at += left_in_block;
      continue;
    }
    REQUIRE(at + kWalHeaderSize <= log.size());
    const uint8_t type = static_cast<uint8_t>(log[at + 6]);
    const size_t length =
        static_cast<uint8_t>(log[at + 4]) | size_t{static_cast<uint8_t>(log[at + 5])} << 8;
    if (type == 1 || type == 2) current = {at, 0, {}};
    current.fragments.push_back({at, type, length});
    at += kWalHeaderSize + length;
    if (type == 1 || type == 4) {
      current.end = at;
      records.push_back(current);
    }
  }
  return records;
}

struct ReadResult {
  std::vector<std::string> records;
  LogRecordReader::Outcome end = LogRecordReader::Outcome::kEof;
  uint64_t good_bytes = 0;
  Status status;
};

// Reads records until the reader stops; checks that stopping is sticky.
inline ReadResult ReadAll(LogRecordReader* reader) {
  ReadResult result;
  std::string record;
  while ((result.end = reader->ReadRecord(&record)) == LogRecordReader::Outcome::kRecord) {
    result.records.push_back(record);
  }
  CHECK(reader->ReadRecord(&record) == result.end);
  CHECK(record.empty());
  result.good_bytes = reader->good_bytes();
  result.status = reader->status();
  return result;
}

inline ReadResult ReadLog(Env* env, const std::string& path, uint64_t log_number,
                          bool legacy = false) {
  auto size = env->GetFileSize(path);
  REQUIRE(size.ok());
  auto file = env->NewSequentialFile(path);
  REQUIRE(file.ok());
  auto reader = NewLogRecordReader(std::move(*file), path, *size, log_number, legacy);
  return ReadAll(reader.get());
}

}  // namespace lsmd::testing
