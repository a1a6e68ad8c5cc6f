#include "core/arena.h"

namespace lsmd {

char* Arena::AllocateSlow(size_t bytes) {
  // A request bigger than a quarter block gets a block of its own: the rest
  // of the current block stays usable and large values waste nothing.
  if (bytes > kBlockSize / 4) return NewBlock(bytes);
  next_ = NewBlock(kBlockSize);
  remaining_ = kBlockSize;
  char* result = next_;
  next_ += bytes;
  remaining_ -= bytes;
  return result;
}

char* Arena::NewBlock(size_t bytes) {
  // operator new[] aligns to __STDCPP_DEFAULT_NEW_ALIGNMENT__ (>= kAlignment).
  blocks_.emplace_back(new char[bytes]);
  memory_usage_.fetch_add(bytes + sizeof(blocks_.back()), std::memory_order_relaxed);
  return blocks_.back().get();
}

}  // namespace lsmd
