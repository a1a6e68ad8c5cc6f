#include "bench/engine/store.h"

namespace lsmd::bench {

std::vector<std::string> AvailableEngines() {
  std::vector<std::string> engines = {"lsmd"};
#ifdef LSMD_BENCH_HAVE_LEVELDB
  engines.push_back("leveldb");
#endif
#ifdef LSMD_BENCH_HAVE_ROCKSDB
  engines.push_back("rocksdb");
#endif
  return engines;
}

Result<std::unique_ptr<BenchStore>> OpenStore(const std::string& engine, const std::string& dir,
                                              const StoreSettings& settings) {
  if (engine == "lsmd") return OpenLsmdStore(dir, settings);
#ifdef LSMD_BENCH_HAVE_LEVELDB
  if (engine == "leveldb") return OpenLevelDBStore(dir, settings);
#endif
#ifdef LSMD_BENCH_HAVE_ROCKSDB
  if (engine == "rocksdb") return OpenRocksDBStore(dir, settings);
#endif
  std::string known;
  for (const std::string& name : AvailableEngines()) known += (known.empty() ? "" : ", ") + name;
  return Status::InvalidArgument("engine '" + engine + "' is not built into this engine_bench (" +
                                 known + " are)");
}

}  // namespace lsmd::bench
