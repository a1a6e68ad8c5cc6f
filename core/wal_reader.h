// WalReader reads the records WalWriter wrote (format in wal_writer.h).
//
// Tail rule: a record that runs past the end of the file, or whose checksum
// fails while it is the last thing in the file, is a torn write from a crash:
// ReadRecord reports kTornTail and good_bytes() says where to truncate. A bad
// record with more bytes after it is corruption: kCorruption, with the file and
// offset in status().
#pragma once

#include <cstdint>
#include <memory>
#include <string>

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
  std::unique_ptr<SequentialFile> file_;
  std::string path_;
  uint64_t file_size_;
  uint64_t offset_ = 0;
  uint64_t good_bytes_ = 0;
  Status status_;
  std::string buffer_;
};

}  // namespace lsmd
