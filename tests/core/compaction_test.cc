// Leveled compaction: which tables are picked, what the merge keeps and drops,
// the level shape it maintains, what a crash between its steps leaves, and
// how writes slow and stop while L0 waits for it. Scans during compaction,
// SIGKILL and manifest failures are in compaction_concurrency_test.cc.
#include "core/compaction.h"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "core/db.h"
#include "test_util.h"

namespace lsmd {
namespace {

using testing::TempDir;
using Model = std::map<std::string, std::string>;
namespace fs = std::filesystem;

std::unique_ptr<DB> OpenOrDie(const Options& options, const std::string& dir) {
  auto db = DB::Open(options, dir);
  REQUIRE_MESSAGE(db.ok(), db.status().ToString());
  return std::move(*db);
}

std::string Key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key%06d", i);
  return buf;
}

std::string Get(DB& db, std::string_view key) {
  std::string value;
  Status s = db.Get(key, &value);
  if (s.IsNotFound()) return "<absent>";
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return value;
}

void CheckScan(DB& db, const Model& model, const std::string& start, const std::string& end,
               size_t limit) {
  INFO("scan [", start, ", ", end, ") limit ", limit);
  ScanResult got;
  REQUIRE(db.Scan(start, end, limit, &got).ok());
  Model::const_iterator it = model.lower_bound(start);
  size_t n = 0;
  for (; it != model.end() && (end.empty() || it->first < end) && n < limit; ++it, ++n) {
    REQUIRE(n < got.entries.size());
    REQUIRE(got.entries[n].first == it->first);
    REQUIRE(got.entries[n].second == it->second);
  }
  CHECK(got.entries.size() == n);
  CHECK(got.more == (it != model.end() && (end.empty() || it->first < end)));
}

// Levels below L0 are sorted runs: each table's range lies strictly after the
// previous one's. GetStats lists each level's tables in the Version's order.
void CheckLevelShape(const DBStats& stats) {
  const TableInfo* prev = nullptr;
  for (const TableInfo& t : stats.tables) {
    CHECK(t.smallest_key <= t.largest_key);
    CHECK(t.name.starts_with("L" + std::to_string(t.level) + "_"));
    if (prev != nullptr && prev->level == t.level && t.level >= 1) {
      CHECK_MESSAGE(prev->largest_key < t.smallest_key, prev->name, " overlaps ", t.name);
    }
    prev = &t;
  }
}

std::set<std::string> TableFiles(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".sst") || name.ends_with(".tmp")) names.insert(name);
  }
  return names;
}

std::set<std::string> LiveTables(DB& db) {
  std::set<std::string> names;
  for (const TableInfo& t : db.GetStats().tables) names.insert(t.name);
  return names;
}

template <typename Pred>
bool WaitFor(Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A table known only by its metadata: PickCompaction never reads a file.
std::shared_ptr<TableHandle> FakeTable(int level, uint64_t number, std::string smallest,
                                       std::string largest, uint64_t size) {
  FileMeta meta{level, number, size, 1, 0, std::move(smallest), std::move(largest)};
  return std::make_shared<TableHandle>(Env::Default(), "/nonexistent", meta, nullptr);
}

TEST_CASE("PickCompaction: L0 at its trigger, then the level furthest over budget, round-robin") {
  Options options;
  options.l0_compaction_trigger = 4;
  options.level1_max_bytes = 1000;
  CHECK(MaxBytesForLevel(options, 1) == 1000);
  CHECK(MaxBytesForLevel(options, 3) == 100000);
  std::vector<std::string> pointers(kNumLevels);
  const TableList l1 = {FakeTable(1, 10, "a", "b", 100), FakeTable(1, 11, "c", "e", 100),
                        FakeTable(1, 12, "f", "g", 100)};
  std::array<TableList, kNumLevels> levels;
  levels[1] = l1;
  for (int i = 0; i < 3; ++i) levels[0].push_back(FakeTable(0, 20 - i, "b", "d", 10));
  CHECK_FALSE(PickCompaction(Version(levels), options, pointers).has_value());

  levels[0].push_back(FakeTable(0, 16, "a", "c", 10));  // the fourth L0 file
  auto c = PickCompaction(Version(levels), options, pointers);
  REQUIRE(c.has_value());
  CHECK(c->level == 0);
  CHECK(c->output_level == 1);
  REQUIRE(c->sources.size() == 5);  // each L0 table alone, newest first, then L1
  for (int i = 0; i < 4; ++i) CHECK(c->sources[i] == TableList{levels[0][i]});
  CHECK(c->sources[4] == TableList{l1[0], l1[1]});  // [f, g] does not overlap [a, d]

  // L1 over budget: one file at a time, each after where the last one ended.
  levels[0].clear();
  levels[1] = {FakeTable(1, 30, "a", "c", 400), FakeTable(1, 31, "d", "f", 400),
               FakeTable(1, 32, "g", "i", 400)};
  levels[2] = {FakeTable(2, 40, "b", "e", 100), FakeTable(2, 41, "h", "z", 100)};
  const Version over(levels);
  const std::vector<std::pair<std::string, uint64_t>> expected = {
      {"", 30}, {"c", 31}, {"f", 32}, {"i", 30}};
  const std::vector<uint64_t> expected_next = {40, 40, 41, 40};
  for (size_t i = 0; i < expected.size(); ++i) {
    pointers[1] = expected[i].first;
    auto picked = PickCompaction(over, options, pointers);
    REQUIRE(picked.has_value());
    CHECK(picked->level == 1);
    REQUIRE(picked->sources.size() == 2);
    CHECK(picked->sources[0][0]->meta().number == expected[i].second);
    REQUIRE(picked->sources[1].size() == 1);
    CHECK(picked->sources[1][0]->meta().number == expected_next[i]);
  }

  // L2 further over its budget (10x L1's) than L1 goes first...
  levels[2] = {FakeTable(2, 50, "a", "z", 40000)};
  auto worst = PickCompaction(Version(levels), options, pointers);
  REQUIRE(worst.has_value());
  CHECK(worst->level == 2);
  CHECK(worst->output_level == 3);
  // ...and even before L0 past its trigger, until L0 slows writers down.
  for (int i = 0; i < options.l0_slowdown_trigger; ++i) {
    levels[0].push_back(FakeTable(0, 60 - i, "a", "b", 10));
    CHECK(PickCompaction(Version(levels), options, pointers)->level ==
          (i + 1 < options.l0_slowdown_trigger ? 2 : 0));
  }
}

TEST_CASE("the fourth L0 file merges L0 with the overlapping L1 files into new L1 files") {
  TempDir dir;
  Options options;
  options.sync = SyncMode::kNone;
  options.target_file_bytes = 4 * 1024;
  auto db = OpenOrDie(options, dir.path());
  auto flush_keys = [&](int from, int to, const std::string& tag) -> uint64_t {
    for (int i = from; i < to; ++i) REQUIRE(db->Put(Key(i), tag + std::to_string(i)).ok());
    auto flushed = db->Flush();
    REQUIRE(flushed.ok());
    return flushed->size_bytes;
  };
  for (int round = 0; round < 3; ++round) flush_keys(0, 1000, "r" + std::to_string(round));
  CHECK(db->GetStats().levels[0].files == 3);
  CHECK(db->GetStats().compactions == 0);
  flush_keys(0, 1000, "r3");
  REQUIRE(WaitFor([&] { return db->GetStats().compactions == 1; }));
  DBStats first = db->GetStats();
  CHECK(first.levels[0].files == 0);
  CHECK(first.levels[1].files >= 3);
  CheckLevelShape(first);
  for (const TableInfo& t : first.tables) {
    CHECK(t.size_bytes <= options.target_file_bytes + 1024);  // about target_file_bytes each
  }

  // Four more L0 files over keys [0, 100) only: just the L1 tables holding
  // those keys are rewritten; the others keep their names.
  uint64_t l0_bytes = 0;
  for (int round = 4; round < 8; ++round)
    l0_bytes += flush_keys(0, 100, "r" + std::to_string(round));
  REQUIRE(WaitFor([&] { return db->GetStats().compactions == 2; }));
  DBStats second = db->GetStats();
  uint64_t overlapping_bytes = 0;
  for (const TableInfo& t : first.tables) {
    const bool overlaps = t.smallest_key <= Key(99);
    if (overlaps) overlapping_bytes += t.size_bytes;
    bool still_live = false;
    for (const TableInfo& now : second.tables) still_live |= now.name == t.name;
    CHECK_MESSAGE(still_live == !overlaps, t.name);
  }
  CHECK(second.compaction_bytes_read - first.compaction_bytes_read == overlapping_bytes + l0_bytes);
  CheckLevelShape(second);
  for (int i = 0; i < 1000; i += 7) {
    CHECK(Get(*db, Key(i)) == (i < 100 ? "r7" : "r3") + std::to_string(i));
  }
}

uint64_t SeedFromEnvironment() {
  if (const char* s = std::getenv("LSMD_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

TEST_CASE("random puts, deletes and scans match a std::map through compactions and a reopen") {
  const uint64_t seed = SeedFromEnvironment();
  INFO("seed ", seed, " (replay with LSMD_TEST_SEED=", seed, ")");
  std::mt19937_64 rng(seed);
  TempDir dir;
  Options options;
  options.sync = SyncMode::kNone;
  options.memtable_bytes = 16 * 1024;
  options.target_file_bytes = 4 * 1024;
  options.level1_max_bytes = 16 * 1024;  // L2 160 KiB, L3 1.6 MiB
  auto db = OpenOrDie(options, dir.path());
  Model model;
  constexpr int kKeys = 3000;
  auto random_key = [&] { return Key(static_cast<int>(rng() % kKeys)); };

  for (int batch = 0; batch < 60; ++batch) {
    for (int op = 0; op < 500; ++op) {
      const std::string key = random_key();
      const uint64_t dice = rng() % 100;
      if (dice < 70) {
        std::string value = std::to_string(batch) + ":" + std::to_string(op);
        value.append(rng() % 120, static_cast<char>('a' + op % 26));
        REQUIRE(db->Put(key, value).ok());
        model[key] = value;
      } else if (dice < 97) {
        REQUIRE(db->Delete(key).ok());
        model.erase(key);
      } else {
        std::string start = key, end = rng() % 4 == 0 ? "" : random_key();
        if (!end.empty() && end < start) std::swap(start, end);
        CheckScan(*db, model, start, end, 1 + rng() % 40);
      }
    }
    for (int i = 0; i < 60; ++i) {
      const std::string key = random_key();
      auto it = model.find(key);
      REQUIRE(Get(*db, key) == (it == model.end() ? "<absent>" : it->second));
    }
    CheckScan(*db, model, random_key(), "", 1 + rng() % 200);
    CheckLevelShape(db->GetStats());
  }
  DBStats stats = db->GetStats();
  CHECK(stats.compactions > 0);
  CHECK(stats.compaction_bytes_written > 0);
  CHECK(stats.levels[2].files + stats.levels[3].files > 0);  // compactions below L1 ran
  // Once background work settles every level is within its budget.
  REQUIRE(WaitFor([&] {
    DBStats now = db->GetStats();
    for (int n = 1; n < kNumLevels - 1; ++n) {
      if (now.levels[n].bytes > MaxBytesForLevel(options, n)) return false;
    }
    return now.levels[0].files < static_cast<uint64_t>(options.l0_compaction_trigger);
  }));

  REQUIRE(db->Close().ok());
  db = OpenOrDie(options, dir.path());
  CheckScan(*db, model, "", "", model.size() + 1);
  for (int i = 0; i < kKeys; i += 3) {
    auto it = model.find(Key(i));
    REQUIRE(Get(*db, Key(i)) == (it == model.end() ? "<absent>" : it->second));
  }

  // CompactAll merges everything into the deepest level that holds data.
  int deepest = 0;
  for (const LevelInfo& l : db->GetStats().levels) deepest = l.files > 0 ? l.level : deepest;
  auto compacted = db->CompactAll();
  REQUIRE(compacted.ok());
  for (const LevelInfo& l : compacted->levels) {
    CHECK_MESSAGE((l.files > 0) == (l.level == deepest), "level ", l.level);
  }
  CheckLevelShape(db->GetStats());
  CheckScan(*db, model, "", "", model.size() + 1);
}

TEST_CASE("after every key is deleted, CompactAll leaves no table and no live data") {
  TempDir dir;
  Options options;
  options.sync = SyncMode::kNone;
  options.memtable_bytes = 32 * 1024;
  options.target_file_bytes = 8 * 1024;
  options.level1_max_bytes = 32 * 1024;
  constexpr int kKeys = 5000;
  {
    auto db = OpenOrDie(options, dir.path());
    for (int i = 0; i < kKeys; ++i) REQUIRE(db->Put(Key(i), std::string(60, 'v')).ok());
    REQUIRE(db->CompactAll().ok());
    CHECK_FALSE(db->GetStats().tables.empty());
    for (int i = 0; i < kKeys; ++i) REQUIRE(db->Delete(Key(i)).ok());
    auto compacted = db->CompactAll();
    REQUIRE(compacted.ok());
    for (const LevelInfo& l : compacted->levels) CHECK(l.files == 0);
    DBStats stats = db->GetStats();
    CHECK(stats.tables.empty());
    CHECK(Get(*db, Key(42)) == "<absent>");
    ScanResult all;
    REQUIRE(db->Scan("", "", 10, &all).ok());
    CHECK(all.entries.empty());
  }
  uint64_t bytes = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    CHECK_MESSAGE(!e.path().string().ends_with(".sst"), e.path().string());
    bytes += e.file_size();
  }
  CHECK(bytes < 1024);  // the manifest and an empty log: the data is gone from disk
  auto db = OpenOrDie(options, dir.path());
  for (int i = 0; i < kKeys; i += 11) CHECK(Get(*db, Key(i)) == "<absent>");
}

TEST_CASE("LookupInSSTable on a table compaction removed says so, and the new tables answer") {
  TempDir dir;
  Options options;
  options.sync = SyncMode::kNone;
  auto db = OpenOrDie(options, dir.path());
  for (int i = 0; i < 200; ++i) REQUIRE(db->Put(Key(i), "first").ok());
  auto old_table = db->Flush();
  REQUIRE(old_table.ok());
  for (int i = 100; i < 300; ++i) REQUIRE(db->Put(Key(i), "second").ok());
  auto compacted = db->CompactAll();
  REQUIRE(compacted.ok());
  CHECK(compacted->levels[0].files == 0);
  CHECK(compacted->levels[1].files == 1);

  auto gone = db->LookupInSSTable(old_table->file_name, Key(1));
  CHECK(gone.status().IsNotFound());
  // db.h promises "compacted"; the engine says "compaction merged it".
  CHECK(gone.status().message().find("no longer live: compaction merged it") != std::string::npos);
  CHECK(db->LookupInSSTable("L0_999.sst", Key(1)).status().message().find("compaction") ==
        std::string::npos);
  const DBStats stats = db->GetStats();
  REQUIRE(stats.tables.size() == 1);
  CHECK(stats.tables[0].name.starts_with("L1_"));
  CHECK(stats.tables[0].entries == 300);
  auto hit = db->LookupInSSTable(stats.tables[0].name, Key(150));
  REQUIRE(hit.ok());
  CHECK(hit->found);
  CHECK(hit->value == "second");
}

TEST_CASE("a crash before or after the manifest switch leaves the old or the new set") {
  TempDir dir, crashed_before;
  Options options;
  options.sync = SyncMode::kNone;
  Model model;
  {
    auto db = OpenOrDie(options, dir.path());
    for (int round = 0; round < 3; ++round) {  // three L0 tables, below the trigger
      for (int i = round; i < 600; i += round + 1) {
        REQUIRE(db->Put(Key(i), "r" + std::to_string(round)).ok());
        model[Key(i)] = "r" + std::to_string(round);
      }
      REQUIRE(db->Delete(Key(round * 7)).ok());
      model.erase(Key(round * 7));
      REQUIRE(db->Flush().ok());
    }
  }
  fs::copy(dir.path(), crashed_before.path(), fs::copy_options::recursive);
  const std::set<std::string> inputs = TableFiles(dir.path());
  {
    auto db = OpenOrDie(options, dir.path());
    REQUIRE(db->CompactAll().ok());
  }
  const std::set<std::string> outputs = TableFiles(dir.path());
  REQUIRE(inputs.size() == 3);
  REQUIRE(outputs.size() == 1);
  CHECK(outputs.begin()->starts_with("L1_"));

  SUBCASE("outputs written, manifest not switched: the old set, outputs removed") {
    for (const std::string& name : outputs) {
      fs::copy_file(dir.File(name), crashed_before.File(name));
    }
    auto db = OpenOrDie(options, crashed_before.path());
    CHECK(TableFiles(crashed_before.path()) == inputs);
    CHECK(LiveTables(*db) == inputs);
    CheckScan(*db, model, "", "", model.size() + 1);
  }
  SUBCASE("manifest switched, inputs not yet deleted: the new set, inputs removed") {
    for (const std::string& name : inputs) {
      fs::copy_file(crashed_before.File(name), dir.File(name));
    }
    auto db = OpenOrDie(options, dir.path());
    CHECK(TableFiles(dir.path()) == outputs);
    CHECK(LiveTables(*db) == outputs);
    CheckScan(*db, model, "", "", model.size() + 1);
  }
}

TEST_CASE("with compaction held, L0 growth slows writes, then stops them with Busy") {
  TempDir dir;
  Options options;
  options.sync = SyncMode::kNone;
  options.memtable_bytes = 16 * 1024;
  options.l0_compaction_trigger = 2;
  options.l0_slowdown_trigger = 3;
  options.l0_stop_trigger = 4;
  options.write_stall_timeout = std::chrono::milliseconds(300);
  auto db = OpenOrDie(options, dir.path());
  db->TEST_PauseCompaction();  // flushes go on, so L0 only grows
  const std::string value(100, 'v');
  for (int table = 0; table < 3; ++table) {
    REQUIRE(db->Put("below-slowdown", value).ok());
    REQUIRE(db->Flush().ok());
  }
  CHECK(db->GetStats().write_slowdowns == 0);
  REQUIRE(db->Put("slowed", value).ok());  // L0 at the slowdown trigger: delayed once
  CHECK(db->GetStats().write_slowdowns == 1);
  REQUIRE(db->Flush().ok());
  REQUIRE(db->GetStats().levels[0].files == 4);

  // At the stop trigger writes go on while the MemTable has room; the one
  // that needs a new MemTable waits for compaction, then gets Busy.
  int written = 0;
  Status s;
  while ((s = db->Put(Key(written), value)).ok()) REQUIRE(++written < 100000);
  CHECK(written > 0);
  CHECK(s.IsBusy());
  CHECK(s.message().find("compaction") != std::string::npos);
  DBStats stalled = db->GetStats();
  CHECK(stalled.write_stalls == 1);
  CHECK(stalled.write_slowdowns == static_cast<uint64_t>(written) + 2);  // each write once
  CHECK(stalled.levels[0].files == 4);
  CHECK(stalled.compactions == 0);
  CHECK(Get(*db, Key(written)) == "<absent>");  // the refused write was not applied

  db->TEST_ResumeCompaction();
  REQUIRE(WaitFor([&] { return db->GetStats().levels[0].files < 4; }));
  CHECK(db->GetStats().compactions > 0);
  REQUIRE(db->Put("after", "stall").ok());
  for (int i = 0; i < written; i += 13) CHECK(Get(*db, Key(i)) == value);
  CHECK(Get(*db, "slowed") == value);
}

}  // namespace
}  // namespace lsmd
