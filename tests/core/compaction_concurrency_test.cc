// Compaction alongside everything else: scans that hold the tables being
// replaced, failures around the manifest switch, SIGKILL while compactions
// run constantly, and L0 staying bounded under a steady write load.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "core/db.h"
#include "core/filename.h"
#include "support/fault_injection_env.h"
#include "test_util.h"

namespace lsmd {
namespace {

using testing::TempDir;
using Model = std::map<std::string, std::string>;
namespace fs = std::filesystem;

// Reads made by a thread with this set wait while WatchfulEnv holds reads.
thread_local bool t_held_reader = false;

// FaultInjectionEnv, plus what POSIX hides and a way to hold a reader still:
// reading a file after RemoveFile fails (an unlinked file stays readable
// through an open descriptor, so a table deleted under a scan would otherwise
// go unnoticed), and FailDirSyncAfterManifestRename() fails the directory
// sync right after the next MANIFEST rename.
class WatchfulEnv final : public FaultInjectionEnv {
 public:
  WatchfulEnv() : FaultInjectionEnv(Env::Default()) {}

  void HoldReads() {
    std::lock_guard lock(mu_);
    holding_ = true;
  }
  void ReleaseReads() {
    std::lock_guard lock(mu_);
    holding_ = false;
    cv_.notify_all();
  }
  bool WaitForHeldRead() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return held_reads_ > 0; });
  }
  void FailDirSyncAfterManifestRename() {
    std::lock_guard lock(mu_);
    fail_after_rename_ = true;
  }

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    auto file = FaultInjectionEnv::NewRandomAccessFile(path);
    if (!file.ok()) return file.status();
    return std::unique_ptr<RandomAccessFile>(new File(this, path, std::move(*file)));
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    Status s = FaultInjectionEnv::RenameFile(from, to);
    std::lock_guard lock(mu_);
    if (s.ok() && fail_after_rename_ && to.ends_with(std::string("/") + kManifestFileName)) {
      fail_after_rename_ = false;
      fail_next_dir_sync_ = true;
    }
    return s;
  }
  Status RemoveFile(const std::string& path) override {
    {
      std::lock_guard lock(mu_);
      removed_.insert(path);
    }
    return FaultInjectionEnv::RemoveFile(path);
  }
  Status SyncDir(const std::string& dir) override {
    {
      std::lock_guard lock(mu_);
      if (std::exchange(fail_next_dir_sync_, false)) {
        return Status::IOError(dir + ": injected directory sync failure");
      }
    }
    return FaultInjectionEnv::SyncDir(dir);
  }

 private:
  class File final : public RandomAccessFile {
   public:
    File(WatchfulEnv* env, std::string path, std::unique_ptr<RandomAccessFile> base)
        : env_(env), path_(std::move(path)), base_(std::move(base)) {}
    Status Read(uint64_t offset, size_t n, std::string* scratch,
                std::string_view* result) const override {
      Status s = env_->BeforeRead(path_);
      return s.ok() ? base_->Read(offset, n, scratch, result) : s;
    }

   private:
    WatchfulEnv* const env_;
    const std::string path_;
    const std::unique_ptr<RandomAccessFile> base_;
  };

  Status BeforeRead(const std::string& path) {
    std::unique_lock lock(mu_);
    if (t_held_reader && holding_) {
      ++held_reads_;
      cv_.notify_all();
      cv_.wait_for(lock, std::chrono::seconds(30), [&] { return !holding_; });
    }
    if (removed_.count(path) > 0) return Status::IOError(path + " read after it was removed");
    return Status::OK();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> removed_;    // GUARDED_BY(mu_)
  bool holding_ = false;             // GUARDED_BY(mu_)
  int held_reads_ = 0;               // GUARDED_BY(mu_)
  bool fail_after_rename_ = false;   // GUARDED_BY(mu_)
  bool fail_next_dir_sync_ = false;  // GUARDED_BY(mu_)
};

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

Model ScanAll(DB& db) {
  ScanResult all;
  Status s = db.Scan("", "", 1 << 20, &all);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return Model(all.entries.begin(), all.entries.end());
}

// Closes db, then checks every file in dir is one the engine expects.
void CheckNoStrayFiles(DB& db, const std::string& dir) {
  REQUIRE(db.Close().ok());
  std::set<std::string> live;
  for (const TableInfo& t : db.GetStats().tables) live.insert(t.name);
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    const ParsedFileName parsed = ParseFileName(name);
    CHECK_MESSAGE(parsed.type != FileType::kTemp, "stray temporary file ", name);
    if (parsed.type == FileType::kTable) CHECK_MESSAGE(live.count(name) == 1, "stray table ", name);
  }
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

TEST_CASE("a scan holding the old tables reads them to the end while CompactAll replaces them") {
  TempDir dir;
  WatchfulEnv env;
  Options options;
  options.env = &env;
  options.sync = SyncMode::kNone;
  options.target_file_bytes = 8 * 1024;
  auto db = OpenOrDie(options, dir.path());
  Model model;
  for (int i = 0; i < 3000; ++i) {
    REQUIRE(db->Put(Key(i), "base" + std::to_string(i)).ok());
    model[Key(i)] = "base" + std::to_string(i);
  }
  REQUIRE(db->CompactAll().ok());
  for (int round = 1; round <= 3; ++round) {  // three overlapping L0 tables over L1
    for (int i = round; i < 3000; i += 2 + round) {
      if (i % 5 == 0) {
        REQUIRE(db->Delete(Key(i)).ok());
        model.erase(Key(i));
      } else {
        REQUIRE(db->Put(Key(i), "round" + std::to_string(round)).ok());
        model[Key(i)] = "round" + std::to_string(round);
      }
    }
    REQUIRE(db->Flush().ok());
  }
  std::vector<std::string> old_tables;
  for (const TableInfo& t : db->GetStats().tables) old_tables.push_back(t.name);
  CHECK(db->GetStats().levels[0].files == 3);

  env.HoldReads();
  ScanResult held;
  Status held_status;
  std::thread holder([&] {
    t_held_reader = true;
    held_status = db->Scan("", "", 1 << 20, &held);
  });
  REQUIRE(env.WaitForHeldRead());  // the holder has its view and waits inside a read

  std::atomic<bool> done{false};
  std::atomic<int> scans{0}, wrong{0};
  std::vector<std::thread> scanners;
  for (int t = 0; t < 2; ++t) {
    scanners.emplace_back([&, t] {
      std::mt19937 rng(t);
      while (!done.load()) {
        const std::string start = Key(static_cast<int>(rng() % 3000));
        ScanResult got;
        if (!db->Scan(start, "", 200, &got).ok()) ++wrong;
        auto it = model.lower_bound(start);
        for (const auto& entry : got.entries) {
          if (it == model.end() || entry.first != it->first || entry.second != it->second) ++wrong;
          if (it != model.end()) ++it;
        }
        ++scans;
      }
    });
  }
  auto compacted = db->CompactAll();
  REQUIRE(compacted.ok());
  CHECK(compacted->levels[0].files == 0);
  // Installed, yet the held scan still reads the inputs: they stay on disk.
  for (const std::string& name : old_tables) {
    CHECK_MESSAGE(fs::exists(dir.File(name)), name, " was deleted under a reader");
    CHECK(db->LookupInSSTable(name, Key(1)).status().IsNotFound());
  }
  env.ReleaseReads();
  holder.join();
  WaitFor([&] { return scans.load() >= 20; });
  done = true;
  for (auto& t : scanners) t.join();

  CHECK_MESSAGE(held_status.ok(), held_status.ToString());
  CHECK(Model(held.entries.begin(), held.entries.end()) == model);
  CHECK(wrong.load() == 0);
  CHECK(ScanAll(*db) == model);
  // The last reader let go: the compaction thread removes the inputs soon after.
  for (const std::string& name : old_tables) {
    WaitFor([&] { return !fs::exists(dir.File(name)); });
    CHECK_FALSE(fs::exists(dir.File(name)));
  }
}

TEST_CASE("a failed manifest write keeps the old tables, a rename without its sync keeps both") {
  TempDir dir;
  WatchfulEnv env;
  Options options;
  options.env = &env;
  options.sync = SyncMode::kNone;
  auto db = OpenOrDie(options, dir.path());
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 500; ++i) REQUIRE(db->Put(Key(i), "v" + std::to_string(round)).ok());
    REQUIRE(db->Flush().ok());
  }
  auto l1_files = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir.path())) {
      n += e.path().filename().string().starts_with("L1_");
    }
    return n;
  };

  env.SetWriteFault(ENOSPC, kManifestFileName);  // the manifest is never replaced
  auto failed = db->CompactAll();
  CHECK(failed.status().IsNoSpace());
  CHECK(db->GetStats().levels[0].files == 2);
  CHECK(l1_files() == 0);  // the outputs no manifest lists are removed at once
  env.ClearFaults();

  // The new manifest is renamed into place but the directory sync fails: the
  // disk may hold either manifest, so both file sets must stay.
  env.FailDirSyncAfterManifestRename();
  CHECK_FALSE(db->CompactAll().ok());
  CHECK(db->GetStats().levels[0].files == 2);
  std::string value;
  REQUIRE(db->Get(Key(7), &value).ok());
  CHECK(value == "v1");
  REQUIRE(db->Close().ok());
  db = OpenOrDie(options, dir.path());  // the renamed manifest lists the outputs
  CHECK(db->GetStats().levels[0].files == 0);
  CHECK(db->GetStats().levels[1].files == 1);
  REQUIRE(db->Get(Key(7), &value).ok());
  CHECK(value == "v1");
  CheckNoStrayFiles(*db, dir.path());
}

// The child's writes are a function of (round, thread, index), so the parent
// can tell which state each key may be in from the last index reported.
struct ChildOp {
  std::string key;
  std::optional<std::string> value;  // nullopt: a delete
};
ChildOp OpFor(int round, int thread, int i) {
  ChildOp op{"t" + std::to_string(thread) + "-" + Key(i % 150), std::nullopt};
  if (i % 7 != 3) {
    op.value =
        std::to_string(round) + ":" + std::to_string(i) + std::string(100 + i % 5 * 150, 'v');
  }
  return op;
}

TEST_CASE("SIGKILL while compactions run constantly: reopen gives the acknowledged data") {
  constexpr int kThreads = 3;
  TempDir dir;
  Options options;
  options.sync = SyncMode::kAlways;
  options.memtable_bytes = 8 * 1024;
  options.l0_compaction_trigger = 2;
  options.l0_slowdown_trigger = 4;
  options.l0_stop_trigger = 6;
  options.target_file_bytes = 8 * 1024;
  options.level1_max_bytes = 32 * 1024;
  const unsigned seed = std::random_device{}();
  INFO("seed ", seed);
  std::mt19937 rng(seed);
  Model model;  // the state the last reopen verified
  uint64_t compactions_seen = 0;
  int acknowledged = 0;

  for (int round = 0; round < 20; ++round) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      auto db = DB::Open(options, dir.path());
      if (!db.ok()) _exit(2);
      std::vector<std::thread> writers;
      for (int t = 0; t < kThreads; ++t) {
        writers.emplace_back([&, t] {
          for (int i = 0;; ++i) {
            ChildOp op = OpFor(round, t, i);
            Status s = op.value ? (*db)->Put(op.key, *op.value) : (*db)->Delete(op.key);
            if (!s.ok()) _exit(3);
            const std::string line = "w " + std::to_string(t) + " " + std::to_string(i) + "\n";
            if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
              _exit(4);
            }
          }
        });
      }
      // Reports how many compactions this child finished, as proof that the
      // kill lands while they run.
      while (true) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        const std::string line = "c " + std::to_string((*db)->GetStats().compactions) + "\n";
        if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(4);
      }
    }
    close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 300));
    kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE_MESSAGE(WIFSIGNALED(status), "child exited early with status ", WEXITSTATUS(status));
    std::string reported;
    char buf[65536];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof(buf))) > 0) reported.append(buf, static_cast<size_t>(n));
    close(fds[0]);

    // Acknowledged operations move the model; each thread's next operation
    // may have landed without being reported.
    std::vector<int> next_index(kThreads, 0);
    std::istringstream lines(reported);
    std::string tag;
    int count = 0;
    uint64_t child_compactions = 0;
    while (lines >> tag) {
      if (tag == "c") {
        lines >> child_compactions;
        continue;
      }
      int t = 0, i = 0;
      lines >> t >> i;
      REQUIRE(i == next_index[t]);
      ChildOp op = OpFor(round, t, i);
      if (op.value) {
        model[op.key] = *op.value;
      } else {
        model.erase(op.key);
      }
      next_index[t] = i + 1;
      ++count;
    }
    compactions_seen += child_compactions;
    std::map<std::string, ChildOp> in_flight;
    for (int th = 0; th < kThreads; ++th) {
      ChildOp op = OpFor(round, th, next_index[th]);
      in_flight[op.key] = op;
    }

    auto db = OpenOrDie(options, dir.path());
    const Model actual = ScanAll(*db);
    std::set<std::string> keys;
    for (const auto& [k, v] : model) keys.insert(k);
    for (const auto& [k, v] : actual) keys.insert(k);
    for (const std::string& k : keys) {
      std::optional<std::string> wanted, found;
      if (auto it = model.find(k); it != model.end()) wanted = it->second;
      if (auto it = actual.find(k); it != actual.end()) found = it->second;
      if (found == wanted) continue;
      auto pending = in_flight.find(k);
      REQUIRE_MESSAGE((pending != in_flight.end() && pending->second.value == found), "round ",
                      round, ": key ", k, " is neither acknowledged nor in flight");
    }
    model = actual;
    CheckNoStrayFiles(*db, dir.path());
    acknowledged += count;
  }
  MESSAGE(acknowledged, " acknowledged writes checked over 20 kills; the children finished ",
          compactions_seen, " compactions");
  CHECK(compactions_seen > 0);
}

TEST_CASE("under a steady write load L0 never grows past l0_stop_trigger") {
  TempDir dir;
  Options options;  // the default L0 triggers: 4, 8, 12
  options.sync = SyncMode::kNone;
  options.memtable_bytes = 16 * 1024;
  options.target_file_bytes = 16 * 1024;
  options.level1_max_bytes = 64 * 1024;
  auto db = OpenOrDie(options, dir.path());
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (int i = 0; i < 15000; ++i) CHECK(db->Put(Key(i % 5000), std::string(120, 'w')).ok());
    writing = false;
  });
  uint64_t max_l0 = 0;
  while (writing.load()) {
    max_l0 = std::max(max_l0, db->GetStats().levels[0].files);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  writer.join();
  MESSAGE("largest L0 seen: ", max_l0, " files");
  CHECK(max_l0 <= static_cast<uint64_t>(options.l0_stop_trigger));
  CHECK(db->GetStats().compactions > 0);
}

}  // namespace
}  // namespace lsmd
