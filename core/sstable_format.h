// The SSTable byte layout, in one place (docs/FORMAT.md explains it at length).
// All fixed-width integers are little-endian; varints are LEB128 (core/coding.h).
//
//   file    := segment+ index_block filter_block meta_block footer
//   block   := payload checksum        checksum: fixed64 XXH3-64(payload)
//
//   segment (a data segment): a block whose payload is up to index_interval
//     entries in strictly ascending bytewise key order, packed back to back
//     (the reader checks the order on every segment read: a checksum does
//     not prove it):
//       entry := varint key_len | key | u8 kind (0 tombstone, 1 put)
//                | varint value_len | value        (value_len is 0 for tombstones)
//     Segments start at offset 0 and follow each other with no gaps.
//
//   index_block: a block whose payload holds one record per segment, in order:
//       varint first_key_len | first_key | varint segment_offset | varint segment_size
//     segment_size counts the whole block (payload + 8-byte checksum).
//
//   filter_block: a block whose payload is the encoded Bloom filter (bloom.h):
//     ceil(bits/8) bytes of bit array, then one byte k (number of probes).
//     Probe i of a key sets bit (h + i * rotl(h, 32)) mod 2^64 mod bits,
//     h = BloomHash(key) (XXH3-64 seeded "lsmd"); bit b is bit b%8 of byte b/8.
//
//   meta_block: a block whose payload is
//       varint smallest_len | smallest_key | varint largest_len | largest_key
//
//   footer (kFooterSize = 76 bytes, the last bytes of the file):
//       off  0  fixed64 index_offset     off  8  fixed64 index_size
//       off 16  fixed64 filter_offset    off 24  fixed64 filter_size
//       off 32  fixed64 meta_offset      off 40  fixed64 meta_size
//       off 48  fixed64 entries          off 56  fixed32 format_version (1)
//       off 60  fixed64 magic ("lsmd.sst")
//       off 68  fixed64 XXH3-64 of footer bytes [0, 68)
//     Section sizes include their checksum. Index, filter and meta are
//     contiguous and end where the footer starts, so Open reads them at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/checksum.h"
#include "core/coding.h"
#include "core/iterator.h"
#include "core/status.h"

namespace lsmd::sst {

constexpr uint32_t kFormatVersion = 1;
// The bytes "lsmd.sst" read as a little-endian fixed64.
constexpr uint64_t kMagic = 0x7473732e646d736cULL;
constexpr size_t kChecksumSize = 8;
constexpr size_t kFooterSize = 76;
constexpr size_t kFooterChecksumOffset = 68;
constexpr size_t kFooterMagicOffset = 60;

struct BlockHandle {
  uint64_t offset = 0;
  uint64_t size = 0;  // payload + checksum
  uint64_t end() const { return offset + size; }
};

struct Footer {
  BlockHandle index;
  BlockHandle filter;
  BlockHandle meta;
  uint64_t entries = 0;
  uint32_t version = kFormatVersion;
};

// Seals the block that starts at dst[payload_start]: appends its checksum.
inline void AppendBlockChecksum(std::string* dst, size_t payload_start) {
  PutFixed64(dst, Checksum(dst->data() + payload_start, dst->size() - payload_start));
}

// Splits a block into its payload; false if it is too short or the checksum
// does not match.
inline bool VerifyBlock(std::string_view block, std::string_view* payload) {
  if (block.size() < kChecksumSize) return false;
  const size_t payload_size = block.size() - kChecksumSize;
  if (Checksum(block.data(), payload_size) != DecodeFixed64(block.data() + payload_size)) {
    return false;
  }
  *payload = block.substr(0, payload_size);
  return true;
}

inline void AppendEntry(std::string* dst, std::string_view key, ValueKind kind,
                        std::string_view value) {
  PutLengthPrefixed(dst, key);
  dst->push_back(static_cast<char>(kind));
  PutLengthPrefixed(dst, value);
}

// Consumes one entry from the front of *in; false if it is malformed.
inline bool DecodeEntry(std::string_view* in, std::string_view* key, ValueKind* kind,
                        std::string_view* value) {
  if (!GetLengthPrefixed(in, key) || in->empty()) return false;
  const uint8_t kind_byte = static_cast<uint8_t>(in->front());
  if (kind_byte != static_cast<uint8_t>(ValueKind::kTombstone) &&
      kind_byte != static_cast<uint8_t>(ValueKind::kPut)) {
    return false;
  }
  in->remove_prefix(1);
  *kind = static_cast<ValueKind>(kind_byte);
  return GetLengthPrefixed(in, value);
}

inline void AppendIndexRecord(std::string* dst, std::string_view first_key) {
  PutLengthPrefixed(dst, first_key);
}

inline void AppendIndexHandle(std::string* dst, const BlockHandle& segment) {
  PutVarint64(dst, segment.offset);
  PutVarint64(dst, segment.size);
}

inline void EncodeFooter(const Footer& footer, std::string* dst) {
  const size_t start = dst->size();
  for (const BlockHandle* h : {&footer.index, &footer.filter, &footer.meta}) {
    PutFixed64(dst, h->offset);
    PutFixed64(dst, h->size);
  }
  PutFixed64(dst, footer.entries);
  PutFixed32(dst, footer.version);
  PutFixed64(dst, kMagic);
  AppendBlockChecksum(dst, start);
}

// Decodes the last kFooterSize bytes of a file. The error (Corruption) says
// what is wrong but not where; the caller adds the path.
inline Status DecodeFooter(std::string_view in, Footer* footer) {
  if (in.size() != kFooterSize) return Status::Corruption("footer is truncated");
  if (DecodeFixed64(in.data() + kFooterMagicOffset) != kMagic) {
    return Status::Corruption("bad magic number in footer (not an SSTable, or truncated)");
  }
  std::string_view fields;
  if (!VerifyBlock(in, &fields)) return Status::Corruption("footer checksum mismatch");
  for (BlockHandle* h : {&footer->index, &footer->filter, &footer->meta}) {
    GetFixed64(&fields, &h->offset);
    GetFixed64(&fields, &h->size);
  }
  GetFixed64(&fields, &footer->entries);
  GetFixed32(&fields, &footer->version);
  if (footer->version != kFormatVersion) {
    return Status::Corruption("unsupported format version " + std::to_string(footer->version));
  }
  return Status::OK();
}

}  // namespace lsmd::sst
