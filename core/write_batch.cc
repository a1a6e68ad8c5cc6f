// WriteBatch: entries appended to one encoded string (format in
// write_batch.h). The 12-byte header holds first_sequence and count; count is
// rewritten in place on every Put/Delete.
#include "core/write_batch.h"

#include "core/coding.h"

namespace lsmd {
namespace {

constexpr size_t kHeaderSize = 8 + 4;
constexpr size_t kCountOffset = 8;

void EncodeFixed32At(std::string* dst, size_t offset, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*dst)[offset + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

void EncodeFixed64At(std::string* dst, size_t offset, uint64_t v) {
  for (int i = 0; i < 8; ++i) (*dst)[offset + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

Status Malformed(std::string_view what) {
  return Status::Corruption("write batch: " + std::string(what));
}

// Walks every entry of an encoded batch, calling fn (if set) for each.
// Checks everything FromContents promises to reject, without reading past
// contents.
Status ParseEntries(std::string_view contents, const WriteBatch::Visitor* fn) {
  uint64_t first_sequence = 0;
  uint32_t count = 0;
  if (!GetFixed64(&contents, &first_sequence) || !GetFixed32(&contents, &count)) {
    return Malformed("shorter than its 12-byte header");
  }
  for (uint32_t index = 0; index < count; ++index) {
    if (contents.empty()) {
      return Malformed("header says " + std::to_string(count) + " entries but it holds " +
                       std::to_string(index));
    }
    const uint8_t kind = static_cast<uint8_t>(contents.front());
    contents.remove_prefix(1);
    if (kind != static_cast<uint8_t>(ValueKind::kTombstone) &&
        kind != static_cast<uint8_t>(ValueKind::kPut)) {
      return Malformed("bad kind " + std::to_string(kind) + " in entry " + std::to_string(index));
    }
    std::string_view key, value;
    if (!GetLengthPrefixed(&contents, &key) || !GetLengthPrefixed(&contents, &value)) {
      return Malformed("entry " + std::to_string(index) + " is truncated");
    }
    if (kind == static_cast<uint8_t>(ValueKind::kTombstone) && !value.empty()) {
      return Malformed("tombstone in entry " + std::to_string(index) + " carries a value");
    }
    if (fn != nullptr) (*fn)(first_sequence + index, static_cast<ValueKind>(kind), key, value);
  }
  if (!contents.empty()) {
    return Malformed(std::to_string(contents.size()) + " trailing bytes after " +
                     std::to_string(count) + " entries");
  }
  return Status::OK();
}

}  // namespace

WriteBatch::WriteBatch() { Clear(); }

void WriteBatch::Put(std::string_view key, std::string_view value) {
  rep_.push_back(static_cast<char>(ValueKind::kPut));
  PutLengthPrefixed(&rep_, key);
  PutLengthPrefixed(&rep_, value);
  EncodeFixed32At(&rep_, kCountOffset, count() + 1);
}

void WriteBatch::Delete(std::string_view key) {
  rep_.push_back(static_cast<char>(ValueKind::kTombstone));
  PutLengthPrefixed(&rep_, key);
  PutVarint64(&rep_, 0);
  EncodeFixed32At(&rep_, kCountOffset, count() + 1);
}

void WriteBatch::Clear() { rep_.assign(kHeaderSize, '\0'); }

void WriteBatch::Append(const WriteBatch& other) {
  const uint32_t total = count() + other.count();
  rep_.append(other.rep_, kHeaderSize);
  EncodeFixed32At(&rep_, kCountOffset, total);
}

void WriteBatch::SetSequence(uint64_t seq) { EncodeFixed64At(&rep_, 0, seq); }

uint64_t WriteBatch::sequence() const { return DecodeFixed64(rep_.data()); }

uint32_t WriteBatch::count() const { return DecodeFixed32(rep_.data() + kCountOffset); }

Status WriteBatch::Iterate(const Visitor& fn) const { return ParseEntries(rep_, &fn); }

Status WriteBatch::FromContents(std::string_view contents, WriteBatch* batch) {
  Status s = ParseEntries(contents, nullptr);
  if (!s.ok()) return s;
  batch->rep_.assign(contents.data(), contents.size());
  return Status::OK();
}

}  // namespace lsmd
