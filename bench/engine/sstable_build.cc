#include "bench/engine/sstable_build.h"

#include <chrono>
#include <cstdio>
#include <random>

#include "core/env.h"
#include "core/filename.h"
#include "core/memtable.h"
#include "core/options.h"
#include "core/table_file.h"

namespace lsmd::bench {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A table number no data directory of this run uses.
constexpr uint64_t kTableNumber = 999;

}  // namespace

Result<SSTableBuildResult> RunSSTableBuild(const std::string& dir,
                                           const SSTableBuildConfig& config) {
  SSTableBuildResult result;
  MemTable mem;
  std::mt19937_64 rng(config.seed);
  char key[32];
  std::string value(config.value_bytes, 'v');
  const auto fill_start = Clock::now();
  uint64_t seq = 0;
  while (mem.ApproximateBytes() < config.memtable_bytes) {
    // Random decimal keys arrive out of order, as a random-write workload's.
    const int key_len =
        std::snprintf(key, sizeof(key), "%016llu",
                      static_cast<unsigned long long>(rng() % 10'000'000'000'000'000ULL));
    for (char& c : value) c = static_cast<char>(' ' + rng() % 95);
    mem.Add(++seq, ValueKind::kPut, std::string_view(key, key_len), value);
  }
  result.fill_seconds = SecondsSince(fill_start);
  result.entries = mem.entries();
  result.memtable_bytes = mem.ApproximateBytes();

  Env* env = Env::Default();
  Options options;
  options.bloom_bits_per_key = config.bloom_bits_per_key;
  const auto build_start = Clock::now();
  auto writer = TableFileWriter::Create(env, dir, options, /*level=*/0, kTableNumber);
  if (!writer.ok()) return writer.status();
  auto it = mem.NewIterator();
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Status s = (*writer)->Add(it->key(), it->kind(), it->value());
    if (!s.ok()) return s;
  }
  result.add_seconds = SecondsSince(build_start);
  const auto finish_start = Clock::now();
  auto table = (*writer)->Finish();
  if (!table.ok()) return table.status();
  result.finish_seconds = SecondsSince(finish_start);
  result.build_seconds = SecondsSince(build_start);
  result.file_bytes = (*table)->meta().size;

  table->reset();
  Status removed = env->RemoveFile(dir + "/" + TableFileName(0, kTableNumber));
  if (!removed.ok()) return removed;
  return result;
}

std::string FormatSSTableBuild(const SSTableBuildResult& result) {
  const double mib = result.file_bytes / 1048576.0;
  char line[256];
  int n = std::snprintf(
      line, sizeof(line),
      "sstable_build: %.1f MB/s (file %.1f MiB in %.3f s = add %.3f s + finish %.3f s; "
      "MemTable %.1f MiB, %llu entries, filled in %.1f s untimed)",
      result.build_seconds > 0 ? mib / result.build_seconds : 0, mib, result.build_seconds,
      result.add_seconds, result.finish_seconds, result.memtable_bytes / 1048576.0,
      static_cast<unsigned long long>(result.entries), result.fill_seconds);
  return std::string(line, static_cast<size_t>(n));
}

}  // namespace lsmd::bench
