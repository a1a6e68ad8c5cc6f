// BenchStore: the few operations engine_bench's workloads need, so the same
// workload code drives lsmd, LevelDB and RocksDB. One adapter per engine
// (lsmd_store.cc, leveldb_store.cc, rocksdb_store.cc); the LevelDB and
// RocksDB ones exist only when CMake found those libraries.
//
// Thread safety: every method may be called from several threads at once
// (the read workloads run on --threads threads); each engine is thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lsmd::bench {

// The settings every engine is opened with (docs/BENCHMARKS.md).
struct StoreSettings {
  size_t write_buffer_bytes = 4 << 20;  // MemTable / write buffer
  int bloom_bits_per_key = 10;
  bool sync = false;  // fdatasync every write (false: written to the OS only)
};

class BenchStore {
 public:
  virtual ~BenchStore() = default;

  virtual Status Put(std::string_view key, std::string_view value) = 0;
  // NotFound when absent.
  virtual Status Get(std::string_view key, std::string* value) = 0;
  // Seeks to the first key >= start and reads up to limit entries. *bytes
  // gets the key and value bytes read, *count the entries.
  virtual Status Scan(std::string_view start, size_t limit, size_t* count, size_t* bytes) = 0;
  // Reads every entry in key order; *count and *bytes as for Scan.
  virtual Status ReadAll(size_t* count, size_t* bytes) = 0;
};

// Engines this binary was built with, e.g. {"lsmd", "leveldb", "rocksdb"}.
std::vector<std::string> AvailableEngines();

// Opens (creating) a store of the named engine in dir. InvalidArgument for an
// engine this binary lacks.
Result<std::unique_ptr<BenchStore>> OpenStore(const std::string& engine, const std::string& dir,
                                              const StoreSettings& settings);

// The adapters behind OpenStore.
Result<std::unique_ptr<BenchStore>> OpenLsmdStore(const std::string& dir,
                                                  const StoreSettings& settings);
#ifdef LSMD_BENCH_HAVE_LEVELDB
Result<std::unique_ptr<BenchStore>> OpenLevelDBStore(const std::string& dir,
                                                     const StoreSettings& settings);
#endif
#ifdef LSMD_BENCH_HAVE_ROCKSDB
Result<std::unique_ptr<BenchStore>> OpenRocksDBStore(const std::string& dir,
                                                     const StoreSettings& settings);
#endif

}  // namespace lsmd::bench
