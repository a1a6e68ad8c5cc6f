// engine_bench: in-process throughput of lsmd's engine next to LevelDB and
// RocksDB, in the manner of LevelDB's db_bench. See docs/BENCHMARKS.md.
//
//   engine_bench --engine=lsmd --num=1000000 --benchmarks=fillrandom,readrandom
//   engine_bench --benchmarks=sstable_build --sstable-mib=64
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/engine/sstable_build.h"
#include "bench/engine/store.h"
#include "bench/engine/workloads.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace lsmd::bench {
namespace {

struct BenchFlags {
  std::string engine = "lsmd";
  std::vector<std::string> benchmarks;
  std::string db;  // empty: a fresh temporary directory, removed at exit
  WorkloadConfig workload;
  size_t sstable_mib = 64;
  bool sync = false;
  std::string log_level = "warn";
};

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

std::string JoinCommas(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

// Returns the exit code to stop with, or -1 to go on.
int ParseFlags(int argc, char** argv, BenchFlags* flags) {
  std::string benchmarks = JoinCommas(WorkloadNames());
  po::options_description desc("engine_bench options");
  // clang-format off
  desc.add_options()
      ("engine", po::value(&flags->engine)->default_value("lsmd"),
       ("store to drive: " + JoinCommas(AvailableEngines())).c_str())
      ("benchmarks", po::value(&benchmarks)->default_value(benchmarks),
       "comma-separated workloads, in order; also sstable_build (the flush path, lsmd only)")
      ("num", po::value(&flags->workload.num)->default_value(1'000'000),
       "entries written by the fills; key range of the reads")
      ("reads", po::value(&flags->workload.reads)->default_value(0),
       "gets for readrandom/readmissing (0: --num)")
      ("scans", po::value(&flags->workload.scans)->default_value(0),
       "seeks for scan100 (0: --num / 10)")
      ("threads", po::value(&flags->workload.threads)->default_value(1),
       "threads for the read workloads (writes use one)")
      ("value-bytes", po::value(&flags->workload.value_bytes)->default_value(100), "value size")
      ("seed", po::value(&flags->workload.seed)->default_value(301), "random seed")
      ("db", po::value(&flags->db),
       "directory to work in; the store lives in DIR/<engine>, which is wiped before each fill "
       "(default: a temporary directory, removed at exit)")
      ("sstable-mib", po::value(&flags->sstable_mib)->default_value(64),
       "MemTable size for sstable_build, in MiB")
      ("sync", po::bool_switch(&flags->sync), "fdatasync every write (default: no sync)")
      ("log-level", po::value(&flags->log_level)->default_value("warn"),
       "lsmd engine log level (its flush/compaction lines are info)")
      ("help,h", "print this help");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "engine_bench: " << e.what() << "\n" << desc;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  flags->benchmarks = SplitCommas(benchmarks);
  for (const std::string& name : flags->benchmarks) {
    if (!IsWorkload(name) && name != "sstable_build") {
      std::cerr << "engine_bench: unknown benchmark '" << name
                << "' (known: " << JoinCommas(WorkloadNames()) << ",sstable_build)\n";
      return 2;
    }
  }
  if (flags->workload.num == 0 || flags->workload.threads < 1 || flags->workload.value_bytes < 0) {
    std::cerr << "engine_bench: --num and --threads must be positive, --value-bytes not negative\n";
    return 2;
  }
  return -1;
}

// Owns the working directory: a temporary one is removed at exit.
class WorkDir {
 public:
  WorkDir() = default;  // Result<WorkDir> needs it
  static Result<WorkDir> Make(const std::string& requested) {
    if (!requested.empty()) {
      std::error_code ec;
      fs::create_directories(requested, ec);
      if (ec) return Status::IOError(requested + ": " + ec.message());
      return WorkDir(requested, false);
    }
    std::string pattern = (fs::temp_directory_path() / "engine_bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return Status::FromErrno(errno, pattern);
    return WorkDir(pattern, true);
  }
  WorkDir(WorkDir&& other) noexcept : path_(std::move(other.path_)), remove_(other.remove_) {
    other.remove_ = false;
  }
  ~WorkDir() {
    std::error_code ec;
    if (remove_) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  WorkDir(std::string path, bool remove) : path_(std::move(path)), remove_(remove) {}
  std::string path_;
  bool remove_ = false;
};

int Fail(const std::string& what, const Status& s) {
  std::fflush(stdout);
  std::cerr << "engine_bench: " << what << ": " << s.ToString() << "\n";
  return 1;
}

int RunBenchmarks(const BenchFlags& flags) {
  auto work = WorkDir::Make(flags.db);
  if (!work.ok()) return Fail("work directory", work.status());
  const std::string store_dir = work->path() + "/" + flags.engine;

  StoreSettings settings;
  settings.sync = flags.sync;
  std::printf("engine_bench: engine=%s keys=16 bytes values=%d bytes entries=%llu threads=%d\n",
              flags.engine.c_str(), flags.workload.value_bytes,
              static_cast<unsigned long long>(flags.workload.num), flags.workload.threads);
  std::printf(
      "settings: write buffer %zu MiB, bloom %d bits/key, no compression, log on, "
      "sync %s; dir %s\n",
      settings.write_buffer_bytes >> 20, settings.bloom_bits_per_key,
      settings.sync ? "every write" : "none", store_dir.c_str());
  std::printf("------------------------------------------------\n");
  std::fflush(stdout);

  std::unique_ptr<BenchStore> store;
  for (const std::string& name : flags.benchmarks) {
    if (name == "sstable_build") {
      if (flags.engine != "lsmd") {
        std::printf("sstable_build: skipped (lsmd's flush path only)\n");
        continue;
      }
      SSTableBuildConfig config;
      config.memtable_bytes = flags.sstable_mib << 20;
      config.value_bytes = flags.workload.value_bytes;
      config.seed = flags.workload.seed;
      auto built = RunSSTableBuild(work->path(), config);
      if (!built.ok()) return Fail(name, built.status());
      std::printf("%s\n", FormatSSTableBuild(*built).c_str());
      std::fflush(stdout);
      continue;
    }
    if (NeedsFreshStore(name) || store == nullptr) {
      store.reset();
      if (NeedsFreshStore(name)) {
        std::error_code ec;
        fs::remove_all(store_dir, ec);
      }
      auto opened = OpenStore(flags.engine, store_dir, settings);
      if (!opened.ok()) return Fail("open " + store_dir, opened.status());
      store = std::move(*opened);
    }
    auto result = RunWorkload(name, store.get(), flags.workload);
    if (!result.ok()) return Fail(name, result.status());
    std::printf("%s\n", FormatResult(*result).c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace lsmd::bench

int main(int argc, char** argv) {
  lsmd::bench::BenchFlags flags;
  const int parsed = lsmd::bench::ParseFlags(argc, argv, &flags);
  if (parsed >= 0) return parsed;
  spdlog::set_level(spdlog::level::from_str(flags.log_level));
  return lsmd::bench::RunBenchmarks(flags);
}
