// WalReader: reads wal_writer.h's blocks one at a time and classifies how the
// log ends (the tail rule in wal_reader.h).
#include "core/wal_reader.h"

#include <algorithm>

#include "core/coding.h"
#include "core/wal_legacy_reader.h"

namespace lsmd {
namespace {

const char* TypeName(WalFragmentType type) {
  switch (type) {
    case WalFragmentType::kFull:
      return "FULL";
    case WalFragmentType::kFirst:
      return "FIRST";
    case WalFragmentType::kMiddle:
      return "MIDDLE";
    case WalFragmentType::kLast:
      return "LAST";
    case WalFragmentType::kZero:
      break;
  }
  return "zero";
}

}  // namespace

WalDamageAction ActionOnDamage(WalRecoveryMode mode, LogRecordReader::Outcome outcome) {
  switch (mode) {
    case WalRecoveryMode::kTolerateCorruptedTail:
      return outcome == LogRecordReader::Outcome::kTornTail ? WalDamageAction::kCutAndGoOn
                                                            : WalDamageAction::kRefuse;
    case WalRecoveryMode::kPointInTime:
      return WalDamageAction::kCutAndStop;
    case WalRecoveryMode::kAbsolute:
    case WalRecoveryMode::kDefault:  // never passed; refusing loses nothing
      break;
  }
  return WalDamageAction::kRefuse;
}

std::unique_ptr<LogRecordReader> NewLogRecordReader(std::unique_ptr<SequentialFile> file,
                                                    std::string path, uint64_t file_size,
                                                    uint64_t log_number, bool legacy) {
  if (legacy) return std::make_unique<LegacyWalReader>(std::move(file), std::move(path), file_size);
  return std::make_unique<WalReader>(std::move(file), std::move(path), file_size, log_number);
}

WalReader::WalReader(std::unique_ptr<SequentialFile> file, std::string path, uint64_t file_size,
                     uint64_t log_number)
    : file_(std::move(file)),
      path_(std::move(path)),
      file_size_(file_size),
      log_number_(log_number) {}

WalReader::Outcome WalReader::ReadRecord(std::string* record) {
  record->clear();
  if (stopped_) return stop_outcome_;
  bool in_record = false;
  uint64_t record_start = 0;
  while (true) {
    Found found;
    Fragment f;
    std::string why;
    Status s = ReadFragment(&found, &f, &why);
    if (!s.ok()) {
      record->clear();
      return Stop(Outcome::kIOError, std::move(s));
    }
    // Damage is reported at the start of the record it hit.
    const uint64_t at = in_record ? record_start : f.offset;
    if (found != Found::kFragment) record->clear();
    switch (found) {
      case Found::kEnd:
        if (!in_record) return Stop(Outcome::kEof, Status::OK());
        return Stop(Outcome::kTornTail, TornTail(at, "the file ends before its LAST fragment"));
      case Found::kTornEnd:
        return Stop(Outcome::kTornTail, TornTail(at, why));
      case Found::kNotTorn:
        return Stop(Outcome::kCorruption, BadRecord(at, why));
      case Found::kSkipped:
        return Classify(at, std::move(why), false, 0);
      case Found::kFragment:
        break;
    }
    const uint64_t fragment_end = f.offset + kWalHeaderSize + f.payload.size();
    switch (f.type) {
      case WalFragmentType::kFull:
        if (in_record) {
          record->clear();
          return Stop(Outcome::kCorruption,
                      BadRecord(at, "no LAST fragment, and a complete record follows at offset " +
                                        std::to_string(f.offset)));
        }
        record->assign(f.payload);
        good_bytes_ = fragment_end;
        return Outcome::kRecord;
      case WalFragmentType::kFirst:
        if (in_record) {
          record->clear();
          return Classify(at,
                          "no LAST fragment before a FIRST at offset " + std::to_string(f.offset),
                          true, f.offset);
        }
        in_record = true;
        record_start = f.offset;
        record->assign(f.payload);
        break;
      case WalFragmentType::kMiddle:
      case WalFragmentType::kLast:
        if (!in_record) {
          return Classify(at, std::string("a ") + TypeName(f.type) + " fragment without a FIRST",
                          false, 0);
        }
        if (record->size() + f.payload.size() > kWalMaxRecordSize) {
          record->clear();
          return Stop(Outcome::kCorruption,
                      BadRecord(at, "record longer than the limit of " +
                                        std::to_string(kWalMaxRecordSize) + " bytes"));
        }
        record->append(f.payload);
        if (f.type == WalFragmentType::kLast) {
          good_bytes_ = fragment_end;
          return Outcome::kRecord;
        }
        break;
      case WalFragmentType::kZero:  // ReadFragment never yields one
        break;
    }
  }
}

WalReader::Outcome WalReader::Classify(uint64_t offset, std::string why, bool in_chain,
                                       uint64_t chain_start) {
  while (true) {
    Found found;
    Fragment f;
    std::string later;
    Status s = ReadFragment(&found, &f, &later);
    if (!s.ok()) return Stop(Outcome::kIOError, std::move(s));
    switch (found) {
      case Found::kEnd:
      case Found::kTornEnd:
        return Stop(Outcome::kTornTail, TornTail(offset, why));
      case Found::kNotTorn:
        return Stop(
            Outcome::kCorruption,
            BadRecord(offset, why + "; then at offset " + std::to_string(f.offset) + ": " + later));
      case Found::kSkipped:
        in_chain = false;
        continue;
      case Found::kFragment:
        break;
    }
    uint64_t complete_at = 0;
    bool complete = false;
    switch (f.type) {
      case WalFragmentType::kFull:
        complete = true;
        complete_at = f.offset;
        break;
      case WalFragmentType::kFirst:
        in_chain = true;
        chain_start = f.offset;
        break;
      case WalFragmentType::kLast:
        complete = in_chain;  // else an orphan: the rest of the torn record
        complete_at = chain_start;
        break;
      case WalFragmentType::kMiddle:
      case WalFragmentType::kZero:
        break;
    }
    if (complete) {
      return Stop(Outcome::kCorruption,
                  BadRecord(offset, why + "; a complete record follows at offset " +
                                        std::to_string(complete_at)));
    }
  }
}

bool WalReader::VerifiesAt(size_t at, Fragment* fragment) const {
  const char* header = block_.data() + at;
  const uint8_t type = static_cast<uint8_t>(header[6]);
  if (type < 1 || type > kWalMaxFragmentType) return false;
  const size_t length = static_cast<uint8_t>(header[4]) | size_t{static_cast<uint8_t>(header[5])}
                                                              << 8;
  if (at + kWalHeaderSize + length > block_.size()) return false;
  const std::string_view payload(header + kWalHeaderSize, length);
  const auto fragment_type = static_cast<WalFragmentType>(type);
  if (WalFragmentChecksum(log_number_, fragment_type, payload) != DecodeFixed32(header)) {
    return false;
  }
  fragment->type = fragment_type;
  fragment->payload = payload;
  fragment->offset = block_start_ + at;
  return true;
}

bool WalReader::WriterLikeAt(size_t at, size_t* end) const {
  if (at + kWalHeaderSize > block_.size()) return false;
  const char* header = block_.data() + at;
  const uint8_t type = static_cast<uint8_t>(header[6]);
  if (type < 1 || type > kWalMaxFragmentType || DecodeFixed32(header) == 0) return false;
  const size_t length = static_cast<uint8_t>(header[4]) | size_t{static_cast<uint8_t>(header[5])}
                                                              << 8;
  *end = at + kWalHeaderSize + length;
  if (*end > block_.size()) return false;
  const auto fragment_type = static_cast<WalFragmentType>(type);
  return (fragment_type != WalFragmentType::kFirst && fragment_type != WalFragmentType::kMiddle) ||
         *end == kWalBlockSize;
}

Status WalReader::ReadFragment(Found* found, Fragment* fragment, std::string* why) {
  if (!loaded_) {
    loaded_ = true;
    Status s = LoadNextBlock();
    if (!s.ok()) return s;
  }
  if (scan_from_ != kNoScan) {
    // After damage whose header does not say where the next fragment is.
    const size_t from = scan_from_;
    scan_from_ = kNoScan;
    for (size_t at = from; at + kWalHeaderSize <= block_.size(); ++at) {
      if (VerifiesAt(at, fragment)) {
        pos_ = at + kWalHeaderSize + fragment->payload.size();
        *found = Found::kFragment;
        return Status::OK();
      }
    }
    pos_ = block_.size();
  }
  while (block_.size() - pos_ < kWalHeaderSize) {
    if (block_.size() == kWalBlockSize) {
      // The rest is the trailer: the next block starts with a header.
      Status s = LoadNextBlock();
      if (!s.ok()) return s;
      continue;
    }
    // A short block is the file's last.
    if (pos_ == block_.size() || kWalBlockSize - pos_ < kWalHeaderSize) {
      *found = Found::kEnd;
      return Status::OK();
    }
    fragment->offset = block_start_ + pos_;
    *why = "header cut short by the end of the file (" + std::to_string(block_.size() - pos_) +
           " of " + std::to_string(kWalHeaderSize) + " bytes)";
    pos_ = block_.size();
    *found = Found::kTornEnd;
    return Status::OK();
  }
  if (VerifiesAt(pos_, fragment)) {
    pos_ += kWalHeaderSize + fragment->payload.size();
    *found = Found::kFragment;
    return Status::OK();
  }
  const char* header = block_.data() + pos_;
  const uint32_t checksum = DecodeFixed32(header);
  const size_t length = static_cast<uint8_t>(header[4]) | size_t{static_cast<uint8_t>(header[5])}
                                                              << 8;
  const uint8_t type = static_cast<uint8_t>(header[6]);
  fragment->offset = block_start_ + pos_;
  *found = Damaged(checksum, length, type, why);
  return Status::OK();
}

WalReader::Found WalReader::Damaged(uint32_t checksum, size_t length, uint8_t type,
                                    std::string* why) {
  const size_t header_pos = pos_;
  const size_t end = pos_ + kWalHeaderSize + length;
  pos_ = block_.size();  // framing resumes at the next block, or after a scan
  // A torn sector zeroes a header's first bytes (checksum first) or its
  // last (type last), so a zero there means the length may be lost too, and
  // bytes after it may be the intact rest of the torn record: never scanned.
  if (type == 0 || checksum == 0) {
    *why = checksum == 0 && length == 0 && type == 0 ? "zeroed header"
                                                     : "header with a zero type or checksum";
    return Found::kSkipped;
  }
  const bool known_type = type <= kWalMaxFragmentType;
  if (known_type && end <= kWalBlockSize && end > block_.size()) {  // so this block is the last
    *why = "a " + std::to_string(length) + "-byte " +
           TypeName(static_cast<WalFragmentType>(type)) + " fragment runs past the end of the file";
    return Found::kTornEnd;
  }
  if (known_type && end <= block_.size()) {
    // The length may be the writer's (a torn write, or damage in the
    // checksum or payload): the next fragment would start where it ends.
    // If the length is damaged instead, the scan still meets the records
    // after it. Bytes inside this fragment are never scanned: they may be
    // the intact part of a torn record, a client's value.
    const auto fragment_type = static_cast<WalFragmentType>(type);
    if ((fragment_type == WalFragmentType::kFirst || fragment_type == WalFragmentType::kMiddle) &&
        end != kWalBlockSize) {
      *why = std::string("a ") + TypeName(fragment_type) + " fragment ending before its block does";
    } else {
      *why = std::string("checksum mismatch in a ") + TypeName(fragment_type) + " fragment";
    }
    // Records whose checksums all fail (another log's file under this name,
    // or wide damage) still have a writer's headers, one where the last ends.
    // Random bytes pass for one with a chance near 1 in 256, for a run of
    // kWriterLikeRun well under 1 in 10 million.
    size_t run = 0;
    for (size_t at = end, next = 0; run < kWriterLikeRun && WriterLikeAt(at, &next); at = next) {
      ++run;
    }
    if (run == kWriterLikeRun) {
      *why += ", followed by fragments with a writer's headers whose checksums fail";
      return Found::kNotTorn;
    }
    scan_from_ = end;
  } else {
    // No writer wrote this header (garbage, or damage to the header itself),
    // so its length says nothing about where the next fragment starts.
    *why = !known_type ? "unknown fragment type " + std::to_string(type)
                       : "a " + std::to_string(length) +
                             "-byte fragment would cross the end of its block";
    scan_from_ = header_pos + kWalHeaderSize;
  }
  return Found::kSkipped;
}

Status WalReader::LoadNextBlock() {
  block_start_ += block_.size();
  block_.clear();
  pos_ = 0;
  while (block_.size() < kWalBlockSize && read_pos_ < file_size_) {
    const size_t want = static_cast<size_t>(
        std::min<uint64_t>(kWalBlockSize - block_.size(), file_size_ - read_pos_));
    std::string_view chunk;
    Status s = file_->Read(want, &scratch_, &chunk);
    if (!s.ok()) return s;
    if (chunk.empty()) {  // The file is shorter than file_size_ said.
      file_size_ = read_pos_;
      break;
    }
    chunk = chunk.substr(0, want);
    block_.append(chunk);
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

Status WalReader::TornTail(uint64_t offset, std::string_view why) const {
  return Status::Corruption(path_ + ": torn record at offset " + std::to_string(offset) +
                            " (end of log): " + std::string(why));
}

Status WalReader::BadRecord(uint64_t offset, std::string_view why) const {
  return Status::Corruption(path_ + ": bad log record at offset " + std::to_string(offset) + ": " +
                            std::string(why));
}

}  // namespace lsmd
