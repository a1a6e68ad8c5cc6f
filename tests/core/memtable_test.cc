#include "core/memtable.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace lsmd {
namespace {

struct Seen {
  std::string key;
  std::string value;
  ValueKind kind;
};

std::vector<Seen> Scan(const MemTable& table) {
  std::vector<Seen> out;
  auto it = table.NewIterator();
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out.push_back({std::string(it->key()), std::string(it->value()), it->kind()});
  }
  CHECK(it->status().ok());
  return out;
}

TEST_CASE("an empty memtable finds nothing") {
  MemTable table;
  std::string value = "untouched";
  CHECK(table.Get("a", &value) == LookupState::kAbsent);
  CHECK(value == "untouched");
  CHECK(table.entries() == 0);
  CHECK(table.ApproximateBytes() == 0);
  auto it = table.NewIterator();
  it->SeekToFirst();
  CHECK_FALSE(it->Valid());
  it->Seek("");
  CHECK_FALSE(it->Valid());
}

TEST_CASE("iteration is in key order for random inserts") {
  MemTable table;
  std::mt19937 rng(42);
  std::map<std::string, std::string> expected;
  uint64_t seq = 1;
  for (int i = 0; i < 5000; ++i) {
    // Variable lengths and all byte values, so ordering is truly bytewise.
    std::string key(1 + rng() % 12, '\0');
    for (char& c : key) c = static_cast<char>(rng() % 256);
    std::string value = "v" + std::to_string(i);
    table.Add(seq++, ValueKind::kPut, key, value);
    expected[key] = value;
  }
  std::vector<Seen> seen = Scan(table);
  REQUIRE(seen.size() == expected.size());
  auto want = expected.begin();
  for (const Seen& s : seen) {
    CHECK(s.key == want->first);
    CHECK(s.value == want->second);
    CHECK(s.kind == ValueKind::kPut);
    ++want;
  }
  // std::map orders std::string bytewise as unsigned chars, like the memtable.
  CHECK(std::is_sorted(seen.begin(), seen.end(),
                       [](const Seen& a, const Seen& b) { return a.key < b.key; }));
}

TEST_CASE("an overwrite returns the newest version from Get and the iterator") {
  MemTable table;
  table.Add(1, ValueKind::kPut, "k", "old");
  table.Add(2, ValueKind::kPut, "j", "other");
  table.Add(3, ValueKind::kPut, "k", "new");
  table.Add(4, ValueKind::kPut, "l", "last");
  std::string value;
  REQUIRE(table.Get("k", &value) == LookupState::kFound);
  CHECK(value == "new");
  CHECK(table.entries() == 4);

  std::vector<Seen> seen = Scan(table);
  REQUIRE(seen.size() == 3);  // each key once
  CHECK(seen[0].key == "j");
  CHECK(seen[1].key == "k");
  CHECK(seen[1].value == "new");
  CHECK(seen[2].key == "l");
}

TEST_CASE("a tombstone hides the key and a later put revives it") {
  MemTable table;
  std::string value;
  table.Add(1, ValueKind::kPut, "k", "v1");
  table.Add(2, ValueKind::kTombstone, "k", "");
  CHECK(table.Get("k", &value) == LookupState::kDeleted);
  std::vector<Seen> seen = Scan(table);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].kind == ValueKind::kTombstone);

  table.Add(3, ValueKind::kPut, "k", "v2");
  REQUIRE(table.Get("k", &value) == LookupState::kFound);
  CHECK(value == "v2");
  seen = Scan(table);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].kind == ValueKind::kPut);
  CHECK(seen[0].value == "v2");

  // A tombstone for a key never put is still reported: it shadows older tables.
  table.Add(4, ValueKind::kTombstone, "never-put", "");
  CHECK(table.Get("never-put", &value) == LookupState::kDeleted);
  CHECK(table.Get("other", &value) == LookupState::kAbsent);
}

TEST_CASE("ApproximateBytes charges key + value + kEntryOverhead per version") {
  static_assert(MemTable::kEntryOverhead == 32);
  MemTable table;
  table.Add(1, ValueKind::kPut, "key1", "value1");  // 4 + 6 + 32
  CHECK(table.ApproximateBytes() == 42);
  table.Add(2, ValueKind::kPut, "key1", "v");  // overwrite still charged: 4 + 1 + 32
  CHECK(table.ApproximateBytes() == 79);
  table.Add(3, ValueKind::kTombstone, "key1", "");  // 4 + 0 + 32
  CHECK(table.ApproximateBytes() == 115);
  table.Add(4, ValueKind::kPut, "", "");  // 0 + 0 + 32
  CHECK(table.ApproximateBytes() == 147);
  const std::string big(1 << 20, 'x');
  table.Add(5, ValueKind::kPut, "big", big);  // 3 + 1 MiB + 32
  CHECK(table.ApproximateBytes() == 147 + 3 + (1 << 20) + 32);
  CHECK(table.entries() == 5);
}

TEST_CASE("keys and values with embedded NULs, empty keys and empty values") {
  MemTable table;
  const std::string nul_key("a\0b", 3);
  const std::string nul_key_prefix("a", 1);
  const std::string nul_key_longer("a\0b\0", 4);
  const std::string nul_value("\0x\0", 3);
  table.Add(1, ValueKind::kPut, nul_key, nul_value);
  table.Add(2, ValueKind::kPut, nul_key_prefix, "prefix");
  table.Add(3, ValueKind::kPut, nul_key_longer, "");
  table.Add(4, ValueKind::kPut, "", "empty key");

  std::string value;
  REQUIRE(table.Get(nul_key, &value) == LookupState::kFound);
  CHECK(value == nul_value);
  REQUIRE(table.Get(nul_key_prefix, &value) == LookupState::kFound);
  CHECK(value == "prefix");
  value = "stale";
  REQUIRE(table.Get(nul_key_longer, &value) == LookupState::kFound);
  CHECK(value.empty());
  REQUIRE(table.Get("", &value) == LookupState::kFound);
  CHECK(value == "empty key");
  CHECK(table.Get(std::string("a\0", 2), &value) == LookupState::kAbsent);

  std::vector<Seen> seen = Scan(table);
  REQUIRE(seen.size() == 4);
  CHECK(seen[0].key.empty());
  CHECK(seen[1].key == nul_key_prefix);
  CHECK(seen[2].key == nul_key);
  CHECK(seen[3].key == nul_key_longer);
}

TEST_CASE("Seek positions at the first key >= target, newest version") {
  MemTable table;
  table.Add(1, ValueKind::kPut, "b", "b1");
  table.Add(2, ValueKind::kPut, "d", "d1");
  table.Add(3, ValueKind::kPut, "b", "b2");
  table.Add(4, ValueKind::kTombstone, "f", "");
  auto it = table.NewIterator();

  it->Seek("b");
  REQUIRE(it->Valid());
  CHECK(it->key() == "b");
  CHECK(it->value() == "b2");
  it->Next();
  REQUIRE(it->Valid());
  CHECK(it->key() == "d");

  it->Seek("a");
  REQUIRE(it->Valid());
  CHECK(it->key() == "b");
  CHECK(it->value() == "b2");

  it->Seek("c");
  REQUIRE(it->Valid());
  CHECK(it->key() == "d");

  it->Seek("e");
  REQUIRE(it->Valid());
  CHECK(it->key() == "f");
  CHECK(it->kind() == ValueKind::kTombstone);
  it->Next();
  CHECK_FALSE(it->Valid());

  it->Seek("g");
  CHECK_FALSE(it->Valid());
}

TEST_CASE("large values and 16 KiB keys") {
  MemTable table;
  const std::string key(16 * 1024, 'k');
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  table.Add(1, ValueKind::kPut, key, big);
  table.Add(2, ValueKind::kPut, "small", "s");
  std::string value;
  REQUIRE(table.Get(key, &value) == LookupState::kFound);
  CHECK(value == big);
  REQUIRE(table.Get("small", &value) == LookupState::kFound);
  CHECK(value == "s");
}

// Values are a function of (key index, version), so a reader can tell a
// correct value from a torn or misplaced one.
std::string KeyFor(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "key%08d", i);
  return buf;
}
std::string ValueFor(int i, int version) {
  return "value-" + std::to_string(version) + "-" + std::to_string(i) +
         std::string(static_cast<size_t>(i % 50), static_cast<char>('a' + i % 26));
}
// Parses "key%08d"; -1 if the key is not one the writer could have written.
int IndexOf(std::string_view key) {
  if (key.size() != 11 || key.substr(0, 3) != "key") return -1;
  int i = 0;
  for (char c : key.substr(3)) {
    if (c < '0' || c > '9') return -1;
    i = i * 10 + (c - '0');
  }
  return i;
}

TEST_CASE("concurrent readers see only inserted keys with correct values") {
  constexpr int kKeys = 100000;
  constexpr int kRewrites = 10000;  // the first kRewrites keys get a version 2
  MemTable table;
  std::vector<int> order(kKeys);
  for (int i = 0; i < kKeys; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(7));

  // Number of Adds of `order` completed; readers may rely on all of them.
  std::atomic<int> published{0};
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};

  auto value_ok = [](int i, std::string_view value) {
    return value == ValueFor(i, 1) || (i < kRewrites && value == ValueFor(i, 2));
  };

  auto reader = [&](int id) {
    std::mt19937 rng(100 + id);
    int local_failures = 0;
    std::string value;
    while (!done.load(std::memory_order_acquire)) {
      for (int probe = 0; probe < 200; ++probe) {
        const int upto = published.load(std::memory_order_acquire);
        if (upto > 0) {
          const int i = order[rng() % upto];
          if (table.Get(KeyFor(i), &value) != LookupState::kFound || !value_ok(i, value)) {
            ++local_failures;
          }
        }
        const int any = static_cast<int>(rng() % kKeys);
        LookupState state = table.Get(KeyFor(any), &value);
        if (state == LookupState::kDeleted) ++local_failures;
        if (state == LookupState::kFound && !value_ok(any, value)) ++local_failures;
      }
      // A partial scan from a random point: sorted, known keys, right values.
      auto it = table.NewIterator();
      std::string previous;
      int steps = 0;
      for (it->Seek(KeyFor(static_cast<int>(rng() % kKeys))); it->Valid() && steps < 2000;
           it->Next(), ++steps) {
        const int i = IndexOf(it->key());
        if (i < 0 || i >= kKeys || !value_ok(i, it->value()) || it->kind() != ValueKind::kPut ||
            (steps > 0 && it->key() <= previous)) {
          ++local_failures;
        }
        previous.assign(it->key());
      }
    }
    failures.fetch_add(local_failures);
  };

  std::vector<std::thread> readers;
  for (int id = 0; id < 3; ++id) readers.emplace_back(reader, id);
  uint64_t seq = 1;
  for (int n = 0; n < kKeys; ++n) {
    table.Add(seq++, ValueKind::kPut, KeyFor(order[n]), ValueFor(order[n], 1));
    published.store(n + 1, std::memory_order_release);
  }
  for (int i = 0; i < kRewrites; ++i) {
    table.Add(seq++, ValueKind::kPut, KeyFor(i), ValueFor(i, 2));
  }
  done.store(true, std::memory_order_release);
  for (auto& t : readers) t.join();

  CHECK(failures.load() == 0);
  CHECK(table.entries() == kKeys + kRewrites);
  std::string value;
  for (int i = 0; i < kKeys; i += 997) {
    REQUIRE(table.Get(KeyFor(i), &value) == LookupState::kFound);
    CHECK(value == ValueFor(i, i < kRewrites ? 2 : 1));
  }
  CHECK(Scan(table).size() == kKeys);
}

}  // namespace
}  // namespace lsmd
