// Disk faults through the Env seam: ENOSPC and EIO during flushes and log
// appends, and corruption on disk. The engine reports the error, loses no
// acknowledged data, keeps serving reads and recovers when the fault clears.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "core/db.h"
#include "support/fault_injection_env.h"
#include "test_util.h"

namespace lsmd {
namespace {

using testing::TempDir;

Options FaultOptions(Env* env) {
  Options options;
  options.env = env;
  options.sync = SyncMode::kAlways;
  options.flush_retry_delay = std::chrono::milliseconds(50);
  return options;
}

TEST_CASE("ENOSPC during a flush: reported, nothing lost, the retry succeeds") {
  TempDir dir;
  FaultInjectionEnv env(Env::Default());
  {
    auto db = DB::Open(FaultOptions(&env), dir.path());
    REQUIRE(db.ok());
    for (int i = 0; i < 500; ++i) REQUIRE((*db)->Put("k" + std::to_string(i), "v").ok());

    env.SetWriteFault(ENOSPC, ".sst");
    auto failed = (*db)->Flush();
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.status().IsNoSpace());
    CHECK((*db)->GetStats().flush_failures >= 1);
    // Reads are served from the frozen MemTable, and writes go on.
    std::string value;
    CHECK((*db)->Get("k42", &value).ok());
    CHECK((*db)->Put("during-fault", "w").ok());
    CHECK((*db)->GetStats().tables.empty());

    env.ClearFaults();
    auto retried = (*db)->Flush();
    REQUIRE_MESSAGE(retried.ok(), retried.status().ToString());
    CHECK(retried->wrote_file);
    uint64_t entries = 0;
    for (const TableInfo& t : (*db)->GetStats().tables) entries += t.entries;
    CHECK(entries == 501);
  }
  // No temporary files linger and everything is there after a reopen.
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    CHECK_FALSE(e.path().string().ends_with(".tmp"));
  }
  auto db = DB::Open(FaultOptions(Env::Default()), dir.path());
  REQUIRE(db.ok());
  std::string value;
  CHECK((*db)->Get("k499", &value).ok());
  CHECK((*db)->Get("during-fault", &value).ok());
}

TEST_CASE("ENOSPC on the manifest update fails the flush without losing data") {
  TempDir dir;
  FaultInjectionEnv env(Env::Default());
  auto db = DB::Open(FaultOptions(&env), dir.path());
  REQUIRE(db.ok());
  REQUIRE((*db)->Put("a", "1").ok());
  env.SetWriteFault(ENOSPC, "MANIFEST");
  CHECK_FALSE((*db)->Flush().ok());
  std::string value;
  CHECK((*db)->Get("a", &value).ok());
  env.ClearFaults();
  REQUIRE((*db)->Flush().ok());
  REQUIRE((*db)->Close().ok());
  auto reopened = DB::Open(FaultOptions(Env::Default()), dir.path());
  REQUIRE(reopened.ok());
  CHECK((*reopened)->Get("a", &value).ok());
}

TEST_CASE("a failed log append is an error, never a false acknowledgement") {
  TempDir dir;
  FaultInjectionEnv env(Env::Default());
  {
    auto db = DB::Open(FaultOptions(&env), dir.path());
    REQUIRE(db.ok());
    REQUIRE((*db)->Put("before", "1").ok());
    env.SetWriteFault(EIO, ".wal");
    CHECK((*db)->Put("during", "2").IsIOError());
    CHECK((*db)->Put("during2", "2").IsIOError());
    std::string value;
    CHECK((*db)->Get("before", &value).ok());
    CHECK((*db)->Get("during", &value).IsNotFound());
    env.ClearFaults();
    // The next write starts a fresh log, so the torn one never gets a
    // record appended after its damage.
    REQUIRE((*db)->Put("after", "3").ok());
  }
  auto db = DB::Open(FaultOptions(Env::Default()), dir.path());
  REQUIRE_MESSAGE(db.ok(), db.status().ToString());
  std::string value;
  CHECK((*db)->Get("before", &value).ok());
  CHECK((*db)->Get("after", &value).ok());
}

TEST_CASE("EIO on table reads is an error for that read, other reads go on") {
  TempDir dir;
  FaultInjectionEnv env(Env::Default());
  auto db = DB::Open(FaultOptions(&env), dir.path());
  REQUIRE(db.ok());
  REQUIRE((*db)->Put("on-disk", "1").ok());
  REQUIRE((*db)->Flush().ok());
  REQUIRE((*db)->Put("in-memory", "2").ok());
  env.SetReadFault(EIO, ".sst");
  std::string value;
  CHECK((*db)->Get("on-disk", &value).IsIOError());
  CHECK((*db)->Get("in-memory", &value).ok());
  env.ClearFaults();
  CHECK((*db)->Get("on-disk", &value).ok());
}

TEST_CASE("a flipped byte in a table's data gives a corruption error, never a wrong value") {
  TempDir dir;
  std::string table;
  {
    auto db = DB::Open(FaultOptions(Env::Default()), dir.path());
    REQUIRE(db.ok());
    for (int i = 0; i < 100; ++i) REQUIRE((*db)->Put("k" + std::to_string(i), "value").ok());
    auto flushed = (*db)->Flush();
    REQUIRE(flushed.ok());
    table = dir.path() + "/" + flushed->file_name;
  }
  {
    FILE* f = std::fopen(table.c_str(), "r+b");
    REQUIRE(f != nullptr);
    std::fseek(f, 10, SEEK_SET);  // inside the first data segment
    int c = std::fgetc(f);
    std::fseek(f, 10, SEEK_SET);
    std::fputc(c ^ 0x20, f);
    std::fclose(f);
  }
  auto db = DB::Open(FaultOptions(Env::Default()), dir.path());
  REQUIRE(db.ok());  // data segments are checked when read, not at open
  std::string value;
  Status s = (*db)->Get("k0", &value);
  CHECK(s.IsCorruption());
  CHECK(s.message().find("L0_001.sst") != std::string::npos);
  ScanResult scan;
  CHECK((*db)->Scan("", "", 1000, &scan).IsCorruption());
}

}  // namespace
}  // namespace lsmd
