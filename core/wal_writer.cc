// WalWriter: the block and fragment format is documented in wal_writer.h.
#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include "core/wal_writer.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace lsmd {

uint32_t WalFragmentChecksum(uint64_t log_number, WalFragmentType type, std::string_view payload) {
  // Header bytes 4..6, then the log number: 11 bytes hashed before the payload.
  char prefix[2 + 1 + 8];
  prefix[0] = static_cast<char>(payload.size() & 0xff);
  prefix[1] = static_cast<char>((payload.size() >> 8) & 0xff);
  prefix[2] = static_cast<char>(type);
  for (int i = 0; i < 8; ++i) prefix[3 + i] = static_cast<char>((log_number >> (8 * i)) & 0xff);
  // One call on a copy for small fragments (most records are a few hundred
  // bytes); the streaming state costs more than the copy there.
  constexpr size_t kCopyLimit = 512;
  if (payload.size() <= kCopyLimit) {
    char buf[sizeof(prefix) + kCopyLimit];
    std::memcpy(buf, prefix, sizeof(prefix));
    if (!payload.empty()) std::memcpy(buf + sizeof(prefix), payload.data(), payload.size());
    return static_cast<uint32_t>(XXH3_64bits(buf, sizeof(prefix) + payload.size()));
  }
  XXH3_state_t state;
  XXH3_INITSTATE(&state);
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, prefix, sizeof(prefix));
  XXH3_64bits_update(&state, payload.data(), payload.size());
  return static_cast<uint32_t>(XXH3_64bits_digest(&state));
}

WalWriter::WalWriter(std::unique_ptr<WritableFile> file, uint64_t log_number)
    : file_(std::move(file)),
      log_number_(log_number),
      block_offset_(static_cast<size_t>(file_->Size() % kWalBlockSize)) {}

Status WalWriter::AddRecord(std::string_view payload) {
  if (payload.size() > kWalMaxRecordSize) {
    return Status::InvalidArgument("log record of " + std::to_string(payload.size()) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(kWalMaxRecordSize));
  }
  const uint64_t start = file_->Size();
  Status s;
  bool first = true;
  // do/while: an empty record is still one (empty) FULL fragment.
  do {
    const size_t left_in_block = kWalBlockSize - block_offset_;
    if (left_in_block < kWalHeaderSize) {
      // A header never straddles two blocks, so the reader can always start
      // a block at a header; the trailer reads as zeros.
      static constexpr char kZeros[kWalHeaderSize] = {};
      if (left_in_block > 0) s = file_->Append(std::string_view(kZeros, left_in_block));
      if (!s.ok()) break;
      block_offset_ = 0;
      continue;
    }
    const size_t room = left_in_block - kWalHeaderSize;
    const size_t n = std::min(room, payload.size());
    const bool last = n == payload.size();
    const WalFragmentType type = first && last ? WalFragmentType::kFull
                                 : first       ? WalFragmentType::kFirst
                                 : last        ? WalFragmentType::kLast
                                               : WalFragmentType::kMiddle;
    s = AppendFragment(type, payload.substr(0, n));
    payload.remove_prefix(n);
    first = false;
    if (last) break;
  } while (s.ok());
  // Flush even small records: an acknowledged write must survive kill -9.
  if (s.ok()) s = file_->Flush();
  last_record_bytes_ = file_->Size() - start;
  return s;
}

Status WalWriter::AppendFragment(WalFragmentType type, std::string_view payload) {
  char header[kWalHeaderSize];
  const uint32_t checksum = WalFragmentChecksum(log_number_, type, payload);
  for (int i = 0; i < 4; ++i) header[i] = static_cast<char>((checksum >> (8 * i)) & 0xff);
  header[4] = static_cast<char>(payload.size() & 0xff);
  header[5] = static_cast<char>((payload.size() >> 8) & 0xff);
  header[6] = static_cast<char>(type);
  Status s = file_->Append(std::string_view(header, sizeof(header)));
  if (s.ok() && !payload.empty()) s = file_->Append(payload);
  if (s.ok()) block_offset_ += kWalHeaderSize + payload.size();
  return s;
}

Status WalWriter::Sync() { return file_->Sync(); }

Status WalWriter::Close() { return file_->Close(); }

}  // namespace lsmd
