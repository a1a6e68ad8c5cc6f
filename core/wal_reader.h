// WalReader reads the records WalWriter wrote (format in wal_writer.h).
//
// Tail rule: a record that runs past the end of the file (with no valid
// record anywhere after its header), or whose checksum
// fails while it is the last thing in the file, is a torn write from a crash:
// ReadRecord reports kTornTail and good_bytes() says where to truncate. So is
// an all-zero header followed only by zeros (a power loss that extended the
// file before its data reached the disk). A bad
// record with more bytes after it is corruption: kCorruption, with the file and
// offset in status().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/env.h"
#include "core/status.h"

namespace lsmd {

class WalReader {
 public:
  enum class Outcome { kRecord, kEof, kTornTail, kCorruption, kIOError };

  // path is used in error messages; file_size is the log's size on disk.
  WalReader(std::unique_ptr<SequentialFile> file, std::string path, uint64_t file_size);

  Outcome ReadRecord(std::string* record);
  // Offset just past the last whole, valid record read.
  uint64_t good_bytes() const { return good_bytes_; }
  // Why reading stopped, for kTornTail (a description), kCorruption and kIOError.
  const Status& status() const { return status_; }

 private:
  // Reads until buffer_ holds `need` unconsumed bytes or the file ends.
  // Buffers the rest of the file (from the current record) and says whether
  // a valid record starts anywhere after the current one.
  Status FindLaterRecord(bool* found);
  // Consumes the rest of the file; *all_zero says whether it held only zeros.
  Status ScanRestForNonZero(bool* all_zero);
  Status FillBuffer(size_t need);
  size_t buffered() const { return buffer_.size() - buffer_pos_; }
  Outcome Stop(Outcome outcome, Status status);
  Status TornTail(std::string_view why) const;
  Status BadRecord(std::string_view why) const;

  // A WalReader is used by one thread (recovery) at a time.
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
