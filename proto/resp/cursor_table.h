// CursorTable: SCAN's integer cursors. lsmd scans in key order, so a scan
// resumes at a key; clients (redis-py included) parse the cursor as an
// integer. The table maps the integers it hands out to the key each resumes
// at. It is bounded: the oldest cursors are forgotten first, and a cursor it
// does not know (forgotten, or never issued) is an error for the client,
// never a silent restart from the first key.
//
// Shared by every RESP connection (a client library may continue a scan on
// another pooled connection). Thread safety: all methods lock mu_.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/mutex.h"

namespace lsmd::proto::resp {

class CursorTable {
 public:
  explicit CursorTable(size_t capacity = 16384);

  // Remembers a scan that stopped before resume_key; returns its cursor,
  // never 0 (which means "start" and "done").
  uint64_t Save(std::string resume_key);
  // The key the cursor resumes at, or nullopt if unknown. A cursor stays
  // valid until it is forgotten, so a client may retry a call.
  std::optional<std::string> Find(uint64_t cursor) const;

  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable Mutex mu_;
  uint64_t next_ GUARDED_BY(mu_);
  std::unordered_map<uint64_t, std::string> resume_at_ GUARDED_BY(mu_);
  std::deque<uint64_t> order_ GUARDED_BY(mu_);  // oldest first
};

}  // namespace lsmd::proto::resp
