// Reading a write-ahead log back at Open. LogRecordReader is what replay
// sees; WalReader reads the block format of wal_writer.h (`<number>.wal`),
// LegacyWalReader (wal_legacy_reader.h) the old `<number>.log` files.
//
// Reading stops at the first damage, and the reader says what kind it is:
// kTornTail if it can be a crash's unfinished last write (nothing complete
// after it), kCorruption if it cannot. good_bytes() is where a cut log ends.
//
// WalReader's tail rule. After a crash the bytes past the last synced record
// can be anything: a prefix of the unfinished write, zeros where its pages
// never reached the disk, or (on file systems that expose stale blocks)
// garbage. None of them holds a complete record that verifies; bit rot in
// the middle of a log leaves the records after it intact. So a fragment
// that fails to verify at offset D is corruption when a complete record (a
// FULL fragment, or a FIRST..LAST chain) verifies after it, and a torn tail
// when the end of the file comes first. The reader looks for one
// - in D's block, from the end D's header gives (when its type is known and
//   the fragment fits the block: the length may be intact, and bytes inside
//   the fragment may be the rest of a torn record, a client's value), or
//   from D + 7 (an unknown type or a fragment crossing its block's end: no
//   writer wrote that header, so its length means nothing), at every byte
//   offset to the end of the block, since a damaged length hides where the
//   next header is;
// - from the start of each later block, where the writer always put a
//   header, then from fragment to verified fragment.
// Orphan MIDDLE and LAST fragments (the rest of a torn record) do not count,
// and after another bad fragment the same rule applies again. It is also
// corruption when the fragment's header looks like a writer's and so do the
// next three, each where the one before ends (another log's file under this
// name, or damage wider than a record): random bytes pass for that with a
// chance far below one in a million.
//
// A header whose type or checksum field is zero lost bytes to a torn sector
// (or was never written): its length is not trusted and nothing after it in
// its block is looked at, since that may be the intact rest of the torn
// record. What the rule cannot tell from a crash, in the file's last block:
// damage to the last record alone (nothing complete follows it), a length
// damaged so that a fragment seems to run past the end of the file, and a
// type byte damaged to zero. The records after it in that block (less than
// 32 KiB) go with the tail, and the warning names the offset where the log
// is cut.
//
// Memory and read-ahead are bounded by one block: the reader never asks the
// file for more than kWalBlockSize bytes at a time, and while it classifies
// damage it keeps no payload.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/env.h"
#include "core/options.h"
#include "core/status.h"
#include "core/wal_writer.h"

namespace lsmd {

class LogRecordReader {
 public:
  enum class Outcome { kRecord, kEof, kTornTail, kCorruption, kIOError };

  virtual ~LogRecordReader() = default;
  // Once it returns anything but kRecord, it keeps returning that.
  virtual Outcome ReadRecord(std::string* record) = 0;
  // Offset just past the last whole, valid record read.
  virtual uint64_t good_bytes() const = 0;
  // Why reading stopped: a description for kTornTail, the error for
  // kCorruption and kIOError (naming the file and the offset).
  virtual const Status& status() const = 0;
};

// What replay does when a log ends in damage, per recovery mode.
enum class WalDamageAction {
  kRefuse,      // Open fails with the reader's status
  kCutAndGoOn,  // truncate the log at good_bytes(), replay the next log
  kCutAndStop,  // truncate it and stop: later logs only if they continue it
};
// REQUIRES: mode is not kDefault (see EffectiveWalRecovery); outcome is
// kTornTail or kCorruption.
WalDamageAction ActionOnDamage(WalRecoveryMode mode, LogRecordReader::Outcome outcome);

// A reader for the log file at path (named in messages); file_size is its
// size on disk. log_number is the one in its name; legacy: a `.log` file.
std::unique_ptr<LogRecordReader> NewLogRecordReader(std::unique_ptr<SequentialFile> file,
                                                    std::string path, uint64_t file_size,
                                                    uint64_t log_number, bool legacy);

class WalReader final : public LogRecordReader {
 public:
  WalReader(std::unique_ptr<SequentialFile> file, std::string path, uint64_t file_size,
            uint64_t log_number);

  Outcome ReadRecord(std::string* record) override;
  uint64_t good_bytes() const override { return good_bytes_; }
  const Status& status() const override { return status_; }

 private:
  // What ReadFragment found at the current position.
  enum class Found {
    kFragment,  // a fragment that verifies
    kEnd,       // the clean end of the file (maybe inside a block trailer)
    kTornEnd,   // a header or fragment cut short by the end of the file
    kSkipped,   // damage: the rest of the block is skipped or scanned (scan_from_)
    kNotTorn,   // damage followed by what only a writer leaves
  };
  struct Fragment {
    WalFragmentType type = WalFragmentType::kZero;
    std::string_view payload;  // into block_; valid until the next read
    uint64_t offset = 0;       // of its header
  };

  Status ReadFragment(Found* found, Fragment* fragment, std::string* why);
  // Whether a fragment of this log verifies at block_[at]; fills fragment.
  bool VerifiesAt(size_t at, Fragment* fragment) const;
  // Whether block_[at] holds a header a writer could have written (whatever
  // its checksum); sets *end to where its fragment ends.
  bool WriterLikeAt(size_t at, size_t* end) const;
  static constexpr size_t kWriterLikeRun = 3;
  // Classifies a fragment at pos_ that does not verify; sets pos_ past it
  // and, where the rest of its block is to be scanned, scan_from_.
  Found Damaged(uint32_t checksum, size_t length, uint8_t type, std::string* why);
  Status LoadNextBlock();
  // Reads on after damage at `offset` to say whether it was a torn tail.
  // in_chain: a verified FIRST starting at chain_start was just read.
  Outcome Classify(uint64_t offset, std::string why, bool in_chain, uint64_t chain_start);
  Outcome Stop(Outcome outcome, Status status);
  Status TornTail(uint64_t offset, std::string_view why) const;
  Status BadRecord(uint64_t offset, std::string_view why) const;

  // A WalReader is used by one thread (recovery) at a time.
  std::unique_ptr<SequentialFile> file_;
  std::string path_;
  uint64_t file_size_;  // Lowered to the real end if the file turns out shorter.
  const uint64_t log_number_;
  std::string block_;         // the current block: kWalBlockSize bytes, fewer at the end
  uint64_t block_start_ = 0;  // file offset of block_[0]
  size_t pos_ = 0;            // next unread byte of block_
  bool loaded_ = false;       // block_ holds the first block or a later one
  uint64_t read_pos_ = 0;     // file offset of the end of block_
  uint64_t good_bytes_ = 0;
  // Where in block_ the next read looks for a fragment at every offset, after
  // damage; kNoScan: at pos_ only.
  static constexpr size_t kNoScan = ~size_t{0};
  size_t scan_from_ = kNoScan;
  Status status_;
  bool stopped_ = false;  // Once set, ReadRecord keeps returning stop_outcome_.
  Outcome stop_outcome_ = Outcome::kEof;
  std::string scratch_;  // For SequentialFile::Read.
};

}  // namespace lsmd
