// Reading a write-ahead log back at Open. LogRecordReader is what replay
// sees; WalReader reads the block format of wal_writer.h (`<number>.wal`),
// LegacyWalReader (wal_legacy_reader.h) the old `<number>.log` files.
//
// Reading stops at the first damage, and the reader says what kind it is:
// kTornTail if it can be a crash's unfinished last write (nothing complete
// after it), kCorruption if it cannot. good_bytes() is where a cut log ends.
//
// WalReader's tail rule. A torn write leaves a prefix of its record, with
// zeros where pages never reached the disk, and nothing after it but zeros.
// So after a fragment fails to verify at offset D, it is corruption when:
// - a complete record follows: a FULL fragment, or a FIRST..LAST chain, that
//   verifies. The reader looks for one only where the framing puts headers:
//   from the start of each later block, then from fragment to verified
//   fragment. Orphan MIDDLE and LAST fragments (the rest of a torn record)
//   are skipped, and so is the rest of a block after another bad fragment;
// - or the damage is of a kind no torn write makes: a type above 4, a
//   fragment crossing its block's end, a FIRST or MIDDLE not ending at it;
// - or the bad fragment's header looks intact (a known type, a non-zero
//   checksum field) and bytes other than zeros follow its end in its block.
//   Those bytes are only tested for being zero, never parsed: they could be
//   anything, a value's bytes included.
// Otherwise (the end of the file is reached first) it is a torn tail.
//
// A header whose type or checksum field is zero lost bytes to a torn sector
// (or was never written): its length is not trusted, and the rest of its
// block is skipped. What the framing cannot tell from a torn write, in the
// file's last block: a length damaged so that a fragment seems to run past
// the end of the file, and a type byte damaged to zero. The records after it
// in that block (less than 32 KiB) go with the tail, and the warning names
// the offset where the log is cut.
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
    kSkipped,   // damage a torn write can leave; the rest of the block is skipped
    kNotTorn,   // damage no torn write leaves
  };
  struct Fragment {
    WalFragmentType type = WalFragmentType::kZero;
    std::string_view payload;  // into block_; valid until the next read
    uint64_t offset = 0;       // of its header
  };

  Status ReadFragment(Found* found, Fragment* fragment, std::string* why);
  // Classifies a fragment at pos_ that does not verify; sets pos_ past it.
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
  Status status_;
  bool stopped_ = false;  // Once set, ReadRecord keeps returning stop_outcome_.
  Outcome stop_outcome_ = Outcome::kEof;
  std::string scratch_;  // For SequentialFile::Read.
};

}  // namespace lsmd
