// The crash-and-restart torture test. Eight clients write, overwrite and
// delete their own keys on the real lsmd binary (a 64 KiB MemTable, so
// flushes and compactions run all the time) while the test kills the server
// with SIGKILL at a random moment, restarts it on the same directory and
// reads everything back:
//
// - every acknowledged write is there, every acknowledged delete is absent;
//   a key with an operation of unknown outcome (no reply before the kill)
//   holds either its acknowledged state or that operation's result;
// - every value was written by its key's client for that key;
// - no *.tmp file is left, every table stats lists is on disk and no table
//   that it does not list remains.
//
// Both sync modes make the same promise against a process crash (an
// acknowledged write has at least been handed to the OS), so both cases
// check it exactly. Rounds and seed: see torture_config.h.
#include <doctest/doctest.h>

#include <cstdio>
#include <memory>
#include <random>
#include <thread>

#include "server/test_process.h"
#include "torture/torture_client.h"
#include "torture/torture_config.h"
#include "torture/torture_store.h"

namespace lsmd::torture {
namespace {

using test::LsmdServer;
using test::TempDir;
using namespace std::chrono_literals;

constexpr int kClients = 8;
constexpr int kKeysPerClient = 32;
constexpr int kMinKillDelayMs = 50;
constexpr int kMaxKillDelayMs = 500;

uint64_t ChooseSeed() {
  if (Config().seed) return *Config().seed;
  std::random_device device;
  return (uint64_t{device()} << 32) | device();
}

class TortureRun {
 public:
  TortureRun(std::string sync_mode, uint64_t seed)
      : sync_mode_(std::move(sync_mode)), data_dir_(work_.File("data")), random_(seed) {
    for (int id = 0; id < kClients; ++id) models_.emplace_back(id, kKeysPerClient);
  }

  void StartServer() {
    server_.reset();  // reaps the killed process, if any
    server_ =
        std::make_unique<LsmdServer>(work_, data_dir_,
                                     std::vector<std::string>{"--memtable-bytes", "65536", "--sync",
                                                              sync_mode_, "--log-level", "warn"});
    REQUIRE_MESSAGE(server_->ready(), "lsmd did not start on ", data_dir_, ":\n",
                    server_->Stderr());
  }

  // Runs the clients, kills the server after a random delay, collects what
  // the clients saw.
  void LoadAndKill() {
    std::atomic<bool> killed{false};
    std::vector<ClientTally> tallies(kClients);
    std::vector<std::thread> clients;
    for (int id = 0; id < kClients; ++id) {
      const uint32_t seed = static_cast<uint32_t>(random_());
      clients.emplace_back([this, &killed, &tallies, id, seed] {
        tallies[id] = RunClient(server_->port(), models_[id], seed, killed);
      });
    }
    const int delay_ms =
        kMinKillDelayMs + static_cast<int>(random_() % (kMaxKillDelayMs - kMinKillDelayMs + 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    killed = true;
    server_->process().Signal(SIGKILL);
    const std::optional<int> exit_code = server_->process().Wait(10s);
    for (std::thread& client : clients) client.join();
    // Any other ending means lsmd died on its own before the kill.
    REQUIRE_MESSAGE(exit_code == std::optional<int>(128 + SIGKILL), "lsmd ended with ",
                    exit_code.value_or(-1), ":\n", server_->Stderr());
    for (const ClientTally& tally : tallies) {
      CHECK_MESSAGE(tally.failure.empty(), tally.failure);
      puts_ += tally.puts_acknowledged;
      deletes_ += tally.deletes_acknowledged;
      gets_ += tally.gets_answered;
      refused_ += tally.refused;
    }
  }

  void VerifyAfterRestart(const std::string& when) {
    for (const std::string& problem : VerifyKeys(server_->port(), models_)) {
      FAIL_CHECK(when, ": ", problem);
    }
    const std::string untidy = WaitForTidyDataDir(server_->port(), data_dir_, 10s);
    CHECK_MESSAGE(untidy.empty(), when, ": data directory not tidy: ", untidy);
  }

  // SIGTERM: a clean exit leaves no temporary file and exactly the live
  // tables; a restart after it finds every key as it was.
  void StopCleanlyAndReopen() {
    std::string error;
    const std::set<std::string> tables = LiveTables(server_->port(), &error);
    REQUIRE_MESSAGE(error.empty(), error);
    server_->process().Signal(SIGTERM);
    REQUIRE(server_->process().Wait(30s) == std::optional<int>(0));
    const std::string untidy = CheckStoppedDataDir(data_dir_, tables);
    CHECK_MESSAGE(untidy.empty(), "after a clean shutdown: ", untidy);
    StartServer();
    VerifyAfterRestart("after a clean shutdown");
  }

  void Report(uint64_t seed, int rounds) const {
    MESSAGE("sync ", sync_mode_, ", seed ", seed, ", ", rounds, " kills: ", puts_, " puts and ",
            deletes_, " deletes acknowledged, ", gets_, " gets checked, ", refused_,
            " writes refused with error 11; ", HighestTableNumber(),
            " SSTables written by flushes and compactions");
  }

  // Table numbers are never reused, so the highest one counts every table
  // ever written in this directory.
  uint64_t HighestTableNumber() const {
    uint64_t highest = 0;
    for (const std::string& name : FilesEndingWith(data_dir_, ".sst")) {
      const size_t underscore = name.find('_');
      if (underscore != std::string::npos) {
        highest = std::max<uint64_t>(highest, std::stoull(name.substr(underscore + 1)));
      }
    }
    return highest;
  }

  uint64_t acknowledged() const { return puts_ + deletes_; }

 private:
  const std::string sync_mode_;
  TempDir work_;
  const std::string data_dir_;
  std::mt19937_64 random_;
  std::vector<ClientModel> models_;
  std::unique_ptr<LsmdServer> server_;
  uint64_t puts_ = 0;
  uint64_t deletes_ = 0;
  uint64_t gets_ = 0;
  uint64_t refused_ = 0;
};

void RunTorture(const std::string& sync_mode) {
  const uint64_t seed = ChooseSeed();
  const int rounds = Config().rounds;
  // Printed first, so even a crash of the test leaves the seed to replay.
  std::fprintf(stderr, "torture (--sync %s): seed %llu, %d rounds; replay with --seed %llu\n",
               sync_mode.c_str(), static_cast<unsigned long long>(seed), rounds,
               static_cast<unsigned long long>(seed));
  INFO("seed ", seed, " (replay: LSMD_TORTURE_SEED=", seed, ")");
  TortureRun run(sync_mode, seed);
  run.StartServer();
  for (int round = 1; round <= rounds; ++round) {
    INFO("round ", round, " of ", rounds);
    run.LoadAndKill();
    run.StartServer();
    run.VerifyAfterRestart("after kill " + std::to_string(round));
  }
  run.StopCleanlyAndReopen();
  run.Report(seed, rounds);
  CHECK(run.acknowledged() > 0);
}

TEST_CASE("--sync always: SIGKILL at random moments loses no acknowledged write") {
  RunTorture("always");
}

TEST_CASE("--sync none: SIGKILL at random moments loses no acknowledged write") {
  RunTorture("none");
}

}  // namespace
}  // namespace lsmd::torture
