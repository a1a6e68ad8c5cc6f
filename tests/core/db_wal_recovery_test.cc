// Open over damaged, legacy and long logs: the recovery modes
// (Options::wal_recovery), the legacy `.log` format, and replay cut into
// MemTable-sized tables. Reader-level verdicts are in wal_recovery_test.cc.
#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

#include "core/db.h"
#include "core/filename.h"
#include "core/write_batch.h"
#include "support/fault_injection_env.h"
#include "test_util.h"
#include "wal_test_util.h"

namespace lsmd {
namespace {

using testing::EncodeLegacyRecord;
using testing::EncodeLog;
using testing::LogLayout;
using testing::Payload;
using testing::ReadRaw;
using testing::TempDir;
using testing::WriteRaw;
using Mode = WalRecoveryMode;

Options WithMode(Mode mode) {
  Options options;
  options.wal_recovery = mode;
  return options;
}

// The names of the logs in dir, in number order.
std::vector<std::string> Logs(const std::string& dir) {
  std::vector<std::string> logs;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (ParseFileName(name).type == FileType::kLog) logs.push_back(name);
  }
  std::sort(logs.begin(), logs.end());
  return logs;
}

// Writes with the engine and closes it: the records stay in the log.
void PutAll(const std::string& dir, const std::vector<std::pair<std::string, std::string>>& kvs) {
  auto db = DB::Open(Options{}, dir);
  REQUIRE(db.ok());
  for (const auto& kv : kvs) REQUIRE((*db)->Put(kv.first, kv.second).ok());
  REQUIRE((*db)->Close().ok());
}

// Checks each key holds its value (or is absent where the value is empty).
void Expect(DB& db, const std::vector<std::pair<std::string, std::string>>& kvs) {
  for (const auto& kv : kvs) {
    const std::string& k = kv.first;
    const std::string& v = kv.second;
    std::string got;
    Status s = db.Get(k, &got);
    if (v.empty()) {
      CHECK_MESSAGE(s.IsNotFound(), k, " should be absent: ", s.ToString());
    } else {
      CHECK_MESSAGE(s.ok(), k, ": ", s.ToString());
      CHECK_MESSAGE(got == v, k, " holds the wrong value");
    }
  }
}

std::string BatchOf(uint64_t sequence, const std::string& key, const std::string& value) {
  WriteBatch batch;
  batch.SetSequence(sequence);
  batch.Put(key, value);
  return std::string(batch.Contents());
}

// A store with a MANIFEST and no log, for logs written by hand.
std::string EmptyStore(const TempDir& dir) {
  auto db = DB::Open(Options{}, dir.path());
  REQUIRE(db.ok());
  REQUIRE((*db)->Close().ok());
  for (const std::string& log : Logs(dir.path())) {
    std::filesystem::remove(dir.File(log));
  }
  return dir.path();
}

TEST_CASE(
    "a value holding a valid log record, then a torn tail: every acknowledged write is there") {
  for (Mode mode : {Mode::kDefault, Mode::kPointInTime}) {
    CAPTURE(WalRecoveryModeName(mode));
    TempDir dir;
    PutAll(dir.path(), {});
    // The next Open replays this empty log and starts the one after it.
    const uint64_t number = ParseFileName(Logs(dir.path()).at(0)).number + 1;
    // Frames a client could send as values: a whole record of this very log
    // in the new format (FULL, and a FIRST..LAST chain), and an old one.
    const std::string evil = BatchOf(1, "evil", "planted");
    const std::string planted_new =
        EncodeLog(number, {evil}) + std::string(3, '\0') + EncodeLog(number, {Payload(40000, 1)});
    const std::string planted_old = EncodeLegacyRecord(evil) + EncodeLegacyRecord(evil);
    const std::vector<std::pair<std::string, std::string>> acked = {
        {"k1", "a"}, {"planted-new", planted_new}, {"planted-old", planted_old}, {"k2", "b"}};
    {
      auto db = DB::Open(Options{}, dir.path());
      REQUIRE(db.ok());
      for (const auto& kv : acked) REQUIRE((*db)->Put(kv.first, kv.second).ok());
      REQUIRE((*db)->Put("last", Payload(20000, 2)).ok());
      REQUIRE((*db)->Close().ok());
    }
    REQUIRE(Logs(dir.path()) == std::vector<std::string>{LogFileName(number)});
    const std::string path = dir.File(LogFileName(number));
    std::string bytes = ReadRaw(path);
    const auto layout = LogLayout(bytes);
    REQUIRE(layout.size() == 5);
    WriteRaw(path, bytes.substr(0, layout[4].start + 10000));  // torn mid-way through "last"
    auto db = DB::Open(WithMode(mode), dir.path());
    REQUIRE_MESSAGE(db.ok(), db.status().ToString());
    Expect(**db, acked);
    Expect(**db, {{"evil", ""}, {"last", ""}});
  }
}

// Ten small acknowledged writes, then a 100 KiB value (four fragments) that
// `damage` tears: every mode but absolute opens with the ten.
template <typename Damage>
void CheckTornBigRecord(Damage damage) {
  std::vector<std::pair<std::string, std::string>> small;
  for (int i = 0; i < 10; ++i) small.push_back({"k" + std::to_string(i), "v" + std::to_string(i)});
  for (Mode mode : {Mode::kDefault, Mode::kPointInTime, Mode::kAbsolute}) {
    CAPTURE(WalRecoveryModeName(mode));
    TempDir dir;
    auto with_big = small;
    with_big.push_back({"big", Payload(100000, 3)});
    PutAll(dir.path(), with_big);
    const std::string name = Logs(dir.path()).at(0);
    std::string bytes = ReadRaw(dir.File(name));
    const auto layout = LogLayout(bytes);
    REQUIRE(layout.size() == 11);
    REQUIRE(layout[10].fragments.size() >= 4);
    damage(&bytes, layout[10]);
    WriteRaw(dir.File(name), bytes);
    auto db = DB::Open(WithMode(mode), dir.path());
    if (mode == Mode::kAbsolute) {
      REQUIRE_FALSE(db.ok());
      CHECK(db.status().IsCorruption());
      CHECK(db.status().message().find(name + ": torn record at offset " +
                                       std::to_string(layout[10].start)) != std::string::npos);
      continue;
    }
    REQUIRE_MESSAGE(db.ok(), db.status().ToString());
    Expect(**db, small);
    Expect(**db, {{"big", ""}});
  }
}

void Zero(std::string* bytes, const testing::FragmentInfo& f) {
  std::fill(bytes->begin() + static_cast<long>(f.offset),
            bytes->begin() + static_cast<long>(f.offset + kWalHeaderSize + f.length), '\0');
}

TEST_CASE("a torn final record whose first part is zeros and later part intact") {
  CheckTornBigRecord(
      [](std::string* bytes, const testing::RecordLayout& r) { Zero(bytes, r.fragments[0]); });
}

TEST_CASE("a torn final record whose middle is lost") {
  CheckTornBigRecord(
      [](std::string* bytes, const testing::RecordLayout& r) { Zero(bytes, r.fragments[2]); });
}

TEST_CASE("a torn tail: tolerate-tail and point-in-time cut it, absolute refuses") {
  CheckTornBigRecord([](std::string* bytes, const testing::RecordLayout& r) {
    bytes->resize(r.fragments[1].offset + 5000);
  });
}

TEST_CASE("corruption before a complete record: refused, or cut by point-in-time") {
  std::vector<std::pair<std::string, std::string>> kvs;
  for (int i = 0; i < 10; ++i) kvs.push_back({"a" + std::to_string(i), Payload(50, i)});
  kvs.push_back({"big", Payload(40000, 20)});
  for (int i = 0; i < 5; ++i) kvs.push_back({"z" + std::to_string(i), Payload(50, 30 + i)});
  for (Mode mode :
       {Mode::kDefault, Mode::kTolerateCorruptedTail, Mode::kPointInTime, Mode::kAbsolute}) {
    CAPTURE(WalRecoveryModeName(mode));
    TempDir dir;
    PutAll(dir.path(), kvs);
    const std::string name = Logs(dir.path()).at(0);
    std::string bytes = ReadRaw(dir.File(name));
    const auto layout = LogLayout(bytes);
    REQUIRE(layout.size() == kvs.size());
    bytes[layout[3].start + kWalHeaderSize + 20] ^= 0x08;
    WriteRaw(dir.File(name), bytes);
    auto db = DB::Open(WithMode(mode), dir.path());
    if (mode != Mode::kPointInTime) {
      REQUIRE_FALSE(db.ok());
      CHECK(db.status().IsCorruption());
      CHECK_MESSAGE(
          db.status().message().find(name + ": bad log record at offset " +
                                     std::to_string(layout[3].start)) != std::string::npos,
          db.status().ToString());
      continue;
    }
    REQUIRE_MESSAGE(db.ok(), db.status().ToString());
    std::vector<std::pair<std::string, std::string>> expected = kvs;
    for (size_t i = 3; i < expected.size(); ++i) expected[i].second.clear();
    Expect(**db, expected);
    // Nothing of the damaged log is left to replay again.
    REQUIRE((*db)->Close().ok());
    CHECK(Logs(dir.path()).size() == 1);
  }
}

// Hand-written logs: 000001.wal with keys a, b, c (sequences 1..3), then
// torn or not; 000002.wal starting at `next_sequence` with key d.
void WriteTwoLogs(const std::string& dir, bool torn, uint64_t next_sequence) {
  std::string first =
      EncodeLog(1, {BatchOf(1, "a", "1"), BatchOf(2, "b", "2"), BatchOf(3, "c", "3")});
  if (torn) first += EncodeLog(1, {BatchOf(4, "lost", Payload(300, 1))}).substr(0, 100);
  WriteRaw(dir + "/000001.wal", first);
  WriteRaw(dir + "/000002.wal", EncodeLog(2, {BatchOf(next_sequence, "d", "4")}));
}

TEST_CASE("point-in-time replays a later log only if it continues the sequence") {
  struct Case {
    bool torn;
    uint64_t next_sequence;
    bool point_in_time_keeps_d;
  };
  // Continuing at 4 after a torn tail: the torn append failed and was never
  // acknowledged, the engine went on in a new log. Starting at 7: writes
  // 4..6 were acknowledged and lost, so d is not from the same moment.
  for (const Case& c :
       {Case{true, 4, true}, Case{true, 7, false}, Case{false, 4, true}, Case{false, 7, false}}) {
    CAPTURE(c.torn);
    CAPTURE(c.next_sequence);
    for (Mode mode : {Mode::kPointInTime, Mode::kTolerateCorruptedTail}) {
      CAPTURE(WalRecoveryModeName(mode));
      TempDir dir;
      WriteTwoLogs(EmptyStore(dir), c.torn, c.next_sequence);
      auto db = DB::Open(WithMode(mode), dir.path());
      REQUIRE_MESSAGE(db.ok(), db.status().ToString());
      const bool keeps_d = mode == Mode::kTolerateCorruptedTail || c.point_in_time_keeps_d;
      Expect(**db, {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", keeps_d ? "4" : ""}, {"lost", ""}});
    }
  }
}

TEST_CASE("a legacy .log from before the upgrade is replayed, then replaced by a .wal") {
  TempDir dir;
  EmptyStore(dir);
  std::string legacy;
  for (int i = 0; i < 100; ++i) {
    legacy += EncodeLegacyRecord(BatchOf(1 + i, "key" + std::to_string(i), Payload(500, i)));
  }
  legacy += EncodeLegacyRecord(BatchOf(101, "torn", "x")).substr(0, 15);  // a torn tail
  WriteRaw(dir.File("000001.log"), legacy);
  // A newer log in the new format, as after an upgrade with a crash before
  // the first flush: replayed after the legacy one.
  WriteRaw(dir.File("000002.wal"), EncodeLog(2, {BatchOf(101, "key5", "newer")}));
  auto db = DB::Open(Options{}, dir.path());
  REQUIRE_MESSAGE(db.ok(), db.status().ToString());
  for (int i = 0; i < 100; ++i) {
    if (i == 5) continue;
    Expect(**db, {{"key" + std::to_string(i), Payload(500, i)}});
  }
  Expect(**db, {{"key5", "newer"}, {"torn", ""}});
  REQUIRE((*db)->Close().ok());
  const std::vector<std::string> logs = Logs(dir.path());
  REQUIRE(logs.size() == 1);
  CHECK(logs[0].ends_with(".wal"));
}

TEST_CASE("replay writes an L0 table each time the MemTable budget fills") {
  // memtable_bytes below the 1 MiB floor: the floor decides the table size.
  for (size_t memtable_bytes : {size_t{1} << 20, size_t{4096}}) {
    CAPTURE(memtable_bytes);
    TempDir dir;
    EmptyStore(dir);
    std::vector<std::string> batches = {BatchOf(1, "overwritten", "first")};
    for (int i = 0; i < 3500; ++i) {
      batches.push_back(BatchOf(2 + i, "key" + std::to_string(i), Payload(1000, i)));
    }
    batches.push_back(BatchOf(3502, "overwritten", "last"));
    WriteRaw(dir.File("000001.wal"), EncodeLog(1, batches));
    Options options;
    options.memtable_bytes = memtable_bytes;
    options.l0_compaction_trigger = 100;  // keep the tables replay wrote apart
    options.l0_slowdown_trigger = 100;
    options.l0_stop_trigger = 100;
    for (int open = 0; open < 2; ++open) {  // and again, from the manifest
      auto db = DB::Open(options, dir.path());
      REQUIRE_MESSAGE(db.ok(), db.status().ToString());
      const DBStats stats = (*db)->GetStats();
      std::vector<uint64_t> l0;
      for (const TableInfo& t : stats.tables) {
        if (t.level == 0) l0.push_back(ParseFileName(t.name).number);
      }
      CHECK(l0.size() >= 3);
      CHECK(l0.size() <= 5);
      CHECK(std::is_sorted(l0.rbegin(), l0.rend()));  // newest first
      Expect(
          **db,
          {{"overwritten", "last"}, {"key0", Payload(1000, 0)}, {"key3499", Payload(1000, 3499)}});
      for (int i = 0; i < 3500; i += 7) {
        Expect(**db, {{"key" + std::to_string(i), Payload(1000, i)}});
      }
      REQUIRE((*db)->Close().ok());
    }
  }
}

TEST_CASE("an Open that fails after replay wrote tables leaves the logs, and the next one recovers") {
  TempDir dir;
  EmptyStore(dir);
  std::vector<std::string> batches;
  for (int i = 0; i < 3000; ++i) {
    batches.push_back(BatchOf(1 + i, "key" + std::to_string(i), Payload(1000, i)));
  }
  WriteRaw(dir.File("000001.wal"), EncodeLog(1, batches));
  {
    FaultInjectionEnv env(Env::Default());
    env.SetWriteFault(ENOSPC, "MANIFEST");
    Options options;
    options.env = &env;
    auto db = DB::Open(options, dir.path());
    REQUIRE_FALSE(db.ok());
    CHECK(db.status().IsNoSpace());
  }
  CHECK(std::filesystem::exists(dir.File("000001.wal")));
  auto db = DB::Open(Options{}, dir.path());
  REQUIRE_MESSAGE(db.ok(), db.status().ToString());
  for (int i = 0; i < 3000; i += 11) {
    Expect(**db, {{"key" + std::to_string(i), Payload(1000, i)}});
  }
  REQUIRE((*db)->Close().ok());
  // Only the tables the manifest lists are left.
  std::vector<std::string> live;
  for (const TableInfo& t : (*db)->GetStats().tables) live.push_back(t.name);
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    const std::string name = e.path().filename().string();
    if (ParseFileName(name).type == FileType::kTable) {
      CHECK_MESSAGE(std::find(live.begin(), live.end(), name) != live.end(), "stray ", name);
    }
  }
}

}  // namespace
}  // namespace lsmd
