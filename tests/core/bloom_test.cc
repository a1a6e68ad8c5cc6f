#include "core/bloom.h"

#include <doctest/doctest.h>

#include <string>

namespace lsmd {
namespace {

std::string PresentKey(int i) { return "key-" + std::to_string(i); }
// Disjoint from every PresentKey, and deterministic so the rate is reproducible.
std::string AbsentKey(int i) { return "absent-" + std::to_string(i); }

std::string BuildFilter(int num_keys, int bits_per_key) {
  BloomFilterBuilder builder(bits_per_key);
  for (int i = 0; i < num_keys; ++i) builder.AddKey(PresentKey(i));
  CHECK(builder.num_keys() == static_cast<size_t>(num_keys));
  return builder.Finish();
}

TEST_CASE("no false negatives over 100,000 keys") {
  const std::string encoded = BuildFilter(100'000, 10);
  BloomFilter filter;
  REQUIRE(filter.Parse(encoded));
  int missing = 0;
  for (int i = 0; i < 100'000; ++i) missing += filter.MayContain(PresentKey(i)) ? 0 : 1;
  CHECK(missing == 0);
}

TEST_CASE("false-positive rate at 10 bits/key is at most 1.2%") {
  const std::string encoded = BuildFilter(100'000, 10);
  BloomFilter filter;
  REQUIRE(filter.Parse(encoded));
  int false_positives = 0;
  for (int i = 0; i < 100'000; ++i) false_positives += filter.MayContain(AbsentKey(i)) ? 1 : 0;
  MESSAGE("false positives: " << false_positives << " / 100000");
  CHECK(false_positives <= 1'200);
}

TEST_CASE("size and probe count follow bits per key") {
  BloomFilter filter;
  REQUIRE(filter.Parse(BuildFilter(1'000, 10)));
  CHECK(filter.bits() == 10'000);
  CHECK(filter.probes() == 7);  // round(10 * ln 2)

  REQUIRE(filter.Parse(BuildFilter(1'000, 1)));
  CHECK(filter.probes() == 1);
  REQUIRE(filter.Parse(BuildFilter(1'000, 100)));
  CHECK(filter.probes() == 30);  // clamped

  // The encoding is the bit array then one byte k.
  const std::string encoded = BuildFilter(1'000, 10);
  CHECK(encoded.size() == 10'000 / 8 + 1);
  CHECK(static_cast<uint8_t>(encoded.back()) == 7);
}

TEST_CASE("tiny filters: one key, and no key at all") {
  BloomFilterBuilder one(10);
  one.AddKey("only");
  const std::string encoded = one.Finish();
  BloomFilter filter;
  REQUIRE(filter.Parse(encoded));
  CHECK(filter.bits() == 64);  // never smaller than 64 bits
  CHECK(filter.MayContain("only"));
  int false_positives = 0;
  for (int i = 0; i < 1'000; ++i) false_positives += filter.MayContain(AbsentKey(i)) ? 1 : 0;
  CHECK(false_positives < 500);  // 7 of 64 bits set: the filter still rules most keys out

  BloomFilterBuilder none(10);
  const std::string empty_encoded = none.Finish();
  REQUIRE(filter.Parse(empty_encoded));
  CHECK(filter.bits() == 64);
  CHECK_FALSE(filter.MayContain("anything"));
}

TEST_CASE("keys are arbitrary bytes, embedded NUL included") {
  BloomFilterBuilder builder(10);
  const std::string with_nul("a\0b", 3);
  builder.AddKey(with_nul);
  builder.AddKey("");
  const std::string encoded = builder.Finish();
  BloomFilter filter;
  REQUIRE(filter.Parse(encoded));
  CHECK(filter.MayContain(with_nul));
  CHECK(filter.MayContain(""));
}

TEST_CASE("Parse rejects malformed encodings") {
  BloomFilter filter;
  CHECK_FALSE(filter.Parse(""));
  CHECK_FALSE(filter.Parse(std::string(1, '\x07')));  // k but no bit array
  std::string bits(8, '\xff');
  CHECK_FALSE(filter.Parse(bits + std::string(1, '\0')));    // k = 0
  CHECK_FALSE(filter.Parse(bits + std::string(1, '\x1f')));  // k = 31
  CHECK_FALSE(filter.Parse(bits + std::string(1, '\xff')));  // k = 255
  CHECK(filter.Parse(bits + std::string(1, '\x1e')));        // k = 30 is the maximum
  CHECK(filter.probes() == 30);
  CHECK(filter.bits() == 64);
}

TEST_CASE("a failed Parse leaves a filter that rules nothing out") {
  BloomFilter filter;
  REQUIRE(filter.Parse(BuildFilter(10, 10)));
  CHECK_FALSE(filter.Parse(""));
  CHECK(filter.bits() == 0);
  CHECK(filter.MayContain(AbsentKey(1)));  // no filter means "maybe", never a false negative
}

}  // namespace
}  // namespace lsmd
