// The workloads of engine_bench, named and shaped as LevelDB's db_bench:
//
//   fillseq      num puts, keys 0..num-1 in order, into a fresh store
//   fillrandom   num puts, uniformly random keys in [0, num), fresh store
//   overwrite    num puts, random keys, into the store as it is
//   readrandom   reads gets of random keys in [0, num) (present or not)
//   readmissing  reads gets of keys that are never written ("<key>."), so
//                every table's Bloom filter is asked
//   readseq      one pass over every entry in key order
//   scan100      scans seeks to a random key, each reading up to 100 entries
//
// Keys are 16 decimal digits ("%016llu"), values value_bytes of random bytes.
// Writes run on one thread; reads on `threads` threads, splitting the ops.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/engine/store.h"
#include "core/status.h"

namespace lsmd::bench {

struct WorkloadConfig {
  uint64_t num = 1'000'000;
  uint64_t reads = 0;  // readrandom/readmissing ops; 0: num
  uint64_t scans = 0;  // scan100 seeks; 0: num / 10
  int value_bytes = 100;
  int threads = 1;  // for the read workloads
  uint64_t seed = 301;
};

struct WorkloadResult {
  std::string name;
  uint64_t ops = 0;
  uint64_t bytes = 0;         // key + value bytes written or read
  double seconds = 0;         // wall time from the first thread's start to the last's end
  double thread_seconds = 0;  // summed over threads
  uint64_t found = 0;         // gets that found their key (reads only)
  bool counts_found = false;
};

// Every workload name, in the default order.
const std::vector<std::string>& WorkloadNames();
bool IsWorkload(std::string_view name);
// fillseq and fillrandom start from an empty store.
bool NeedsFreshStore(std::string_view name);

Result<WorkloadResult> RunWorkload(std::string_view name, BenchStore* store,
                                   const WorkloadConfig& config);

// One line in db_bench's form:
// "fillrandom   :       2.345 micros/op;   426439 ops/sec;    47.2 MB/s"
std::string FormatResult(const WorkloadResult& result);

}  // namespace lsmd::bench
