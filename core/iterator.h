// Iterator: the one cursor shape shared by MemTables, SSTables and the merge
// of both. Every iterator yields each user key at most once (the newest
// version its source holds), in ascending bytewise order, tombstones included.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/status.h"

namespace lsmd {

// Stored next to every key in MemTables, logs and SSTables.
enum class ValueKind : uint8_t {
  kTombstone = 0,
  kPut = 1,
};

// What a point lookup in one source found.
enum class LookupState {
  kAbsent,   // the source knows nothing of the key: look further
  kFound,    // a put: the value is the answer
  kDeleted,  // a tombstone: the key is deleted, stop looking
};

class Iterator {
 public:
  virtual ~Iterator() = default;
  virtual bool Valid() const = 0;
  virtual void SeekToFirst() = 0;
  // Positions at the first key >= target.
  virtual void Seek(std::string_view target) = 0;
  // REQUIRES: Valid()
  virtual void Next() = 0;
  // REQUIRES: Valid(). The views stay good until the next move.
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  virtual ValueKind kind() const = 0;
  // A read or checksum error ends iteration (Valid() turns false) and stays here.
  virtual Status status() const = 0;
};

}  // namespace lsmd
