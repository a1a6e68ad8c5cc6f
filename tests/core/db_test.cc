// The engine through its public face: what a server built on DB relies on.
#include "core/db.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace lsmd {
namespace {

using testing::TempDir;

Options SmallOptions() {
  Options options;
  options.memtable_bytes = 64 * 1024;
  options.sync = SyncMode::kNone;
  return options;
}

std::unique_ptr<DB> OpenOrDie(const Options& options, const std::string& dir) {
  auto db = DB::Open(options, dir);
  REQUIRE_MESSAGE(db.ok(), db.status().ToString());
  return std::move(*db);
}

std::string Get(DB& db, std::string_view key) {
  std::string value;
  Status s = db.Get(key, &value);
  if (s.IsNotFound()) return "<absent>";
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return value;
}

std::string Key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key%06d", i);
  return buf;
}

TEST_CASE("put, overwrite, delete and get across MemTable and SSTables") {
  TempDir dir;
  auto db = OpenOrDie(SmallOptions(), dir.path());
  REQUIRE(db->Put("a", "1").ok());
  REQUIRE(db->Put("b", "2").ok());
  CHECK(Get(*db, "a") == "1");
  REQUIRE(db->Flush().ok());
  REQUIRE(db->Put("a", "3").ok());  // newer than the table's version
  REQUIRE(db->Delete("b").ok());    // tombstone hides the table's version
  CHECK(Get(*db, "a") == "3");
  CHECK(Get(*db, "b") == "<absent>");
  REQUIRE(db->Flush().ok());
  CHECK(Get(*db, "a") == "3");
  CHECK(Get(*db, "b") == "<absent>");
  CHECK(Get(*db, "never") == "<absent>");
  REQUIRE(db->Put("b", "revived").ok());
  CHECK(Get(*db, "b") == "revived");
}

TEST_CASE("keys are checked: empty and over 16 KiB are refused") {
  TempDir dir;
  auto db = OpenOrDie(SmallOptions(), dir.path());
  CHECK(db->Put("", "v").IsInvalidArgument());
  CHECK(db->Put(std::string(16 * 1024 + 1, 'k'), "v").IsInvalidArgument());
  CHECK(db->Put(std::string(16 * 1024, 'k'), "v").ok());
  CHECK(db->Put(std::string("nul\0key", 7), std::string("v\0v", 3)).ok());
  CHECK(Get(*db, std::string("nul\0key", 7)) == std::string("v\0v", 3));
}

TEST_CASE("the first flush writes L0_001.sst and reports its metadata") {
  TempDir dir;
  auto db = OpenOrDie(SmallOptions(), dir.path());
  auto empty = db->Flush();
  REQUIRE(empty.ok());
  CHECK_FALSE(empty->wrote_file);

  for (int i = 0; i < 100; ++i) REQUIRE(db->Put(Key(i), "value" + std::to_string(i)).ok());
  auto flushed = db->Flush();
  REQUIRE(flushed.ok());
  CHECK(flushed->wrote_file);
  CHECK(flushed->file_name == "L0_001.sst");
  CHECK(flushed->level == 0);
  CHECK(flushed->entries == 100);
  CHECK(flushed->bloom_bits >= 1000);
  CHECK(flushed->size_bytes > 0);
  CHECK(flushed->smallest_key == Key(0));
  CHECK(flushed->largest_key == Key(99));

  auto hit = db->LookupInSSTable("L0_001.sst", Key(42));
  REQUIRE(hit.ok());
  CHECK(hit->found);
  CHECK(hit->value == "value42");
  CHECK(hit->bloom_checked);
  CHECK(hit->disk_reads == 1);

  auto miss = db->LookupInSSTable("L0_001.sst", "absent-key");
  REQUIRE(miss.ok());
  CHECK_FALSE(miss->found);
  CHECK(miss->bloom_checked);
  CHECK(miss->disk_reads <= 1);

  CHECK(db->LookupInSSTable("L0_002.sst", "k").status().IsNotFound());
  CHECK(db->LookupInSSTable("../L0_001.sst", "k").status().IsNotFound());
  CHECK(db->LookupInSSTable("/etc/passwd", "k").status().IsNotFound());
}

TEST_CASE("scan merges every source, newest wins, tombstones hide keys") {
  TempDir dir;
  auto db = OpenOrDie(SmallOptions(), dir.path());
  std::map<std::string, std::string> model;
  for (int i = 0; i < 300; ++i) {
    REQUIRE(db->Put(Key(i), "old").ok());
    model[Key(i)] = "old";
  }
  REQUIRE(db->Flush().ok());
  for (int i = 0; i < 300; i += 3) {
    REQUIRE(db->Put(Key(i), "new").ok());
    model[Key(i)] = "new";
  }
  REQUIRE(db->Flush().ok());
  for (int i = 1; i < 300; i += 3) {
    REQUIRE(db->Delete(Key(i)).ok());
    model.erase(Key(i));
  }

  ScanResult all;
  REQUIRE(db->Scan("", "", 10000, &all).ok());
  CHECK_FALSE(all.more);
  REQUIRE(all.entries.size() == model.size());
  auto it = model.begin();
  for (const auto& [k, v] : all.entries) {
    CHECK(k == it->first);
    CHECK(v == it->second);
    ++it;
  }

  ScanResult page;
  REQUIRE(db->Scan(Key(10), Key(20), 3, &page).ok());
  CHECK(page.more);
  REQUIRE(page.entries.size() == 3);
  CHECK(page.entries[0].first == Key(11));  // key 10 was deleted (10 % 3 == 1)
  ScanResult range;
  REQUIRE(db->Scan(Key(10), Key(20), 100, &range).ok());
  CHECK_FALSE(range.more);
  for (const auto& [k, v] : range.entries) {
    CHECK(k >= Key(10));
    CHECK(k < Key(20));
    CHECK(model.count(k) == 1);
  }
}

TEST_CASE("ScanWhile: a visitor that declines an entry stops the scan there, with more set") {
  TempDir dir;
  auto db = OpenOrDie(SmallOptions(), dir.path());
  for (int i = 0; i < 10; ++i) REQUIRE(db->Put(Key(i), "v").ok());

  std::vector<std::string> seen;
  bool more = false;
  auto take_three = [&](std::string_view key, std::string_view) {
    if (seen.size() == 3) return false;
    seen.emplace_back(key);
    return true;
  };
  REQUIRE(db->ScanWhile("", "", 100, take_three, &more).ok());
  CHECK(seen == std::vector<std::string>{Key(0), Key(1), Key(2)});
  CHECK(more);  // Key(3), declined, is still in the range

  // A declined entry is not counted against the limit; without one, the
  // limit and the end of the range decide as in Scan.
  seen.clear();
  auto take_all = [&](std::string_view key, std::string_view) {
    seen.emplace_back(key);
    return true;
  };
  REQUIRE(db->ScanWhile(Key(5), "", 100, take_all, &more).ok());
  CHECK(seen.size() == 5);
  CHECK_FALSE(more);
  seen.clear();
  REQUIRE(db->ScanWhile("", "", 4, take_all, &more).ok());
  CHECK(seen.size() == 4);
  CHECK(more);
}

TEST_CASE("writes keep landing while a flush is held, and frozen data stays readable") {
  TempDir dir;
  Options options = SmallOptions();
  options.memtable_bytes = 16 * 1024;
  options.max_frozen_memtables = 2;
  auto db = OpenOrDie(options, dir.path());
  db->TEST_PauseBackgroundWork();

  // Enough to freeze one MemTable (but not fill the frozen queue).
  int written = 0;
  while (db->GetStats().frozen_memtables == 0) {
    REQUIRE(db->Put(Key(written), std::string(100, 'v')).ok());
    ++written;
  }
  // Other threads keep writing and reading while the flush is held.
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string k = "thread" + std::to_string(t) + "-" + std::to_string(i);
        if (!db->Put(k, "x").ok()) ++failures;
        std::string v;
        if (!db->Get(k, &v).ok() || v != "x") ++failures;
        if (!db->Get(Key(0), &v).ok()) ++failures;  // lives in the frozen MemTable
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures.load() == 0);
  CHECK(db->GetStats().flushes == 0);
  CHECK(db->GetStats().frozen_memtables >= 1);

  db->TEST_ResumeBackgroundWork();
  REQUIRE(db->Flush().ok());
  CHECK(db->GetStats().frozen_memtables == 0);
  for (int i = 0; i < written; ++i) CHECK(Get(*db, Key(i)) == std::string(100, 'v'));
}

TEST_CASE("a full frozen queue stalls writers, counted, and Busy after the timeout") {
  TempDir dir;
  Options options = SmallOptions();
  options.memtable_bytes = 4 * 1024;
  options.max_frozen_memtables = 1;
  options.write_stall_timeout = std::chrono::milliseconds(200);
  auto db = OpenOrDie(options, dir.path());
  db->TEST_PauseBackgroundWork();
  Status s;
  int i = 0;
  while ((s = db->Put(Key(i), std::string(200, 'v'))).ok()) ++i;
  CHECK(s.IsBusy());
  CHECK(db->GetStats().write_stalls >= 1);
  // Acknowledged writes are all still readable; releasing the flush unblocks.
  for (int j = 0; j < i; ++j) CHECK(Get(*db, Key(j)) == std::string(200, 'v'));
  db->TEST_ResumeBackgroundWork();
  CHECK(db->Put("after", "stall").ok());
  CHECK(Get(*db, "after") == "stall");
}

TEST_CASE("automatic flushes happen past the threshold and stats describe the tables") {
  TempDir dir;
  auto db = OpenOrDie(SmallOptions(), dir.path());
  for (int i = 0; i < 3000; ++i) REQUIRE(db->Put(Key(i), std::string(100, 'x')).ok());
  REQUIRE(db->Flush().ok());
  DBStats stats = db->GetStats();
  CHECK(stats.flushes >= 3);
  CHECK(stats.wal_bytes_written > 3000 * 100);
  CHECK(stats.sstable_bytes_written > 0);
  CHECK_FALSE(stats.tables.empty());
  uint64_t entries = 0;
  for (const TableInfo& t : stats.tables) {
    CHECK(t.name.ends_with(".sst"));
    CHECK(t.smallest_key <= t.largest_key);
    CHECK(t.bloom_bits > 0);
    entries += t.entries;
  }
  CHECK(entries >= 3000);  // compaction may merge, never lose
  for (int i = 0; i < 3000; i += 97) CHECK(Get(*db, Key(i)) == std::string(100, 'x'));
}

TEST_CASE("concurrent writers with sync always are all durable and grouped") {
  TempDir dir;
  Options options;
  options.sync = SyncMode::kAlways;
  {
    auto db = OpenOrDie(options, dir.path());
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i) {
          CHECK(db->Put("t" + std::to_string(t) + "-" + Key(i), "v").ok());
        }
      });
    }
    // Async writers share the same queue.
    std::atomic<int> async_done{0};
    for (int i = 0; i < 100; ++i) {
      db->PutAsync("async" + Key(i), "a", [&](Status s) {
        CHECK(s.ok());
        ++async_done;
      });
    }
    for (auto& th : threads) th.join();
    while (async_done.load() < 100) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  auto db = OpenOrDie(options, dir.path());
  for (int t = 0; t < 8; ++t) {
    for (int i = 0; i < 50; ++i) CHECK(Get(*db, "t" + std::to_string(t) + "-" + Key(i)) == "v");
  }
  for (int i = 0; i < 100; ++i) CHECK(Get(*db, "async" + Key(i)) == "a");
}

// Under sync none an async write is committed by the caller's thread when it
// can be (DB::PutAsync). What the server relies on either way: each callback
// runs exactly once, one thread's writes apply in the order issued, and a
// write that meets a stall waits for it instead of failing or blocking.
TEST_CASE("async writes under sync none: once each, in order, and through stalls") {
  TempDir dir;
  Options options = SmallOptions();
  options.memtable_bytes = 8 * 1024;  // many MemTable switches on the way
  options.max_frozen_memtables = 1;
  auto db = OpenOrDie(options, dir.path());

  constexpr int kThreads = 4;
  constexpr int kWrites = 300;
  std::atomic<int> calls{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        // Two versions back to back without waiting: the second must win.
        const std::string key = "t" + std::to_string(t) + "-" + Key(i % 50);
        for (const char* version : {"first", "second"}) {
          db->PutAsync(key, std::string(version) + std::to_string(i), [&](Status s) {
            if (!s.ok()) ++failures;
            ++calls;
          });
        }
      }
    });
  }
  // Flushes and a synchronous writer interleave with them.
  for (int i = 0; i < 5; ++i) {
    REQUIRE(db->Put("sync" + Key(i), "s").ok());
    REQUIRE(db->Flush().ok());
  }
  for (auto& th : threads) th.join();
  while (calls.load() < kThreads * kWrites * 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(calls.load() == kThreads * kWrites * 2);  // never twice
  CHECK(failures.load() == 0);
  for (int t = 0; t < kThreads; ++t) {
    for (int k = 0; k < 50; ++k) {
      const int last = kWrites - 50 + k;  // the last i with i % 50 == k
      CHECK(Get(*db, "t" + std::to_string(t) + "-" + Key(k)) == "second" + std::to_string(last));
    }
  }

  // With flushes held the frozen queue fills: later writes wait, then land.
  // 160 KB: past the 64 KiB below which a tiny threshold is rate-limited.
  db->TEST_PauseBackgroundWork();
  std::atomic<int> stalled_calls{0};
  for (int i = 0; i < 400; ++i) {
    db->PutAsync("stall" + Key(i), std::string(400, 'v'), [&](Status s) {
      if (!s.ok()) ++failures;
      ++stalled_calls;
    });
  }
  CHECK(stalled_calls.load() < 400);  // some are waiting for the flush
  db->TEST_ResumeBackgroundWork();
  while (stalled_calls.load() < 400) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(failures.load() == 0);
  for (int i = 0; i < 400; i += 13) CHECK(Get(*db, "stall" + Key(i)) == std::string(400, 'v'));
}

TEST_CASE("a second Open of the same directory is refused while the first holds it") {
  TempDir dir;
  auto db = OpenOrDie(SmallOptions(), dir.path());
  auto second = DB::Open(SmallOptions(), dir.path());
  CHECK(second.status().IsBusy());
  db.reset();
  CHECK(DB::Open(SmallOptions(), dir.path()).ok());
}

TEST_CASE("table numbers only grow across restarts") {
  TempDir dir;
  {
    auto db = OpenOrDie(SmallOptions(), dir.path());
    REQUIRE(db->Put("a", "1").ok());
    CHECK(db->Flush()->file_name == "L0_001.sst");
  }
  auto db = OpenOrDie(SmallOptions(), dir.path());
  REQUIRE(db->Put("b", "2").ok());
  auto second = db->Flush();
  REQUIRE(second.ok());
  CHECK(second->file_name == "L0_002.sst");
  CHECK(Get(*db, "a") == "1");
}

}  // namespace
}  // namespace lsmd
