// Recovery: what is acknowledged survives a crash (a child process killed
// with SIGKILL), torn log tails are cut off, corruption is reported by file
// and offset, and no stray files remain.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "core/db.h"
#include "core/filename.h"
#include "core/write_batch.h"
#include "test_util.h"
#include "wal_test_util.h"

namespace lsmd {
namespace {

using testing::TempDir;

// Small buffers so a few hundred writes cross flushes and compactions.
Options CrashOptions() {
  Options options;
  options.sync = SyncMode::kAlways;
  options.memtable_bytes = 8 * 1024;
  options.l0_compaction_trigger = 2;
  options.l0_slowdown_trigger = 4;
  options.l0_stop_trigger = 6;
  options.target_file_bytes = 16 * 1024;
  options.level1_max_bytes = 64 * 1024;
  return options;
}

std::vector<std::string> LogFiles(const std::string& dir) {
  std::vector<std::string> logs;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (ParseFileName(e.path().filename().string()).type == FileType::kLog) {
      logs.push_back(e.path().string());
    }
  }
  std::sort(logs.begin(), logs.end());
  return logs;
}

// Runs body in a child process that exits without closing anything, as a
// crash would (the parent's doctest state is not touched).
template <typename Body>
void RunInChildAndCrash(Body body) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    body();
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

// Every file in dir is one the engine expects to see. Closes db first, so
// no background flush or compaction is writing a file meanwhile.
void CheckNoStrayFiles(DB& db, const std::string& dir) {
  REQUIRE(db.Close().ok());
  std::set<std::string> live;
  for (const TableInfo& t : db.GetStats().tables) live.insert(t.name);
  int logs = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    const ParsedFileName parsed = ParseFileName(name);
    CHECK_MESSAGE(parsed.type != FileType::kTemp, "stray temporary file ", name);
    CHECK_MESSAGE(parsed.type != FileType::kUnknown, "unexpected file ", name);
    if (parsed.type == FileType::kTable) CHECK_MESSAGE(live.count(name) == 1, "stray table ", name);
    if (parsed.type == FileType::kLog) ++logs;
  }
  CHECK(logs >= 1);
}

TEST_CASE("acknowledged writes survive SIGKILL at a random moment, 20 times") {
  TempDir dir;
  const unsigned seed = std::random_device{}();
  INFO("seed ", seed);
  std::mt19937 rng(seed);
  // key -> (round, index) of the newest write the child reported as acknowledged.
  std::map<std::string, std::pair<int, int>> acked;

  for (int round = 0; round < 20; ++round) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      auto db = DB::Open(CrashOptions(), dir.path());
      if (!db.ok()) {
        std::fprintf(stderr, "child open failed: %s\n", db.status().ToString().c_str());
        _exit(2);
      }
      for (int i = 0;; ++i) {
        // A small key space, so keys are overwritten and deleted across
        // flushes, compactions and crashes.
        const std::string key = "key" + std::to_string(i % 400);
        const std::string value =
            std::to_string(round) + ":" + std::to_string(i) + std::string(i % 7 * 20, 'v');
        if (!(*db)->Put(key, value).ok()) _exit(3);
        const std::string line = key + " " + std::to_string(round) + " " + std::to_string(i) + "\n";
        if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(4);
      }
    }
    close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 200));
    kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE_MESSAGE(WIFSIGNALED(status), "child exited early with status ", WEXITSTATUS(status));

    std::string reported;
    char buf[65536];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof(buf))) > 0) reported.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    std::istringstream lines(reported);
    std::string key;
    int r = 0, i = 0;
    int count = 0;
    while (lines >> key >> r >> i) {
      acked[key] = {r, i};
      ++count;
    }

    auto db = DB::Open(CrashOptions(), dir.path());
    REQUIRE_MESSAGE(db.ok(), "round ", round, ": ", db.status().ToString());
    for (const auto& entry : acked) {
      // Not a structured binding: the macros' lambdas capture k, which
      // clang 14 cannot do for bindings.
      const auto& k = entry.first;
      const auto& version = entry.second;
      std::string value;
      Status s = (*db)->Get(k, &value);
      REQUIRE_MESSAGE(s.ok(), "round ", round, " lost ", k, ": ", s.ToString());
      // The value is the acknowledged one or a later write the child made
      // but was killed before reporting.
      int got_round = 0, got_index = 0;
      REQUIRE(std::sscanf(value.c_str(), "%d:%d", &got_round, &got_index) == 2);
      CHECK_MESSAGE(std::make_pair(got_round, got_index) >= version, "round ", round, " key ", k,
                    " went back in time");
    }
    CheckNoStrayFiles(**db, dir.path());
    MESSAGE("round ", round, ": ", count, " acknowledged writes checked");
  }
}

TEST_CASE("a torn record at the end of the log is cut off and the rest recovered") {
  TempDir dir;
  RunInChildAndCrash([&] {
    auto db = DB::Open(Options{}, dir.path());
    if (!db.ok()) _exit(2);
    for (int i = 0; i < 10; ++i) {
      if (!(*db)->Put("k" + std::to_string(i), "v" + std::to_string(i)).ok()) _exit(3);
    }
  });
  auto logs = LogFiles(dir.path());
  REQUIRE(logs.size() == 1);
  {
    // Half of one more record, as a crash in the middle of its write leaves it.
    std::string bytes = testing::ReadRaw(logs[0]);
    const size_t whole = bytes.size();
    WriteBatch batch;
    batch.Put("torn", std::string(500, 't'));
    const uint64_t number =
        ParseFileName(std::filesystem::path(logs[0]).filename().string()).number;
    testing::AppendRecords(&bytes, number, {std::string(batch.Contents())});
    testing::WriteRaw(logs[0], bytes.substr(0, whole + 200));
  }
  auto db = DB::Open(Options{}, dir.path());
  REQUIRE_MESSAGE(db.ok(), db.status().ToString());
  for (int i = 0; i < 10; ++i) {
    std::string value;
    REQUIRE((*db)->Get("k" + std::to_string(i), &value).ok());
    CHECK(value == "v" + std::to_string(i));
  }
  std::string value;
  CHECK((*db)->Get("torn", &value).IsNotFound());
}

TEST_CASE("a corrupt record in the middle of the log fails Open with the file and offset") {
  TempDir dir;
  RunInChildAndCrash([&] {
    auto db = DB::Open(Options{}, dir.path());
    if (!db.ok()) _exit(2);
    for (int i = 0; i < 3; ++i) {
      if (!(*db)->Put("key" + std::to_string(i), std::string(50, 'a' + i)).ok()) _exit(3);
    }
  });
  auto logs = LogFiles(dir.path());
  REQUIRE(logs.size() == 1);
  {
    // Flip a byte in the first record's payload.
    FILE* f = std::fopen(logs[0].c_str(), "r+b");
    REQUIRE(f != nullptr);
    std::fseek(f, 20, SEEK_SET);
    int c = std::fgetc(f);
    std::fseek(f, 20, SEEK_SET);
    std::fputc(c ^ 0x01, f);
    std::fclose(f);
  }
  auto db = DB::Open(Options{}, dir.path());
  REQUIRE_FALSE(db.ok());
  CHECK(db.status().IsCorruption());
  const std::string message = db.status().message();
  CHECK(message.find(std::filesystem::path(logs[0]).filename().string()) != std::string::npos);
  CHECK(message.find("offset 0") != std::string::npos);
}

TEST_CASE("a clean close and reopen keeps everything, including under sync none") {
  TempDir dir;
  Options options;
  options.sync = SyncMode::kNone;
  {
    auto db = DB::Open(options, dir.path());
    REQUIRE(db.ok());
    for (int i = 0; i < 1000; ++i) REQUIRE((*db)->Put("k" + std::to_string(i), "v").ok());
    REQUIRE((*db)->Delete("k5").ok());
    REQUIRE((*db)->Close().ok());
  }
  auto db = DB::Open(options, dir.path());
  REQUIRE(db.ok());
  std::string value;
  CHECK((*db)->Get("k999", &value).ok());
  CHECK((*db)->Get("k5", &value).IsNotFound());
  CheckNoStrayFiles(**db, dir.path());
}

TEST_CASE("leftover temporary and unlisted table files are removed at open") {
  TempDir dir;
  {
    auto db = DB::Open(Options{}, dir.path());
    REQUIRE(db.ok());
    REQUIRE((*db)->Put("a", "1").ok());
    REQUIRE((*db)->Flush().ok());
  }
  for (const char* name : {"L0_009.sst.tmp", "L1_010.sst", "MANIFEST.tmp"}) {
    FILE* f = std::fopen((dir.path() + "/" + name).c_str(), "wb");
    REQUIRE(f != nullptr);
    std::fputs("junk", f);
    std::fclose(f);
  }
  auto db = DB::Open(Options{}, dir.path());
  REQUIRE_MESSAGE(db.ok(), db.status().ToString());
  // The unlisted number is never handed out again.
  REQUIRE((*db)->Put("b", "2").ok());
  auto flushed = (*db)->Flush();
  REQUIRE(flushed.ok());
  CHECK(flushed->file_name == "L0_011.sst");
  CheckNoStrayFiles(**db, dir.path());
}

}  // namespace
}  // namespace lsmd
