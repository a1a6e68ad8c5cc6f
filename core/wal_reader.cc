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

Status WalReader::ReadFragment(Found* found, Fragment* fragment, std::string* why) {
  if (!loaded_) {
    loaded_ = true;
    Status s = LoadNextBlock();
    if (!s.ok()) return s;
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
  const char* header = block_.data() + pos_;
  const uint32_t checksum = DecodeFixed32(header);
  const size_t length = static_cast<uint8_t>(header[4]) | size_t{static_cast<uint8_t>(header[5])}
                                                              << 8;
  const uint8_t type = static_cast<uint8_t>(header[6]);
  fragment->offset = block_start_ + pos_;
  const size_t end = pos_ + kWalHeaderSize + length;
  if (type >= 1 && type <= kWalMaxFragmentType && end <= block_.size()) {
    const std::string_view payload(header + kWalHeaderSize, length);
    const auto fragment_type = static_cast<WalFragmentType>(type);
    if (WalFragmentChecksum(log_number_, fragment_type, payload) == checksum) {
      fragment->type = fragment_type;
      fragment->payload = payload;
      pos_ = end;
      *found = Found::kFragment;
      return Status::OK();
    }
  }
  *found = Damaged(checksum, length, type, why);
  return Status::OK();
}

WalReader::Found WalReader::Damaged(uint32_t checksum, size_t length, uint8_t type,
                                    std::string* why) {
  const size_t end = pos_ + kWalHeaderSize + length;
  const size_t fragment_pos = pos_;
  pos_ = block_.size();  // whatever it is, nothing more is read from this block
  // Lost bytes read as zeros, and zeros only make a type or a length
  // smaller: a writer's header that lost some never shows these.
  if (type > kWalMaxFragmentType) {
    *why = "unknown fragment type " + std::to_string(type);
    return Found::kNotTorn;
  }
  const auto fragment_type = static_cast<WalFragmentType>(type);
  if (end > kWalBlockSize) {
    *why = "a " + std::to_string(length) + "-byte fragment would cross the end of its block";
    return Found::kNotTorn;
  }
  // A torn sector zeroes a header's first bytes (checksum first) or its
  // last (type last), so a zero there means the length may be lost too.
  const bool intact_header = type != 0 && checksum != 0;
  if (intact_header &&
      (fragment_type == WalFragmentType::kFirst || fragment_type == WalFragmentType::kMiddle) &&
      end != kWalBlockSize) {
    *why = std::string("a ") + TypeName(fragment_type) + " fragment ending before its block does";
    return Found::kNotTorn;
  }
  if (end > block_.size()) {  // so this short block is the last
    *why = "a " + std::to_string(length) + "-byte " + TypeName(fragment_type) +
           " fragment runs past the end of the file";
    return Found::kTornEnd;
  }
  if (!intact_header) {
    *why = checksum == 0 && length == 0 && type == 0 ? "zeroed header"
                                                     : "header with a zero type or checksum";
    return Found::kSkipped;
  }
  *why = std::string("checksum mismatch in a ") + TypeName(fragment_type) + " fragment";
  // The length is the writer's (or the damage is not a torn write anyway):
  // a torn write leaves nothing but zeros after its last fragment.
  for (size_t i = end; i < block_.size(); ++i) {
    if (block_[i] != 0) {
      *why += " at offset " + std::to_string(block_start_ + fragment_pos) +
              ", followed by data at offset " + std::to_string(block_start_ + i);
      return Found::kNotTorn;
    }
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
