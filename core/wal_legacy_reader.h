// LegacyWalReader reads `<number>.log` files, the log format before blocks
// (read only: nothing writes it any more, but a store upgraded with writes
// still unflushed has one). Records back to back, integers little-endian:
//
//   fixed32 payload_length | fixed64 XXH3-64(payload) | payload
//
// The format has no boundaries other than the lengths, so once a record is
// bad nothing after it can be trusted, and this reader does not look for
// records after it. Its verdicts, for the recovery mode to act on:
// - kTornTail when the bad record is the last thing in the file: its header
//   is cut short, its length runs past the end, its checksum fails and
//   nothing follows, or its header is zero and only zeros follow;
// - kCorruption otherwise (data follows the bad record), or for a length
//   over kWalMaxRecordSize.
// A length damaged so that it runs past the end of the file cannot be told
// from a torn write here, so the records after it are cut with the tail.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/wal_reader.h"

namespace lsmd {

constexpr size_t kLegacyWalHeaderSize = 4 + 8;

class LegacyWalReader final : public LogRecordReader {
 public:
  LegacyWalReader(std::unique_ptr<SequentialFile> file, std::string path, uint64_t file_size);

  Outcome ReadRecord(std::string* record) override;
  uint64_t good_bytes() const override { return good_bytes_; }
  const Status& status() const override { return status_; }

 private:
  // Consumes the rest of the file; *all_zero says whether it held only zeros.
  Status ScanRestForNonZero(bool* all_zero);
  // Reads until buffer_ holds `need` unconsumed bytes or the file ends.
  Status FillBuffer(size_t need);
  size_t buffered() const { return buffer_.size() - buffer_pos_; }
  Outcome Stop(Outcome outcome, Status status);
  Status TornTail(std::string_view why) const;
  Status BadRecord(std::string_view why) const;

  std::unique_ptr<SequentialFile> file_;
  std::string path_;
  uint64_t file_size_;   // Lowered to the real end if the file turns out shorter.
  uint64_t offset_ = 0;  // File offset of the next record's header.
  uint64_t good_bytes_ = 0;
  Status status_;
  std::string buffer_;  // Read-ahead; bytes before buffer_pos_ are consumed.
  size_t buffer_pos_ = 0;
  uint64_t read_pos_ = 0;  // File offset of the end of buffer_.
  bool eof_ = false;
  bool stopped_ = false;  // Once set, ReadRecord keeps returning stop_outcome_.
  Outcome stop_outcome_ = Outcome::kEof;
  std::string scratch_;  // For SequentialFile::Read.
};

}  // namespace lsmd
