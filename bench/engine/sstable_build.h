// The flush path alone: fill a MemTable to memtable_bytes (accounted as the
// engine accounts it), then time streaming it into an SSTable through
// TableFileWriter on Env::Default() -- exactly what a background flush does
// (DB::Impl::WriteLevel0Table): iterate, Add, Finish (which fdatasyncs the
// file, renames it into place, syncs the directory and opens the table).
// Compared in compare.sh with `dd ... conv=fdatasync` on the same disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace lsmd::bench {

struct SSTableBuildConfig {
  size_t memtable_bytes = 64 << 20;
  int value_bytes = 100;
  int bloom_bits_per_key = 10;
  uint64_t seed = 301;
};

struct SSTableBuildResult {
  uint64_t entries = 0;
  uint64_t memtable_bytes = 0;  // accounted bytes at the end of the fill
  uint64_t file_bytes = 0;
  double fill_seconds = 0;    // not part of the figure: MemTable inserts
  double build_seconds = 0;   // the timed flush path: the two parts below
  double add_seconds = 0;     // iterate the MemTable and Add every entry
  double finish_seconds = 0;  // Finish: index, filter, fdatasync, rename, open
};

// Keys are 16 decimal digits, as engine_bench's. Writes one table into dir (which must exist) and
// removes it afterwards.
Result<SSTableBuildResult> RunSSTableBuild(const std::string& dir,
                                           const SSTableBuildConfig& config);

// "sstable_build: 123.4 MB/s (file 52.8 MiB in 0.487 s = add 0.300 s + finish
// 0.187 s; MemTable 64.0 MiB, 453439 entries, filled in 2.1 s untimed)".
// MB/s is MiB of file written per second.
std::string FormatSSTableBuild(const SSTableBuildResult& result);

}  // namespace lsmd::bench
