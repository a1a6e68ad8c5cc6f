// Arena: bump allocation for the MemTable's skiplist nodes, keys and values,
// so an insert costs no heap allocation of its own. Memory is released only
// when the whole Arena is destroyed (with its MemTable).
//
// Concurrency: only the MemTable's writer allocates; MemoryUsage() may be read
// from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace lsmd {

class Arena {
 public:
  // Small allocations are carved from blocks of this size.
  static constexpr size_t kBlockSize = 64 * 1024;
  // Every returned pointer is aligned for uint64_t and std::atomic<void*>.
  static constexpr size_t kAlignment = 8;
  static_assert(alignof(std::atomic<void*>) <= kAlignment && alignof(uint64_t) <= kAlignment);

  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // REQUIRES: bytes > 0; called by the single writer only.
  char* Allocate(size_t bytes) {
    bytes = (bytes + kAlignment - 1) & ~(kAlignment - 1);
    if (bytes <= remaining_) {
      char* result = next_;
      next_ += bytes;
      remaining_ -= bytes;
      return result;
    }
    return AllocateSlow(bytes);
  }

  // Bytes obtained from the heap so far (blocks plus bookkeeping).
  size_t MemoryUsage() const { return memory_usage_.load(std::memory_order_relaxed); }

 private:
  char* AllocateSlow(size_t bytes);
  char* NewBlock(size_t bytes);

  char* next_ = nullptr;  // Owned by the writer: free space in the current block.
  size_t remaining_ = 0;  // Owned by the writer.
  std::vector<std::unique_ptr<char[]>> blocks_;  // Owned by the writer.
  std::atomic<size_t> memory_usage_{0};
};

}  // namespace lsmd
