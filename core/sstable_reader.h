// SSTableReader opens an SSTable written by SSTableBuilder. Open() reads and
// checks the footer, then loads the sparse index, Bloom filter and meta block
// into memory, so a point lookup costs at most one read: the data segment the
// index points at.
//
// Thread safety: after Open, every const method may be called from any number
// of threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/env.h"
#include "core/iterator.h"
#include "core/sstable_builder.h"
#include "core/status.h"

namespace lsmd {

// One point lookup in one table, with what it cost.
struct TableLookup {
  LookupState state = LookupState::kAbsent;
  std::string value;            // set when state == kFound
  bool bloom_checked = false;   // the filter was consulted
  bool bloom_negative = false;  // the filter said "definitely not here"
  int disk_reads = 0;           // read calls actually made on the file
};

class SSTableReader {
 public:
  ~SSTableReader();
  // Corruption (naming path and the bad section) if the footer's magic,
  // version or any section checksum does not match.
  static Result<std::unique_ptr<SSTableReader>> Open(Env* env, const std::string& path);

  // Bloom filter, then the sparse index, then one read of one segment.
  // A segment whose checksum fails gives Corruption, never a wrong value.
  Status Get(std::string_view key, TableLookup* out) const;

  // Streams the table segment by segment (memory: one segment at a time).
  std::unique_ptr<Iterator> NewIterator() const;

  const TableProperties& properties() const;
  const std::string& path() const;

 private:
  SSTableReader();
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace lsmd
