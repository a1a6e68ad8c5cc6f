// Bloom filter (layout in bloom.h and docs/FORMAT.md, "Filter block").
//
// A key's probes come from one 64-bit hash h = BloomHash(key):
//   delta = rotate_left(h, 32)
//   probe i (0 <= i < k) sets/tests bit (h + i * delta) mod 2^64 mod num_bits
// Bit b lives in byte b / 8, at bit position b % 8 (least significant first).
#include "core/bloom.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "core/checksum.h"

namespace lsmd {
namespace {

constexpr int kMinProbes = 1;
constexpr int kMaxProbes = 30;
constexpr uint64_t kMinBits = 64;

int ProbesFor(int bits_per_key) {
  const int k = static_cast<int>(std::lround(bits_per_key * std::log(2.0)));
  return std::clamp(k, kMinProbes, kMaxProbes);
}

// Walks the k probe positions of one hash, calling visit(bit) for each.
template <typename Visit>
inline bool ForEachProbe(uint64_t hash, int probes, uint64_t num_bits, Visit visit) {
  const uint64_t delta = std::rotl(hash, 32);
  for (int i = 0; i < probes; ++i) {
    if (!visit(hash % num_bits)) return false;
    hash += delta;
  }
  return true;
}

}  // namespace

BloomFilterBuilder::BloomFilterBuilder(int bits_per_key)
    : bits_per_key_(std::max(bits_per_key, 0)) {}

void BloomFilterBuilder::AddKey(std::string_view key) { hashes_.push_back(BloomHash(key)); }

std::string BloomFilterBuilder::Finish() {
  uint64_t num_bits =
      std::max<uint64_t>(hashes_.size() * static_cast<uint64_t>(bits_per_key_), kMinBits);
  const uint64_t num_bytes = (num_bits + 7) / 8;
  num_bits = num_bytes * 8;  // use every bit of the last byte
  const int probes = ProbesFor(bits_per_key_);

  std::string encoded(num_bytes + 1, '\0');
  char* array = encoded.data();
  for (uint64_t hash : hashes_) {
    ForEachProbe(hash, probes, num_bits, [array](uint64_t bit) {
      array[bit / 8] = static_cast<char>(array[bit / 8] | (1 << (bit % 8)));
      return true;
    });
  }
  encoded[num_bytes] = static_cast<char>(probes);
  return encoded;
}

bool BloomFilter::Parse(std::string_view encoded) {
  bits_data_ = {};
  bits_ = 0;
  probes_ = 0;
  if (encoded.size() < 2) return false;  // at least one byte of bits and the k byte
  const int probes = static_cast<uint8_t>(encoded.back());
  if (probes < kMinProbes || probes > kMaxProbes) return false;
  bits_data_ = encoded.substr(0, encoded.size() - 1);
  bits_ = static_cast<uint64_t>(bits_data_.size()) * 8;
  probes_ = probes;
  return true;
}

bool BloomFilter::MayContain(std::string_view key) const {
  if (bits_ == 0) return true;  // no usable filter: never rule a key out
  const char* array = bits_data_.data();
  return ForEachProbe(BloomHash(key), probes_, bits_, [array](uint64_t bit) {
    return (static_cast<uint8_t>(array[bit / 8]) & (1u << (bit % 8))) != 0;
  });
}

}  // namespace lsmd
