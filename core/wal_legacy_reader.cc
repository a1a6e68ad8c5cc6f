// LegacyWalReader: the `.log` record format and its verdicts are in
// wal_legacy_reader.h.
#include "core/wal_legacy_reader.h"

#include <algorithm>

#include "core/checksum.h"
#include "core/coding.h"

namespace lsmd {
namespace {

constexpr size_t kReadChunk = 64 * 1024;

}  // namespace

LegacyWalReader::LegacyWalReader(std::unique_ptr<SequentialFile> file, std::string path,
                                 uint64_t file_size)
    : file_(std::move(file)), path_(std::move(path)), file_size_(file_size) {}

LegacyWalReader::Outcome LegacyWalReader::ReadRecord(std::string* record) {
  record->clear();
  if (stopped_) return stop_outcome_;

  Status s = FillBuffer(kLegacyWalHeaderSize);
  if (!s.ok()) return Stop(Outcome::kIOError, std::move(s));
  if (buffered() == 0) return Stop(Outcome::kEof, Status::OK());
  if (buffered() < kLegacyWalHeaderSize) {
    return Stop(Outcome::kTornTail,
                TornTail("header cut short at end of file (" + std::to_string(buffered()) + " of " +
                         std::to_string(kLegacyWalHeaderSize) + " bytes)"));
  }
  const char* header = buffer_.data() + buffer_pos_;
  const uint32_t length = DecodeFixed32(header);
  const uint64_t expected_checksum = DecodeFixed64(header + 4);

  // No record has an all-zero header (the checksum of an empty payload is
  // not zero). Zeros from here to the end are what a power loss leaves when
  // the file's size reached the disk before its data.
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
  const uint64_t record_end = offset_ + kLegacyWalHeaderSize + length;
  // Checked before reading so a garbled length cannot make us buffer gigabytes.
  if (record_end > file_size_) {
    return Stop(Outcome::kTornTail,
                TornTail("a " + std::to_string(length) + "-byte payload runs past end of file"));
  }
  buffer_pos_ += kLegacyWalHeaderSize;

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

Status LegacyWalReader::ScanRestForNonZero(bool* all_zero) {
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

Status LegacyWalReader::FillBuffer(size_t need) {
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

LegacyWalReader::Outcome LegacyWalReader::Stop(Outcome outcome, Status status) {
  stopped_ = true;
  stop_outcome_ = outcome;
  status_ = std::move(status);
  return outcome;
}

Status LegacyWalReader::TornTail(std::string_view why) const {
  return Status::Corruption(path_ + ": torn record at offset " + std::to_string(offset_) +
                            " (end of log): " + std::string(why));
}

Status LegacyWalReader::BadRecord(std::string_view why) const {
  return Status::Corruption(path_ + ": bad log record at offset " + std::to_string(offset_) + ": " +
                            std::string(why));
}

}  // namespace lsmd
