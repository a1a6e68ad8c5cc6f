// WriteBatch: the writes of one commit group, encoded as one log record so a
// group is replayed all or nothing.
//
// Encoding (all integers little-endian):
//   fixed64 first_sequence | fixed32 count | count × entry
//   entry := u8 kind (0 tombstone, 1 put) | varint key_len | key | varint value_len | value
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/iterator.h"
#include "core/status.h"

namespace lsmd {

class WriteBatch {
 public:
  WriteBatch();
  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);
  void Clear();
  // Appends every entry of other to this batch.
  void Append(const WriteBatch& other);

  void SetSequence(uint64_t seq);
  uint64_t sequence() const;
  uint32_t count() const;
  // Bytes of the encoded record.
  size_t ByteSize() const { return rep_.size(); }
  std::string_view Contents() const { return rep_; }

  // Calls fn for each entry in order with its sequence number.
  using Visitor = std::function<void(uint64_t seq, ValueKind kind, std::string_view key,
                                     std::string_view value)>;
  Status Iterate(const Visitor& fn) const;

  // Adopts an encoded record read back from a log; Corruption if malformed.
  static Status FromContents(std::string_view contents, WriteBatch* batch);

 private:
  std::string rep_;
};

}  // namespace lsmd
