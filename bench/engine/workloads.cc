#include "bench/engine/workloads.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <latch>
#include <mutex>
#include <random>
#include <thread>

namespace lsmd::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kScanLength = 100;

// "%016llu": 16 bytes, ordered as the numbers are.
class KeyFormatter {
 public:
  std::string_view Format(uint64_t n) {
    std::snprintf(buf_.data(), buf_.size(), "%016llu", static_cast<unsigned long long>(n));
    return std::string_view(buf_.data(), 16);
  }
  // The same key with a "." appended: sorts right after it, never written.
  std::string_view FormatMissing(uint64_t n) {
    Format(n);
    buf_[16] = '.';
    return std::string_view(buf_.data(), 17);
  }

 private:
  std::array<char, 24> buf_{};
};

// Values are slices of one pool of random bytes, so making a value costs
// nothing next to the operation timed (as db_bench's RandomGenerator).
class ValuePool {
 public:
  ValuePool(int value_bytes, uint64_t seed) : value_bytes_(value_bytes) {
    std::mt19937_64 rng(seed);
    pool_.resize(std::max<size_t>(1 << 20, 2 * static_cast<size_t>(value_bytes)));
    for (char& c : pool_) c = static_cast<char>(' ' + rng() % 95);
  }
  std::string_view Next() {
    if (pos_ + value_bytes_ > pool_.size()) pos_ = 0;
    std::string_view value(pool_.data() + pos_, value_bytes_);
    pos_ += value_bytes_;
    return value;
  }

 private:
  const size_t value_bytes_;
  std::string pool_;
  size_t pos_ = 0;
};

// What one thread of a workload did.
struct ThreadTally {
  uint64_t ops = 0;
  uint64_t bytes = 0;
  uint64_t found = 0;
  Clock::time_point start;
  Clock::time_point end;
  Status status;
};

using ThreadBody = std::function<void(int thread, uint64_t ops, ThreadTally* tally)>;

// Runs body on `threads` threads, total_ops split between them, all started
// together; sums their tallies into result.
Status RunThreads(int threads, uint64_t total_ops, const ThreadBody& body, WorkloadResult* result) {
  threads = std::max(1, threads);
  std::vector<ThreadTally> tallies(threads);
  std::latch ready(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    const uint64_t share =
        total_ops / threads + (t < static_cast<int>(total_ops % threads) ? 1 : 0);
    workers.emplace_back([&, t, share] {
      ready.arrive_and_wait();
      ThreadTally& tally = tallies[t];
      tally.start = Clock::now();
      body(t, share, &tally);
      tally.end = Clock::now();
    });
  }
  for (std::thread& w : workers) w.join();

  Clock::time_point first = tallies[0].start;
  Clock::time_point last = tallies[0].end;
  for (const ThreadTally& tally : tallies) {
    if (!tally.status.ok()) return tally.status;
    first = std::min(first, tally.start);
    last = std::max(last, tally.end);
    result->ops += tally.ops;
    result->bytes += tally.bytes;
    result->found += tally.found;
    result->thread_seconds += std::chrono::duration<double>(tally.end - tally.start).count();
  }
  result->seconds = std::chrono::duration<double>(last - first).count();
  return Status::OK();
}

// seed_salt gives fillrandom and overwrite different key sequences.
Status Fill(BenchStore* store, const WorkloadConfig& config, bool sequential, uint64_t seed_salt,
            WorkloadResult* result) {
  auto body = [&](int thread, uint64_t ops, ThreadTally* tally) {
    std::mt19937_64 rng(config.seed + seed_salt);
    ValuePool values(config.value_bytes, config.seed + 1);
    KeyFormatter keys;
    for (uint64_t i = 0; i < ops; ++i) {
      const uint64_t k = sequential ? i : rng() % config.num;
      std::string_view key = keys.Format(k);
      std::string_view value = values.Next();
      tally->status = store->Put(key, value);
      if (!tally->status.ok()) return;
      tally->bytes += key.size() + value.size();
      ++tally->ops;
    }
  };
  return RunThreads(1, config.num, body, result);
}

Status ReadRandom(BenchStore* store, const WorkloadConfig& config, bool missing,
                  WorkloadResult* result) {
  const uint64_t reads = config.reads > 0 ? config.reads : config.num;
  result->counts_found = true;
  auto body = [&](int thread, uint64_t ops, ThreadTally* tally) {
    std::mt19937_64 rng(config.seed + 1000 + thread);
    KeyFormatter keys;
    std::string value;
    for (uint64_t i = 0; i < ops; ++i) {
      const uint64_t k = rng() % config.num;
      std::string_view key = missing ? keys.FormatMissing(k) : keys.Format(k);
      Status s = store->Get(key, &value);
      if (s.ok()) {
        ++tally->found;
        tally->bytes += key.size() + value.size();
      } else if (!s.IsNotFound()) {
        tally->status = s;
        return;
      }
      ++tally->ops;
    }
  };
  return RunThreads(config.threads, reads, body, result);
}

Status ReadSeq(BenchStore* store, const WorkloadConfig& config, WorkloadResult* result) {
  // Each thread reads everything once, as db_bench's readseq does.
  auto body = [&](int thread, uint64_t ops, ThreadTally* tally) {
    size_t count = 0;
    size_t bytes = 0;
    tally->status = store->ReadAll(&count, &bytes);
    tally->ops = count;
    tally->bytes = bytes;
  };
  return RunThreads(config.threads, config.threads, body, result);
}

Status Scan100(BenchStore* store, const WorkloadConfig& config, WorkloadResult* result) {
  const uint64_t scans = config.scans > 0 ? config.scans : std::max<uint64_t>(1, config.num / 10);
  auto body = [&](int thread, uint64_t ops, ThreadTally* tally) {
    std::mt19937_64 rng(config.seed + 2000 + thread);
    KeyFormatter keys;
    for (uint64_t i = 0; i < ops; ++i) {
      size_t count = 0;
      size_t bytes = 0;
      tally->status = store->Scan(keys.Format(rng() % config.num), kScanLength, &count, &bytes);
      if (!tally->status.ok()) return;
      tally->bytes += bytes;
      ++tally->ops;
    }
  };
  return RunThreads(config.threads, scans, body, result);
}

}  // namespace

const std::vector<std::string>& WorkloadNames() {
  static const std::vector<std::string> names = {
      "fillseq", "fillrandom", "overwrite", "readrandom", "readmissing", "readseq", "scan100"};
  return names;
}

bool IsWorkload(std::string_view name) {
  const auto& names = WorkloadNames();
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool NeedsFreshStore(std::string_view name) { return name == "fillseq" || name == "fillrandom"; }

Result<WorkloadResult> RunWorkload(std::string_view name, BenchStore* store,
                                   const WorkloadConfig& config) {
  WorkloadResult result;
  result.name = std::string(name);
  Status s;
  if (name == "fillseq") {
    s = Fill(store, config, /*sequential=*/true, /*seed_salt=*/0, &result);
  } else if (name == "fillrandom") {
    s = Fill(store, config, /*sequential=*/false, /*seed_salt=*/0, &result);
  } else if (name == "overwrite") {
    s = Fill(store, config, /*sequential=*/false, /*seed_salt=*/500, &result);
  } else if (name == "readrandom") {
    s = ReadRandom(store, config, /*missing=*/false, &result);
  } else if (name == "readmissing") {
    s = ReadRandom(store, config, /*missing=*/true, &result);
  } else if (name == "readseq") {
    s = ReadSeq(store, config, &result);
  } else if (name == "scan100") {
    s = Scan100(store, config, &result);
  } else {
    s = Status::InvalidArgument("unknown workload '" + std::string(name) + "'");
  }
  if (!s.ok()) return s;
  return result;
}

std::string FormatResult(const WorkloadResult& result) {
  const double ops = static_cast<double>(std::max<uint64_t>(1, result.ops));
  const double micros_per_op = result.thread_seconds * 1e6 / ops;
  const double ops_per_sec = result.seconds > 0 ? result.ops / result.seconds : 0;
  const double mb_per_sec = result.seconds > 0 ? result.bytes / 1048576.0 / result.seconds : 0;
  char line[256];
  int n = std::snprintf(line, sizeof(line), "%-12s : %11.3f micros/op; %8.0f ops/sec; %7.1f MB/s",
                        result.name.c_str(), micros_per_op, ops_per_sec, mb_per_sec);
  std::string out(line, static_cast<size_t>(n));
  if (result.counts_found) {
    out += " (" + std::to_string(result.found) + " of " + std::to_string(result.ops) + " found)";
  }
  return out;
}

}  // namespace lsmd::bench
