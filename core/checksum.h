// Checksums and hashing: XXH3 from libxxhash, never a hand-written hash.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <string_view>

namespace lsmd {

// 64-bit XXH3 of the bytes; every on-disk section and log record carries one.
inline uint64_t Checksum(std::string_view data) { return XXH3_64bits(data.data(), data.size()); }

inline uint64_t Checksum(const char* data, size_t n) { return XXH3_64bits(data, n); }

// The hash the Bloom filter probes with. Seeded so it differs from Checksum.
inline uint64_t BloomHash(std::string_view key) {
  return XXH3_64bits_withSeed(key.data(), key.size(), 0x6c736d64 /* "lsmd" */);
}

}  // namespace lsmd
