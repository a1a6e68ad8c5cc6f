// WriteBatch: the payload of every log record (docs/FORMAT.md).
#include "core/write_batch.h"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/coding.h"

namespace lsmd {
namespace {

using Entry = std::tuple<uint64_t, ValueKind, std::string, std::string>;

std::vector<Entry> Entries(const WriteBatch& batch) {
  std::vector<Entry> out;
  Status s = batch.Iterate(
      [&](uint64_t seq, ValueKind kind, std::string_view key, std::string_view value) {
        out.emplace_back(seq, kind, std::string(key), std::string(value));
      });
  CHECK(s.ok());
  return out;
}

TEST_CASE("a WriteBatch round-trips through its encoding") {
  WriteBatch batch;
  CHECK(batch.count() == 0);
  CHECK(batch.ByteSize() == 12);
  const std::string nul_key("k\0ey", 4);
  const std::string big(100000, 'v');
  batch.Put("a", "1");
  batch.Delete("b");
  batch.Put(nul_key, big);
  batch.Put("", "");
  batch.SetSequence(1000);
  CHECK(batch.sequence() == 1000);
  CHECK(batch.count() == 4);

  WriteBatch decoded;
  REQUIRE(WriteBatch::FromContents(batch.Contents(), &decoded).ok());
  CHECK(decoded.Contents() == batch.Contents());
  const std::vector<Entry> expected = {
      {1000, ValueKind::kPut, "a", "1"},
      {1001, ValueKind::kTombstone, "b", ""},
      {1002, ValueKind::kPut, nul_key, big},
      {1003, ValueKind::kPut, "", ""},
  };
  CHECK(Entries(decoded) == expected);
}

TEST_CASE("WriteBatch encoding is byte-exact") {
  WriteBatch batch;
  batch.SetSequence(0x0102030405060708ULL);
  batch.Put("k", "vv");
  batch.Delete("d");
  const std::string expected = std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8) +
                               std::string("\x02\x00\x00\x00", 4) +
                               std::string("\x01\x01k\x02vv", 6) +
                               std::string(
                                   "\x00\x01"
                                   "d\x00",
                                   4);
  CHECK(batch.Contents() == expected);
}

TEST_CASE("WriteBatch Append and Clear") {
  WriteBatch a, b;
  a.Put("a", "1");
  b.Put("b", "2");
  b.Delete("c");
  b.SetSequence(77);  // the appended batch's sequence is not kept
  a.SetSequence(10);
  a.Append(b);
  CHECK(a.count() == 3);
  const std::vector<Entry> expected = {
      {10, ValueKind::kPut, "a", "1"},
      {11, ValueKind::kPut, "b", "2"},
      {12, ValueKind::kTombstone, "c", ""},
  };
  CHECK(Entries(a) == expected);
  a.Clear();
  CHECK(a.count() == 0);
  CHECK(a.sequence() == 0);
  CHECK(a.ByteSize() == 12);
  CHECK(Entries(a).empty());
}

TEST_CASE("WriteBatch::FromContents rejects malformed input") {
  WriteBatch good;
  good.SetSequence(5);
  good.Put("key", "value");
  good.Delete("gone");
  const std::string valid(good.Contents());
  WriteBatch out;
  out.Put("keep", "me");

  auto rejects = [&](const std::string& contents) {
    Status s = WriteBatch::FromContents(contents, &out);
    CHECK_MESSAGE(s.IsCorruption(), s.ToString());
    CHECK(out.count() == 1);  // a rejected record leaves the batch alone
  };

  SUBCASE("shorter than the header") {
    rejects("");
    rejects(valid.substr(0, 11));
  }
  SUBCASE("count mismatch") {
    std::string more = valid;
    more[8] = 3;
    rejects(more);
    std::string fewer = valid;
    fewer[8] = 1;
    rejects(fewer);  // the second entry becomes trailing bytes
  }
  SUBCASE("truncated entries") {
    for (size_t n = 12; n < valid.size(); ++n) rejects(valid.substr(0, n));
  }
  SUBCASE("bad kind") {
    std::string bad = valid;
    bad[12] = 2;
    rejects(bad);
  }
  SUBCASE("tombstone with a value") {
    WriteBatch del;
    del.Delete("x");
    std::string bad(del.Contents());
    bad.back() = 1;  // value_len 1 ...
    bad.push_back('v');
    rejects(bad);
  }
  SUBCASE("trailing bytes") { rejects(valid + "x"); }
  SUBCASE("a huge key length does not over-read") {
    std::string bad = valid.substr(0, 13);
    PutVarint64(&bad, uint64_t{1} << 62);
    bad += "abc";
    rejects(bad);
  }
  SUBCASE("an overlong varint") {
    std::string bad = valid.substr(0, 13) + std::string(11, '\xff');
    rejects(bad);
  }
}

TEST_CASE("WriteBatch::FromContents never crashes on mutated records") {
  WriteBatch good;
  good.SetSequence(1);
  for (int i = 0; i < 20; ++i) {
    if (i % 3 == 0) {
      good.Delete("key" + std::to_string(i));
    } else {
      good.Put("key" + std::to_string(i), std::string(static_cast<size_t>(i * 10), 'v'));
    }
  }
  const std::string valid(good.Contents());
  std::mt19937 rng(5);
  int accepted = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string mutated = valid;
    for (int flips = 1 + static_cast<int>(rng() % 3); flips > 0; --flips) {
      mutated[rng() % mutated.size()] = static_cast<char>(rng());
    }
    if (round % 4 == 0) mutated.resize(rng() % mutated.size());
    WriteBatch out;
    Status s = WriteBatch::FromContents(mutated, &out);
    if (s.ok()) {
      // Anything accepted re-encodes identically and iterates cleanly.
      ++accepted;
      CHECK(out.Contents() == mutated);
      uint32_t n = 0;
      CHECK(
          out.Iterate([&](uint64_t, ValueKind, std::string_view, std::string_view) { ++n; }).ok());
      CHECK(n == out.count());
    } else {
      CHECK(s.IsCorruption());
    }
  }
  CHECK(accepted < 3000);
}

}  // namespace
}  // namespace lsmd
