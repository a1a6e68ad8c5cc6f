// WalWriter appends records to a write-ahead log; WalReader (wal_reader.h)
// reads them back. A record is one commit group's WriteBatch. The format of
// `<number>.wal`, byte by byte (integers little-endian):
//
// The file is a sequence of 32 KiB blocks (the last one may be short). A
// record is cut into fragments that never cross a block boundary, each a
// 7-byte header and its payload:
//
//   offset 0  fixed32  checksum  the low 32 bits of XXH3-64 (seed 0) over, in
//                                this order: header bytes 4..6 (length, type),
//                                the log's number as a fixed64, the payload
//   offset 4  fixed16  length    payload bytes in this fragment, 0..32761
//   offset 6  u8       type      1 FULL    the whole record
//                                2 FIRST   the first fragment of a record
//                                3 MIDDLE  an inner fragment
//                                4 LAST    the last fragment
//   offset 7  payload
//
// A fragment takes all the room left in its block or the rest of the record,
// whichever is less: a record that does not fit is FIRST (to the end of the
// block), MIDDLE (whole blocks), LAST. When fewer than 7 bytes are left in a
// block they are zeros (the trailer) and the next fragment starts the next
// block. So every block begins with a header, and a FIRST or MIDDLE fragment
// always ends exactly at the end of its block. An empty record is a FULL
// fragment of length 0; a FIRST is empty when exactly 7 bytes were left.
//
// Why this shape:
// - Blocks let the reader find a fragment boundary after damage without
//   looking inside payloads: it resumes at the next block start, where the
//   writer always put a header. A value that happens to hold a well-formed
//   fragment (any client can write one) is never read as a boundary.
// - Type 0 is never written: zeros (a preallocated region, pages a power loss
//   never wrote) read as type 0, never as a fragment.
// - The log number is folded into the checksum, so a fragment left over from
//   another log (a recycled or copied file) never verifies in this one.
// - The checksum covers every other header byte and the payload. 32 bits are
//   enough because the reader only checks it where the framing says a header
//   is, never at every byte offset.
// - 32 KiB bounds the reader's buffer and what one damaged block can hide,
//   for 7 bytes of overhead per fragment (LevelDB's choice).
//
// The legacy format of `<number>.log` files, read but no longer written, is
// in wal_legacy_reader.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/env.h"
#include "core/status.h"

namespace lsmd {

constexpr size_t kWalBlockSize = 32 * 1024;
constexpr size_t kWalHeaderSize = 4 + 2 + 1;
constexpr size_t kWalMaxFragmentPayload = kWalBlockSize - kWalHeaderSize;
// The largest record AddRecord accepts; WalReader treats a longer chain of
// fragments as corruption (no writer produced it).
constexpr size_t kWalMaxRecordSize = size_t{1} << 30;

enum class WalFragmentType : uint8_t {
  kZero = 0,  // never written
  kFull = 1,
  kFirst = 2,
  kMiddle = 3,
  kLast = 4,
};
constexpr uint8_t kWalMaxFragmentType = 4;

// The checksum field of a fragment of log `log_number`.
uint32_t WalFragmentChecksum(uint64_t log_number, WalFragmentType type, std::string_view payload);

// Owned by the engine's commit thread; not thread-safe.
class WalWriter {
 public:
  // log_number is the number in the file's name (checksums depend on it).
  // The file may already hold bytes of this log: appends continue its blocks.
  WalWriter(std::unique_ptr<WritableFile> file, uint64_t log_number);
  // Appends one record and hands it to the OS (survives a process crash).
  // After a failure the log may end in part of this record: the engine
  // starts a new log rather than append after it.
  Status AddRecord(std::string_view payload);
  // fdatasync: every record added so far survives a power loss.
  Status Sync();
  Status Close();
  uint64_t size() const { return file_->Size(); }
  // Bytes the last AddRecord appended: headers, payload and any trailer.
  uint64_t last_record_bytes() const { return last_record_bytes_; }

 private:
  Status AppendFragment(WalFragmentType type, std::string_view payload);

  std::unique_ptr<WritableFile> file_;
  const uint64_t log_number_;
  size_t block_offset_;  // where in its block the next byte goes
  uint64_t last_record_bytes_ = 0;
};

}  // namespace lsmd
