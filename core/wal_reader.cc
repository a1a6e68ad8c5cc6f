// WalReader: reads the records of wal_writer.h's format in read-ahead chunks
// and classifies how the log ends (see the tail rule in wal_reader.h).
#include "core/wal_reader.h"

#include <algorithm>

#include "core/checksum.h"
#include "core/coding.h"
#include "core/wal_writer.h"

namespace lsmd {
namespace {

constexpr size_t kReadChunk = 64 * 1024;

}  // namespace

WalReader::WalReader(std::unique_ptr<SequentialFile> file, std::string path, uint64_t file_size)
    : file_(std::move(file)), path_(std::move(path)), file_size_(file_size) {}

WalReader::Outcome WalReader::ReadRecord(std::string* record) {
  record->clear();
  if (stopped_) return stop_outcome_;

  Status s = FillBuffer(kWalHeaderSize);
  if (!s.ok()) return Stop(Outcome::kIOError, std::move(s));
  if (buffered() == 0) return Stop(Outcome::kEof, Status::OK());
  if (buffered() < kWalHeaderSize) {
    return Stop(Outcome::kTornTail,
                TornTail("header cut short at end of file (" + std::to_string(buffered()) + " of " +
                         std::to_string(kWalHeaderSize) + " bytes)"));
  }
  const char* header = buffer_.data() + buffer_pos_;
  const uint32_t length = DecodeFixed32(header);
  const uint64_t expected_checksum = DecodeFixed64(header + 4);

  // No record has an all-zero header (the checksum of an empty payload is
  // not zero). Zeros from here to the end are what a power loss leaves when
  // the file's size reached the disk before its data: a torn tail.
  if (length == 0 && expected_checksum == 0) {
    bool all_zero = true;
    s = ScanRestForNonZero(&all_zero);
    if (!s.ok()) return Stop(Outcome::kIOError, std::move(s));
    if (all_zero) return Stop(Outcome::kTornTail, TornTail("zero-filled tail"));
    return Stop(Outcome::kCorruption, BadRecord("zeroed header followed by data"));
  }

  // No writer produced such a length, so this is damage, not a crash.
  if (length > kWalMaxRecordSize) {
    return Stop(Outcome::kCorruption,
                BadRecord("length " + std::to_string(length) + " exceeds the limit of " +
                          std::to_string(kWalMaxRecordSize)));
  }
  const uint64_t record_end = offset_ + kWalHeaderSize + length;
  // Checked before reading so a garbled length cannot make us buffer gigabytes.
  if (record_end > file_size_) {
    // A torn write leaves nothing valid after it. A whole record further on
    // means this length field was damaged: truncating here would throw away
    // acknowledged writes.
    bool later_record = false;
    s = FindLaterRecord(&later_record);
    if (!s.ok()) return Stop(Outcome::kIOError, std::move(s));
    if (later_record) {
      return Stop(Outcome::kCorruption,
                  BadRecord("length " + std::to_string(length) +
                            " runs past end of file but valid records follow"));
    }
    return Stop(Outcome::kTornTail,
                TornTail("a " + std::to_string(length) + "-byte payload runs past end of file"));
  }
  buffer_pos_ += kWalHeaderSize;

  record->reserve(length);
  size_t missing = length;
  while (missing > 0) {
    s = FillBuffer(std::min(missing, kReadChunk));
    if (!s.ok()) {
      record->clear();
      return Stop(Outcome::kIOError, std::move(s));
    }
    if (buffered() == 0) {  // The file is shorter than file_size_ said.
      record->clear();
      return Stop(Outcome::kTornTail,
                  TornTail("a " + std::to_string(length) + "-byte payload runs past end of file"));
    }
    const size_t take = std::min(missing, buffered());
    record->append(buffer_, buffer_pos_, take);
    buffer_pos_ += take;
    missing -= take;
  }

  if (Checksum(*record) != expected_checksum) {
    record->clear();
    // Is anything after this record? If not, it is the torn final write.
    s = FillBuffer(1);
    if (!s.ok()) return Stop(Outcome::kIOError, std::move(s));
    if (buffered() == 0) {
      return Stop(Outcome::kTornTail, TornTail("checksum mismatch in the final record"));
    }
    return Stop(Outcome::kCorruption, BadRecord("checksum mismatch"));
  }
  offset_ = record_end;
  good_bytes_ = offset_;
  return Outcome::kRecord;
}

Status WalReader::FindLaterRecord(bool* found) {
  *found = false;
  // A real torn tail is at most one commit group; far more data than that
  // after a bad header is damage whether or not a record can be found in it.
  constexpr uint64_t kMaxTornTail = uint64_t{64} << 20;
  const uint64_t tail = file_size_ - offset_;
  if (tail > kMaxTornTail) {
    *found = true;
    return Status::OK();
  }
  Status s = FillBuffer(static_cast<size_t>(tail));
  if (!s.ok()) return s;
  const std::string_view rest(buffer_.data() + buffer_pos_, buffered());
  for (size_t p = 1; p + kWalHeaderSize <= rest.size(); ++p) {
    const uint32_t length = DecodeFixed32(rest.data() + p);
    if (length > rest.size() - p - kWalHeaderSize) continue;
    const uint64_t checksum = DecodeFixed64(rest.data() + p + 4);
    if (Checksum(rest.substr(p + kWalHeaderSize, length)) == checksum) {
      *found = true;
      return Status::OK();
    }
  }
  return Status::OK();
}

Status WalReader::ScanRestForNonZero(bool* all_zero) {
  *all_zero = true;
  while (true) {
    for (size_t i = buffer_pos_; i < buffer_.size(); ++i) {
      if (buffer_[i] != 0) {
        *all_zero = false;
        return Status::OK();
      }
    }
    buffer_pos_ = buffer_.size();
    Status s = FillBuffer(1);
    if (!s.ok()) return s;
    if (buffered() == 0) return Status::OK();
  }
}

Status WalReader::FillBuffer(size_t need) {
  if (buffered() >= need || eof_) return Status::OK();
  buffer_.erase(0, buffer_pos_);
  buffer_pos_ = 0;
  while (buffer_.size() < need && !eof_) {
    const uint64_t left_in_file = file_size_ - read_pos_;
    if (left_in_file == 0) {
      eof_ = true;
      break;
    }
    std::string_view chunk;
    Status s = file_->Read(static_cast<size_t>(std::min<uint64_t>(kReadChunk, left_in_file)),
                           &scratch_, &chunk);
    if (!s.ok()) return s;
    if (chunk.empty()) {
      eof_ = true;
      file_size_ = read_pos_;
      break;
    }
    buffer_.append(chunk);
    read_pos_ += chunk.size();
  }
  return Status::OK();
}

WalReader::Outcome WalReader::Stop(Outcome outcome, Status status) {
  stopped_ = true;
  stop_outcome_ = outcome;
  status_ = std::move(status);
  return outcome;
}

Status WalReader::TornTail(std::string_view why) const {
  return Status::Corruption(path_ + ": torn record at offset " + std::to_string(offset_) +
                            " (end of log): " + std::string(why));
}

Status WalReader::BadRecord(std::string_view why) const {
  return Status::Corruption(path_ + ": bad log record at offset " + std::to_string(offset_) + ": " +
                            std::string(why));
}

}  // namespace lsmd
