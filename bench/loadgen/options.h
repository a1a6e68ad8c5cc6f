// LoadgenOptions: what loadgen is told on its command line (see --help and
// docs/BENCHMARKS.md), validated once here.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace lsmd::loadgen {

enum class OpType { kPut = 0, kGet = 1 };
inline constexpr int kOpTypes = 2;
std::string_view OpName(OpType op);

struct LoadgenOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 7070;
  int connections = 50;
  int pipeline = 1;       // requests in flight per connection
  uint64_t requests = 0;  // total over all connections (0 with duration 0: 100000)
  double duration_seconds = 0;
  std::array<int, kOpTypes> mix_weights = {50, 50};  // by OpType
  std::string mix_text = "put:50,get:50";
  uint64_t keys = 100'000;  // key space, split between the connections
  int value_bytes = 100;
  int threads = 1;  // threads running the connections
  // >0: send sstable_flush after every this many MiB of acknowledged puts,
  // poll stats, and split put latencies by whether a flush was running.
  double flush_every_mib = 0;
  // >0: poll stats every this many ms and count a flush as running while
  // frozen_memtables > 0 or the flushes counter moved (on with flush_every_mib).
  int stats_poll_ms = 0;
  bool progress = true;
  uint64_t seed = 1;
};

// Parses argv. Returns the exit code to stop with (0 after --help, 2 on a bad
// flag), or -1 to run.
int ParseLoadgenOptions(int argc, char** argv, LoadgenOptions* options);

// "put:50,get:50" -> weights; InvalidArgument on unknown ops or no weight.
Status ParseMix(std::string_view text, std::array<int, kOpTypes>* weights);

}  // namespace lsmd::loadgen
