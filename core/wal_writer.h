// WalWriter appends records to a write-ahead log; WalReader (wal_reader.h)
// reads them back. The record format, byte by byte (little-endian):
//
//   fixed32 payload_length | fixed64 XXH3-64(payload) | payload
//
// A record is never split; a log holds only whole records unless a crash cut
// the last one short.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/env.h"
#include "core/status.h"

namespace lsmd {

constexpr size_t kWalHeaderSize = 4 + 8;
// The largest payload AddRecord accepts; WalReader treats a bigger length as
// corruption (no writer produced it), not as a torn tail.
constexpr size_t kWalMaxRecordSize = size_t{1} << 30;

// Owned by the engine's commit thread; not thread-safe.
class WalWriter {
 public:
  explicit WalWriter(std::unique_ptr<WritableFile> file);
  // Appends one record and hands it to the OS (survives a process crash).
  Status AddRecord(std::string_view payload);
  // fdatasync: every record added so far survives a power loss.
  Status Sync();
  Status Close();
  uint64_t size() const { return file_->Size(); }

 private:
  std::unique_ptr<WritableFile> file_;
};

}  // namespace lsmd
