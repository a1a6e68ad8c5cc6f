// MemTableFilter: a Bloom filter over the keys of one MemTable, so a get for
// a key the MemTable does not hold skips the skiplist search (RocksDB calls
// this memtable_whole_key_filtering). The search is about a dozen dependent
// cache misses; perf put MemTable::Get at 8-14% of the server's CPU under
// gets, most of it for keys that live in SSTables.
//
// Sized once, from the MemTable's byte budget: about one bit per 16 bytes
// (~9 bits per key for 100-byte values, ~1% false positives), within
// [64 Ki, 8 Mi] bits. A MemTable that outgrows its budget (a raised
// threshold) only sees more false positives; there are never false
// negatives.
//
// Concurrency: one writer (the MemTable's), any number of readers. Bits are
// set with relaxed atomics before the entry is published in the skiplist;
// a reader whose get starts after a put was acknowledged is ordered after it
// by whatever carried the acknowledgement, so it sees the bits.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/checksum.h"

namespace lsmd {

class MemTableFilter {
 public:
  explicit MemTableFilter(size_t budget_bytes)
      : words_(std::clamp<size_t>(budget_bytes / 16, kMinBits, kMaxBits) / 64),
        bits_(std::make_unique<std::atomic<uint64_t>[]>(words_)) {}

  // REQUIRES: the MemTable's single writer.
  void Add(std::string_view key) {
    ForEachProbe(key, [this](size_t word, uint64_t mask) {
      std::atomic<uint64_t>& w = bits_[word];
      w.store(w.load(std::memory_order_relaxed) | mask, std::memory_order_relaxed);
      return true;
    });
  }

  bool MayContain(std::string_view key) const {
    return ForEachProbe(key, [this](size_t word, uint64_t mask) {
      return (bits_[word].load(std::memory_order_relaxed) & mask) != 0;
    });
  }

  size_t bits() const { return words_ * 64; }

 private:
  static constexpr size_t kMinBits = size_t{64} << 10;
  static constexpr size_t kMaxBits = size_t{8} << 20;
  static constexpr int kProbes = 6;  // ~ln 2 * 9 bits per key

  // Double hashing of one XXH3 (as bloom.h). Stops at the first probe fn
  // rejects; true if none did.
  template <typename Fn>
  bool ForEachProbe(std::string_view key, Fn fn) const {
    const uint64_t h = BloomHash(key);
    const uint64_t delta = (h >> 32) | (h << 32);
    const uint64_t bits = words_ * 64;
    uint64_t probe = h;
    for (int i = 0; i < kProbes; ++i) {
      const uint64_t bit = probe % bits;
      if (!fn(bit / 64, uint64_t{1} << (bit % 64))) return false;
      probe += delta;
    }
    return true;
  }

  const size_t words_;
  const std::unique_ptr<std::atomic<uint64_t>[]> bits_;
};

}  // namespace lsmd
