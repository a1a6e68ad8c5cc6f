#include "core/memtable_filter.h"

#include <doctest/doctest.h>

#include <string>

#include "core/memtable.h"

namespace lsmd {
namespace {

std::string Key(int i) { return "key" + std::to_string(i); }

TEST_CASE("the filter never forgets a key, even far past its budget") {
  MemTableFilter filter(4096);  // the minimum size: 64 Ki bits
  CHECK(filter.bits() == 64 * 1024);
  for (int i = 0; i < 200000; ++i) filter.Add(Key(i));  // ~0.3 bits per key
  for (int i = 0; i < 200000; ++i) REQUIRE(filter.MayContain(Key(i)));
}

TEST_CASE("within its budget the filter rejects almost every absent key") {
  // A 4 MiB MemTable of 100-byte values holds ~28,000 keys.
  MemTableFilter filter(4 << 20);
  for (int i = 0; i < 28000; ++i) filter.Add(Key(i));
  int false_positives = 0;
  for (int i = 0; i < 100000; ++i) false_positives += filter.MayContain("absent" + Key(i));
  CHECK(false_positives < 3000);  // ~1% expected; 3% leaves room for any key set
}

TEST_CASE("a MemTable grown far past its budget still finds every key") {
  MemTable table(/*budget_bytes=*/1024);
  for (int i = 0; i < 50000; ++i) table.Add(i + 1, ValueKind::kPut, Key(i), "v" + Key(i));
  std::string value;
  for (int i = 0; i < 50000; ++i) {
    REQUIRE(table.Get(Key(i), &value) == LookupState::kFound);
    CHECK(value == "v" + Key(i));
  }
  CHECK(table.Get("never", &value) == LookupState::kAbsent);
}

}  // namespace
}  // namespace lsmd
