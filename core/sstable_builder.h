// SSTableBuilder streams sorted entries into an SSTable file; SSTableReader
// (sstable_reader.h) reads it back. The byte format is spelled out in
// sstable_format.h and docs/FORMAT.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/env.h"
#include "core/iterator.h"
#include "core/status.h"

namespace lsmd {

struct TableOptions {
  // The sparse index samples the first key of every index_interval entries.
  int index_interval = 16;
  int bloom_bits_per_key = 10;
};

// What the footer and meta block record about a finished table.
struct TableProperties {
  uint64_t entries = 0;
  uint64_t file_size = 0;
  uint64_t bloom_bits = 0;
  std::string smallest_key;
  std::string largest_key;
};

// Single-threaded: owned by the background strand while it builds.
class SSTableBuilder {
 public:
  SSTableBuilder(const TableOptions& options, std::unique_ptr<WritableFile> file);
  ~SSTableBuilder();

  // REQUIRES: key is greater than every key added before; Finish() not called.
  Status Add(std::string_view key, ValueKind kind, std::string_view value);
  // Writes index, filter, meta and footer, then syncs and closes the file.
  Status Finish(TableProperties* props);
  // Bytes written so far (an estimate of the file size while building).
  uint64_t FileSize() const;
  uint64_t entries() const;

 private:
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace lsmd
