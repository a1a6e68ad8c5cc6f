// Access to the data segments of an open SSTable, shared by point lookups
// (SSTableReader::Get) and the streaming iterator. Internal to core/.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "core/iterator.h"
#include "core/status.h"

namespace lsmd {

// One record of the sparse index.
struct SegmentHandle {
  std::string_view first_key;  // points into the reader's loaded index block
  uint64_t offset = 0;
  uint64_t size = 0;  // payload + checksum
};

// The data segments of one table. Immutable after SSTableReader::Open, so
// any number of threads may read through it at once (RandomAccessFile::Read
// is a view into a mapping or a pread into the caller's own scratch buffer).
struct TableSegments {
  std::string path;
  std::unique_ptr<RandomAccessFile> file;
  std::vector<SegmentHandle> index;  // ascending first keys, never empty once open
  // The table's largest key (meta block): no key of the last segment is above it.
  std::string_view largest_key;

  // The last segment whose first key is <= key, or index.size() if key sorts
  // before every segment.
  size_t FindSegment(std::string_view key) const;

  // Reads segment i with one Read call into *scratch, checks its checksum and
  // its key order (CheckSegmentOrder). *payload (the entries) points into
  // *scratch. IOError if the read fails, Corruption naming the path and
  // offset if the bytes are short, bad, malformed or out of order.
  Status ReadSegment(size_t i, std::string* scratch, std::string_view* payload) const;

  // A checksum proves the bytes are what was written, not that the writer
  // (or a forger) put the keys in order, and every search here trusts the
  // order. So segment i must hold well-formed entries whose keys are
  // strictly ascending, start with the index's first key for it, and stay
  // below the next segment's first key (the last: at most largest_key).
  Status CheckSegmentOrder(size_t i, std::string_view payload) const;

  // Corruption("<path>: malformed data segment at offset N").
  Status MalformedSegment(size_t i) const;
};

// Streams the table segment by segment; memory is bounded by one segment.
// REQUIRES: *segments outlives the iterator.
std::unique_ptr<Iterator> NewSSTableIterator(const TableSegments* segments);

}  // namespace lsmd
