#include "proto/resp/cursor_table.h"

#include <chrono>
#include <utility>

namespace lsmd::proto::resp {

// Cursors of one process start at a value from the clock, so a cursor
// saved before a restart is unknown afterwards instead of meaning another
// scan's position.
CursorTable::CursorTable(size_t capacity)
    : capacity_(capacity),
      next_((static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) &
             0xffffffffffULL)
                << 12 |
            1) {}

uint64_t CursorTable::Save(std::string resume_key) {
  MutexLock lock(&mu_);
  const uint64_t cursor = next_++;
  if (next_ == 0) next_ = 1;
  resume_at_.emplace(cursor, std::move(resume_key));
  order_.push_back(cursor);
  while (order_.size() > capacity_) {
    resume_at_.erase(order_.front());
    order_.pop_front();
  }
  return cursor;
}

std::optional<std::string> CursorTable::Find(uint64_t cursor) const {
  MutexLock lock(&mu_);
  auto it = resume_at_.find(cursor);
  if (it == resume_at_.end()) return std::nullopt;
  return it->second;
}

}  // namespace lsmd::proto::resp
