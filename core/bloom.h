// Bloom filter over the keys of one SSTable: "is this key possibly here?"
// with no false negatives. Probes use double hashing of one XXH3-64 per key
// (Kirsch & Mitzenmacher), so a lookup hashes the key once.
//
// Encoded form: the bit array (ceil(bits/8) bytes) followed by one byte, the
// number of probes k. The layout is part of the SSTable format (docs/FORMAT.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lsmd {

class BloomFilterBuilder {
 public:
  // k = round(bits_per_key * ln 2), clamped to [1, 30].
  explicit BloomFilterBuilder(int bits_per_key);
  void AddKey(std::string_view key);
  size_t num_keys() const { return hashes_.size(); }
  // The encoded filter. At least 64 bits even for very few keys.
  std::string Finish();

 private:
  int bits_per_key_;
  std::vector<uint64_t> hashes_;
};

// A read-only view of an encoded filter; the bytes must outlive it.
class BloomFilter {
 public:
  BloomFilter() = default;
  // False if the encoding is malformed (empty, k out of range).
  bool Parse(std::string_view encoded);
  bool MayContain(std::string_view key) const;
  // Size of the bit array in bits.
  uint64_t bits() const { return bits_; }
  int probes() const { return probes_; }

 private:
  std::string_view bits_data_;
  uint64_t bits_ = 0;
  int probes_ = 0;
};

}  // namespace lsmd
