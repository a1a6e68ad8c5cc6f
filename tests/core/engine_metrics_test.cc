// The engine's monitoring figures (DBStats' last fields) and its log lines
// for flushes, compactions and stalls: each moves with the work it counts,
// and says what is true of the disk and the writers.
#include <doctest/doctest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/db.h"
#include "core/write_stall_log.h"
#include "test_util.h"

namespace lsmd {
namespace {

using testing::TempDir;
using namespace std::chrono_literals;
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

template <typename Pred>
bool WaitUntil(Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// No automatic compaction: only the tests' own CompactAll moves tables.
// No syncs either, to keep the tests quick (a test about syncs asks).
Options NoAutoCompaction() {
  Options options;
  options.sync = SyncMode::kNone;
  options.l0_compaction_trigger = 1000;
  options.l0_slowdown_trigger = 1000;
  options.l0_stop_trigger = 1000;
  return options;
}

// The bytes of every file in dir, as the file system reports them.
uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

bool DirectoryHolds(const std::string& dir, const std::string& prefix) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// Sends everything logged through spdlog's default logger to a string for
// its lifetime, one "level message" per line. Whatever logs must be done
// (the DB closed) before it goes.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%l %v");
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }

  std::vector<std::string> Lines() {
    spdlog::default_logger()->flush();
    std::vector<std::string> lines;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  // The lines that start with prefix ("info flush (").
  std::vector<std::string> Matching(const std::string& prefix) {
    std::vector<std::string> found;
    for (const std::string& line : Lines()) {
      if (line.rfind(prefix, 0) == 0) found.push_back(line);
    }
    return found;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_CASE("N explicit flushes raise flushes and flush_micros' count by N") {
  TempDir dir;
  auto db = OpenOrDie(NoAutoCompaction(), dir.path());
  const DBStats before = db->GetStats();
  constexpr int kFlushes = 5;
  for (int i = 0; i < kFlushes; ++i) {
    REQUIRE(db->Put(Key(i), "v").ok());
    auto flushed = db->Flush();
    REQUIRE(flushed.ok());
    REQUIRE(flushed->wrote_file);
  }
  REQUIRE(db->Flush().ok());  // an empty MemTable: no file, no flush counted
  const DBStats after = db->GetStats();
  CHECK(after.flushes - before.flushes == kFlushes);
  CHECK(after.flush_micros.count - before.flush_micros.count == kFlushes);
  CHECK(after.flush_micros.sum > before.flush_micros.sum);  // each one syncs a file: not 0 us
  CHECK(after.flush_micros.bounds.size() + 1 == after.flush_micros.counts.size());
}

TEST_CASE("under SyncMode::kAlways every commit group syncs once and counts its writes") {
  TempDir dir;
  Options options = NoAutoCompaction();
  options.sync = SyncMode::kAlways;
  auto db = OpenOrDie(options, dir.path());

  SUBCASE("one writer: a group per write") {
    const DBStats before = db->GetStats();
    constexpr int kWrites = 20;
    for (int i = 0; i < kWrites; ++i) REQUIRE(db->Put(Key(i), "v").ok());
    const DBStats after = db->GetStats();
    CHECK(after.wal_syncs - before.wal_syncs == kWrites);
    CHECK(after.wal_sync_micros.count - before.wal_sync_micros.count == kWrites);
    CHECK(after.commit_group_writes.sum - before.commit_group_writes.sum == kWrites);
    CHECK(after.commit_group_writes.count - before.commit_group_writes.count == kWrites);
  }

  SUBCASE("concurrent writers: groups share a sync, the writes all counted") {
    const DBStats before = db->GetStats();
    constexpr int kThreads = 4, kPerThread = 50, kWrites = kThreads * kPerThread;
    std::vector<std::thread> writers;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          if (!db->Put(Key(t * kPerThread + i), "v").ok()) ++failures;
        }
      });
    }
    for (auto& w : writers) w.join();
    REQUIRE(failures.load() == 0);
    const DBStats after = db->GetStats();
    const uint64_t groups = after.commit_group_writes.count - before.commit_group_writes.count;
    CHECK(after.commit_group_writes.sum - before.commit_group_writes.sum == kWrites);
    CHECK(groups >= 1);
    CHECK(groups <= kWrites);
    CHECK(after.wal_syncs - before.wal_syncs == groups);
  }
}

TEST_CASE("compactions are counted at their output level, and the totals are their sums") {
  TempDir dir;
  auto db = OpenOrDie(NoAutoCompaction(), dir.path());
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 200; ++i) REQUIRE(db->Put(Key(i), std::string(50, 'a' + round)).ok());
    REQUIRE(db->Flush().ok());
  }
  const DBStats before = db->GetStats();
  REQUIRE(before.compactions == 0);
  REQUIRE(before.compactions_by_level.size() == 6);
  uint64_t table_bytes = 0;
  for (const LevelInfo& level : before.levels) table_bytes += level.bytes;

  REQUIRE(db->CompactAll().ok());
  const DBStats after = db->GetStats();
  REQUIRE(after.compactions_by_level.size() == 6);
  uint64_t count = 0, read = 0, written = 0;
  for (size_t i = 0; i < after.compactions_by_level.size(); ++i) {
    const DBStats::LevelCompactions& c = after.compactions_by_level[i];
    CHECK(c.level == static_cast<int>(i) + 1);
    count += c.count;
    read += c.bytes_read;
    written += c.bytes_written;
  }
  CHECK(count == after.compactions);
  CHECK(read == after.compaction_bytes_read);
  CHECK(written == after.compaction_bytes_written);

  // Three L0 tables merged into L1: every input read, L1 is what was written.
  const DBStats::LevelCompactions& l1 = after.compactions_by_level[0];
  CHECK(l1.count == 1);
  CHECK(l1.bytes_read == table_bytes);
  CHECK(l1.bytes_written == after.levels[1].bytes);
  CHECK(l1.micros > 0);
  for (size_t i = 1; i < after.compactions_by_level.size(); ++i) {
    CHECK(after.compactions_by_level[i].count == 0);
  }
}

TEST_CASE("a cascade of automatic compactions is counted level by level, then owes nothing") {
  TempDir dir;
  Options options;
  options.sync = SyncMode::kNone;
  options.l0_compaction_trigger = 1;
  options.level1_max_bytes = 1;  // budgets 1, 10, 100, 1000, 10000 bytes: L1..L5 overflow
  options.target_file_bytes = 4 * 1024;
  auto db = OpenOrDie(options, dir.path());
  for (int i = 0; i < 400; ++i) REQUIRE(db->Put(Key(i), std::string(100, 'v')).ok());
  REQUIRE(db->Flush().ok());
  // pending_compaction_bytes is 0 exactly when no compaction can be picked,
  // and no flush comes to add more: the cascade is over.
  REQUIRE(WaitUntil([&] { return db->GetStats().pending_compaction_bytes == 0; }));
  const DBStats stats = db->GetStats();
  uint64_t read = 0, written = 0, count = 0;
  for (const DBStats::LevelCompactions& c : stats.compactions_by_level) {
    CHECK_MESSAGE(c.count >= 1, "no compaction into L", c.level);
    count += c.count;
    read += c.bytes_read;
    written += c.bytes_written;
  }
  CHECK(count == stats.compactions);
  CHECK(read == stats.compaction_bytes_read);
  CHECK(written == stats.compaction_bytes_written);
  CHECK(stats.levels[6].bytes > 0);
}

TEST_CASE("writes_stalled is true while a writer waits for a full frozen queue") {
  TempDir dir;
  Options options = NoAutoCompaction();
  options.memtable_bytes = 1;  // every write group after the first freezes the MemTable
  options.min_small_memtable_switch_interval = 0ms;
  options.max_frozen_memtables = 1;
  auto db = OpenOrDie(options, dir.path());
  db->TEST_PauseBackgroundWork();
  CHECK_FALSE(db->GetStats().writes_stalled);

  std::atomic<int> written{0};
  std::atomic<bool> failed{false};
  std::thread writer([&] {
    for (int i = 0; i < 3; ++i) {
      if (!db->Put(Key(i), "v").ok()) failed = true;
      ++written;
    }
  });
  REQUIRE(WaitUntil([&] { return db->GetStats().writes_stalled; }));
  std::this_thread::sleep_for(30ms);
  const DBStats stalled = db->GetStats();
  CHECK(stalled.writes_stalled);
  CHECK(stalled.write_stalls == 1);
  CHECK(written.load() < 3);  // the third write is the one waiting

  db->TEST_ResumeBackgroundWork();
  writer.join();
  CHECK_FALSE(failed.load());
  const DBStats after = db->GetStats();
  CHECK_FALSE(after.writes_stalled);
  CHECK(after.write_stalls == 1);
  CHECK(after.write_stall_micros >= 30'000);  // it waited at least the 30 ms slept above
}

TEST_CASE("a stall that times out ends too: writes_stalled false, its time counted") {
  TempDir dir;
  Options options = NoAutoCompaction();
  options.memtable_bytes = 1;
  options.min_small_memtable_switch_interval = 0ms;
  options.max_frozen_memtables = 1;
  options.write_stall_timeout = 100ms;
  auto db = OpenOrDie(options, dir.path());
  db->TEST_PauseBackgroundWork();
  Status s;
  for (int i = 0; i < 5 && s.ok(); ++i) s = db->Put(Key(i), "v");
  CHECK(s.IsBusy());
  const DBStats stats = db->GetStats();
  CHECK_FALSE(stats.writes_stalled);
  CHECK(stats.write_stalls == 1);
  CHECK(stats.write_stall_micros >= 100'000);
  db->TEST_ResumeBackgroundWork();
}

TEST_CASE("pending_compaction_bytes counts L0 over its trigger, and is 0 after CompactAll") {
  TempDir dir;
  Options options;
  options.l0_compaction_trigger = 2;
  options.l0_slowdown_trigger = 20;
  options.l0_stop_trigger = 30;
  auto db = OpenOrDie(options, dir.path());
  db->TEST_PauseCompaction();
  REQUIRE(db->Put("a", "1").ok());
  REQUIRE(db->Flush().ok());
  CHECK(db->GetStats().pending_compaction_bytes == 0);  // one L0 file: under the trigger
  for (int i = 0; i < 2; ++i) {
    REQUIRE(db->Put(Key(i), "v").ok());
    REQUIRE(db->Flush().ok());
  }
  const DBStats over = db->GetStats();
  REQUIRE(over.levels[0].files == 3);
  // L0 goes whole into L1 (empty, and within its 10 MiB budget after): the
  // debt is exactly L0's bytes.
  CHECK(over.pending_compaction_bytes > 0);
  CHECK(over.pending_compaction_bytes == over.levels[0].bytes);

  db->TEST_ResumeCompaction();
  REQUIRE(db->CompactAll().ok());
  CHECK(db->GetStats().pending_compaction_bytes == 0);
}

TEST_CASE("live_data_bytes is the size of the data directory") {
  TempDir dir;
  auto db = OpenOrDie(NoAutoCompaction(), dir.path());
  CHECK(db->GetStats().live_data_bytes == DirectoryBytes(dir.path()));

  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 300; ++i) REQUIRE(db->Put(Key(i), std::string(80, 'a' + round)).ok());
    REQUIRE(db->Flush().ok());
  }
  for (int i = 0; i < 100; ++i) REQUIRE(db->Put(Key(i), "unflushed").ok());  // in the log only
  const DBStats written = db->GetStats();
  CHECK(written.live_data_bytes > written.levels[0].bytes);  // the log and manifest too
  CHECK(written.live_data_bytes == DirectoryBytes(dir.path()));

  REQUIRE(db->CompactAll().ok());
  // The inputs go once no reader holds them (the compaction thread's sweep).
  REQUIRE(WaitUntil([&] { return !DirectoryHolds(dir.path(), "L0_"); }));
  const DBStats compacted = db->GetStats();
  CHECK(compacted.live_data_bytes == DirectoryBytes(dir.path()));
  CHECK(compacted.live_data_bytes < written.live_data_bytes);  // three versions became one
}

TEST_CASE("each flush and compaction logs one info line saying what triggered it") {
  TempDir dir;
  LogCapture log;
  {
    Options options = NoAutoCompaction();
    options.memtable_bytes = 64 * 1024;
    auto db = OpenOrDie(options, dir.path());
    REQUIRE(db->Put("a", "1").ok());
    REQUIRE(db->Flush().ok());
    CHECK(log.Matching("info flush (flush requested): 1 entries").size() == 1);

    // The MemTable fills up: its flush says so.
    for (int i = 0; i < 1000; ++i) REQUIRE(db->Put(Key(i), std::string(100, 'v')).ok());
    REQUIRE(WaitUntil([&] { return db->GetStats().flushes >= 2; }));
    REQUIRE(WaitUntil([&] { return !log.Matching("info flush (MemTable full)").empty(); }));

    REQUIRE(db->CompactAll().ok());
    CHECK(log.Matching("info flush (CompactAll)").size() == 1);
    const auto compactions = log.Matching("info compaction (CompactAll): ");
    REQUIRE(compactions.size() == 1);
    CHECK(compactions[0].find("bytes read") != std::string::npos);
    CHECK(compactions[0].find("-> L1") != std::string::npos);
    const DBStats stats = db->GetStats();
    CHECK(log.Matching("info flush (").size() == stats.flushes);
    CHECK(log.Matching("info compaction (").size() == stats.compactions);
  }
  // A flush line names its table and sizes: "-> L0_001.sst (N bytes) in M ms".
  const auto first = log.Matching("info flush (flush requested)");
  REQUIRE(first.size() == 1);
  CHECK(std::regex_search(first[0], std::regex(R"(-> L0_\d+\.sst \(\d+ bytes\) in \d+ ms$)")));
}

TEST_CASE("a storm of stalls logs a bounded number of lines and accounts for every stall") {
  LogCapture log;
  WriteStallLog stalls(1s);
  auto now = std::chrono::steady_clock::time_point{} + 1h;
  constexpr int kStorm = 1000;  // 1 ms stalls, 1 ms apart: 2 s in all
  for (int i = 0; i < kStorm; ++i) {
    stalls.Started(now, "cause");
    now += 1ms;
    stalls.Ended(now, 1ms, "");
    now += 1ms;
  }
  now += 10s;
  stalls.Started(now, "cause");  // reports what the storm left unreported
  now += 1ms;
  stalls.Ended(now, 1ms, "");

  const auto lines = log.Lines();
  CHECK(lines.size() <= 8);  // about two per second, not one per stall
  // Every stall is in the log: those whose start was logged, plus the
  // counts of the rest in the summaries.
  uint64_t accounted = 0;
  const std::regex more(R"((\d+) more stalls? \()"), summary(R"(write stalls: (\d+) since)");
  for (const std::string& line : lines) {
    std::smatch m;
    if (line.rfind("warning write stall: cause", 0) == 0) ++accounted;
    if (std::regex_search(line, m, more)) accounted += std::stoull(m[1].str());
    if (std::regex_search(line, m, summary)) accounted += std::stoull(m[1].str());
  }
  CHECK(accounted == kStorm + 1);
  REQUIRE(!lines.empty());
  CHECK(lines.back().rfind("info write stall ended after 1 ms", 0) == 0);
}

}  // namespace
}  // namespace lsmd
