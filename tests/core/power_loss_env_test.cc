// PowerLossEnv on its own: what SimulatePowerLoss keeps and drops (unsynced
// bytes, unsynced creates, renames and unlinks), the torn write, the failed
// fsync, and the freeze at a sync point. The engine's power-loss tests trust
// these rules, so each is pinned here.
#include "support/power_loss_env.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace lsmd {
namespace {

using testing::TempDir;
using Loss = PowerLossEnv::PowerLoss;
using Data = PowerLossEnv::UnsyncedData;

std::string Read(const std::string& path) {
  std::string out;
  Status s = Env::Default()->ReadFileToString(path, &out);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return out;
}

bool Exists(const std::string& path) { return Env::Default()->FileExists(path); }

// Writes contents through env and leaves the file synced or not.
void Write(Env& env, const std::string& path, const std::string& contents, bool sync) {
  auto file = env.NewWritableFile(path);
  REQUIRE(file.ok());
  REQUIRE((*file)->Append(contents).ok());
  REQUIRE(((sync ? (*file)->Sync() : (*file)->Flush())).ok());
  REQUIRE((*file)->Close().ok());
}

TEST_CASE("unsynced bytes vanish, synced ones survive, and the modes for the unsynced range") {
  TempDir dir;
  const std::string path = dir.File("f");
  for (Data mode : {Data::kDrop, Data::kKeepRandomPrefix, Data::kGarbage, Data::kZeroFill}) {
    CAPTURE(static_cast<int>(mode));
    PowerLossEnv env;
    auto file = env.NewWritableFile(path);
    REQUIRE(file.ok());
    REQUIRE(env.SyncDir(dir.path()).ok());  // the name is durable; the data is not yet
    REQUIRE((*file)->Append("synced-").ok());
    REQUIRE((*file)->Sync().ok());
    REQUIRE((*file)->Append(std::string(1000, 'u')).ok());
    REQUIRE((*file)->Flush().ok());
    REQUIRE((*file)->Append("still-buffered").ok());  // never handed to the OS
    file->reset();                                    // Close writes it out
    CHECK(env.synced_bytes(path) == 7);
    CHECK(env.written_bytes(path) == 7 + 1000 + 14);

    REQUIRE(env.SimulatePowerLoss(Loss{mode, {}, 42, {}}).ok());
    const std::string full = "synced-" + std::string(1000, 'u') + "still-buffered";
    const std::string after = Read(path);
    REQUIRE(after.size() >= 7);
    CHECK(after.substr(0, 7) == "synced-");
    switch (mode) {
      case Data::kDrop:
        CHECK(after == "synced-");
        break;
      case Data::kKeepRandomPrefix:
        CHECK(after.size() <= full.size());
        CHECK(full.compare(0, after.size(), after) == 0);
        break;
      case Data::kGarbage:
        CHECK(after.size() == full.size());
        CHECK(after != full);
        break;
      case Data::kZeroFill:
        CHECK(after == "synced-" + std::string(1014, '\0'));
        break;
    }
    std::filesystem::remove(path);
  }
}

TEST_CASE("a file's Sync makes its bytes durable, not its name") {
  TempDir dir;
  PowerLossEnv env;
  Write(env, dir.File("new"), "synced data", /*sync=*/true);
  REQUIRE(env.SimulatePowerLoss().ok());
  CHECK_FALSE(Exists(dir.File("new")));

  Write(env, dir.File("new"), "synced data", /*sync=*/true);
  REQUIRE(env.SyncDir(dir.path() + "/").ok());  // a trailing slash names the same directory
  REQUIRE(env.SimulatePowerLoss().ok());
  CHECK(Read(dir.File("new")) == "synced data");
}

TEST_CASE("an unsynced rename is reverted, the overwritten target comes back") {
  TempDir dir;
  PowerLossEnv env;
  Write(env, dir.File("MANIFEST"), "old", true);
  Write(env, dir.File("MANIFEST.tmp"), "new", true);
  REQUIRE(env.SyncDir(dir.path()).ok());
  REQUIRE(env.RenameFile(dir.File("MANIFEST.tmp"), dir.File("MANIFEST")).ok());
  CHECK(Read(dir.File("MANIFEST")) == "new");
  REQUIRE(env.SimulatePowerLoss().ok());
  CHECK(Read(dir.File("MANIFEST")) == "old");
  CHECK(Read(dir.File("MANIFEST.tmp")) == "new");

  // The same rename with the directory synced stays.
  REQUIRE(env.RenameFile(dir.File("MANIFEST.tmp"), dir.File("MANIFEST")).ok());
  REQUIRE(env.SyncDir(dir.path()).ok());
  REQUIRE(env.SimulatePowerLoss().ok());
  CHECK(Read(dir.File("MANIFEST")) == "new");
  CHECK_FALSE(Exists(dir.File("MANIFEST.tmp")));
}

TEST_CASE("create, sync, rename without a directory sync: neither name survives") {
  TempDir dir;
  PowerLossEnv env;
  Write(env, dir.File("L0_001.sst.tmp"), "table", true);
  REQUIRE(env.RenameFile(dir.File("L0_001.sst.tmp"), dir.File("L0_001.sst")).ok());
  REQUIRE(env.SimulatePowerLoss().ok());
  CHECK_FALSE(Exists(dir.File("L0_001.sst")));
  CHECK_FALSE(Exists(dir.File("L0_001.sst.tmp")));
}

TEST_CASE("an unsynced unlink is undone with the file's durable bytes, a synced one stays") {
  TempDir dir;
  PowerLossEnv env;
  {
    auto file = env.NewWritableFile(dir.File("000001.log"));
    REQUIRE(file.ok());
    REQUIRE((*file)->Append("record").ok());
    REQUIRE((*file)->Sync().ok());
    REQUIRE((*file)->Append("-unsynced").ok());
    REQUIRE((*file)->Close().ok());
  }
  REQUIRE(env.SyncDir(dir.path()).ok());
  REQUIRE(env.RemoveFile(dir.File("000001.log")).ok());
  CHECK_FALSE(Exists(dir.File("000001.log")));
  REQUIRE(env.SimulatePowerLoss().ok());
  CHECK(Read(dir.File("000001.log")) == "record");

  // A file the env never wrote counts as durable, and so does its removal once synced.
  REQUIRE(env.RemoveFile(dir.File("000001.log")).ok());
  REQUIRE(env.SyncDir(dir.path()).ok());
  REQUIRE(env.SimulatePowerLoss().ok());
  CHECK_FALSE(Exists(dir.File("000001.log")));
}

TEST_CASE("kKeepRandomSubset keeps operations on one name in order, keep_dir_op chooses") {
  TempDir dir;
  PowerLossEnv env;
  Write(env, dir.File("a.tmp"), "A", true);
  REQUIRE(env.RenameFile(dir.File("a.tmp"), dir.File("a")).ok());
  Write(env, dir.File("b.tmp"), "B", true);
  REQUIRE(env.RenameFile(dir.File("b.tmp"), dir.File("b")).ok());
  // Drop everything about "a": b's create and rename may still have persisted.
  Loss loss;
  loss.keep_dir_op = [](const PowerLossEnv::DirOp& op) {
    return op.path.find("/a") == std::string::npos;
  };
  REQUIRE(env.SimulatePowerLoss(loss).ok());
  CHECK_FALSE(Exists(dir.File("a")));
  CHECK_FALSE(Exists(dir.File("a.tmp")));
  CHECK(Read(dir.File("b")) == "B");

  // Random subsets never keep a rename whose source's create was dropped.
  for (uint64_t seed = 0; seed < 32; ++seed) {
    Write(env, dir.File("c.tmp"), "C", true);
    REQUIRE(env.RenameFile(dir.File("c.tmp"), dir.File("c")).ok());
    REQUIRE(env.SimulatePowerLoss(
                   Loss{Data::kDrop, PowerLossEnv::UnsyncedDirOps::kKeepRandomSubset, seed, {}})
                .ok());
    const bool c = Exists(dir.File("c")), tmp = Exists(dir.File("c.tmp"));
    CHECK_FALSE((c && tmp));
    if (c) CHECK(Read(dir.File("c")) == "C");
    std::filesystem::remove(dir.File("c"));
    std::filesystem::remove(dir.File("c.tmp"));
  }
}

TEST_CASE("a torn write puts half the bytes in the file and fails with EIO") {
  TempDir dir;
  PowerLossEnv env;
  auto file = env.NewWritableFile(dir.File("000002.log"));
  REQUIRE(file.ok());
  REQUIRE((*file)->Append("first").ok());
  REQUIRE((*file)->Flush().ok());
  env.FailWrite(1, ".log");
  REQUIRE((*file)->Append("0123456789").ok());  // buffered: the write happens on Flush
  Status s = (*file)->Flush();
  CHECK(s.IsIOError());
  CHECK(s.message().find("torn write") != std::string::npos);
  CHECK(Read(dir.File("000002.log")) == "first01234");
  REQUIRE((*file)->Append("next").ok());  // one-shot: later writes go through
  REQUIRE((*file)->Sync().ok());
  CHECK(Read(dir.File("000002.log")) == "first01234next");
  CHECK(env.synced_bytes(dir.File("000002.log")) == 14);
}

TEST_CASE("a failed fsync writes the bytes but leaves them unsynced") {
  TempDir dir;
  PowerLossEnv env;
  REQUIRE(env.SyncDir(dir.path()).ok());
  auto file = env.NewWritableFile(dir.File("000003.log"));
  REQUIRE(file.ok());
  REQUIRE(env.SyncDir(dir.path()).ok());
  REQUIRE((*file)->Append("durable").ok());
  REQUIRE((*file)->Sync().ok());
  env.FailSync(1, ".log");
  REQUIRE((*file)->Append("+lost").ok());
  CHECK((*file)->Sync().IsIOError());
  CHECK(Read(dir.File("000003.log")) == "durable+lost");  // in the page cache
  REQUIRE((*file)->Close().ok());
  REQUIRE(env.SimulatePowerLoss().ok());
  CHECK(Read(dir.File("000003.log")) == "durable");
}

TEST_CASE("freezing at sync point N: that call and every later mutation fail and change nothing") {
  TempDir dir;
  PowerLossEnv env;
  Write(env, dir.File("kept"), "x", true);  // sync point 1
  env.FreezeAtSyncPoint(1);                 // the next one
  auto file = env.NewWritableFile(dir.File("f"));
  REQUIRE(file.ok());
  REQUIRE((*file)->Append("data").ok());
  CHECK((*file)->Sync().IsIOError());  // sync point 2: the power goes here
  CHECK(env.frozen());
  CHECK(env.frozen_at() == "sync point 2: Sync f");
  CHECK((*file)->Append("more").IsIOError());
  CHECK((*file)->Close().IsIOError());
  CHECK(Read(dir.File("f")).empty());  // the frozen Sync wrote nothing either
  CHECK(env.NewWritableFile(dir.File("g")).status().IsIOError());
  CHECK_FALSE(Exists(dir.File("g")));
  CHECK(env.RenameFile(dir.File("kept"), dir.File("moved")).IsIOError());
  CHECK(env.RemoveFile(dir.File("kept")).IsIOError());
  CHECK(env.SyncDir(dir.path()).IsIOError());
  CHECK(Exists(dir.File("kept")));
  std::string contents;
  CHECK(env.ReadFileToString(dir.File("kept"), &contents).ok());  // reads still work
  CHECK(env.sync_points() == 2);
  CHECK(env.file_syncs() == 2);
  CHECK(env.dir_syncs() == 0);

  REQUIRE(env.SimulatePowerLoss().ok());
  CHECK_FALSE(env.frozen());
  CHECK_FALSE(Exists(dir.File("kept")));  // never dir-synced
  CHECK_FALSE(Exists(dir.File("f")));
  CHECK(env.sync_points() == 0);
}

TEST_CASE("FreezeWhen sees the operations a SyncDir would make durable") {
  TempDir dir;
  PowerLossEnv env;
  env.FreezeWhen([](const PowerLossEnv::SyncPoint& p) {
    return p.dir && !p.pending.empty() && p.pending.back().to.ends_with("/b");
  });
  Write(env, dir.File("a"), "1", true);
  REQUIRE(env.SyncDir(dir.path()).ok());
  Write(env, dir.File("b.tmp"), "2", true);
  REQUIRE(env.RenameFile(dir.File("b.tmp"), dir.File("b")).ok());
  CHECK(env.SyncDir(dir.path()).IsIOError());
  CHECK(env.frozen_at().find("rename b.tmp -> b") != std::string::npos);
  const auto trace = env.sync_trace();
  REQUIRE(trace.size() == 4);
  CHECK(trace[1].pending.size() == 1);  // create a
  CHECK(env.file_syncs_matching("b.tmp") == 1);
}

TEST_CASE("threads writing and syncing their own files are each counted") {
  TempDir dir;
  PowerLossEnv env;
  constexpr int kThreads = 8, kSyncs = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto file = env.NewWritableFile(dir.File("t" + std::to_string(t)));
      if (!file.ok()) return;
      for (int i = 0; i < kSyncs; ++i) {
        if (!(*file)->Append("0123456789").ok() || !(*file)->Sync().ok()) return;
      }
      (*file)->Close();
      env.SyncDir(dir.path());
    });
  }
  for (auto& t : threads) t.join();
  CHECK(env.file_syncs() == kThreads * kSyncs);
  CHECK(env.dir_syncs() == kThreads);
  CHECK(env.sync_points() == kThreads * (kSyncs + 1));
  REQUIRE(env.SimulatePowerLoss().ok());
  for (int t = 0; t < kThreads; ++t) CHECK(Read(dir.File("t" + std::to_string(t))).size() == 500);
}

}  // namespace
}  // namespace lsmd
