// MemTable: the sorted in-memory table every write lands in (after the log).
// Entries are (key, sequence, kind, value), ordered by key ascending then
// sequence descending, so the newest version of a key comes first.
//
// Concurrency: one writer at a time (the engine's commit thread), any number
// of concurrent readers without locks: the skiplist publishes nodes with
// release stores (see skiplist.h). A frozen MemTable is never written again.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/iterator.h"

namespace lsmd {

class MemTable {
 public:
  // budget_bytes: the size threshold this MemTable is expected to grow to;
  // it sizes the key filter (memtable_filter.h), not a limit.
  explicit MemTable(size_t budget_bytes = 4 << 20);
  ~MemTable();
  MemTable(const MemTable&) = delete;
  MemTable& operator=(const MemTable&) = delete;

  // REQUIRES: no other Add() runs at the same time; seq grows with every call.
  void Add(uint64_t seq, ValueKind kind, std::string_view key, std::string_view value);

  // The newest version of key: kFound (value set), kDeleted or kAbsent.
  LookupState Get(std::string_view key, std::string* value) const;

  // Bytes charged per version on top of its key and value: the 16-byte entry
  // header (8-byte sequence+kind tag, 4-byte key and value lengths), the
  // skiplist links (4/3 of an 8-byte pointer per node on average) and arena
  // alignment padding (up to 7 bytes), rounded to 32.
  static constexpr size_t kEntryOverhead = 32;

  // Bytes accounted for the size threshold: key + value + kEntryOverhead for
  // every version held. Cheap; any thread may call it while the writer adds.
  size_t ApproximateBytes() const;
  // Versions held, overwritten ones and tombstones included.
  size_t entries() const;

  // Yields the newest version of each key in key order (tombstones included).
  // The MemTable must outlive the iterator.
  std::unique_ptr<Iterator> NewIterator() const;

 private:
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace lsmd
