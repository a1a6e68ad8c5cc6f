// loadgen: load over TCP against a running lsmd, with every reply checked.
// See --help and docs/BENCHMARKS.md.
//
//   loadgen --port 7070 --connections 50 --requests 300000 --mix put:100
//   loadgen --port 7070 --mix put:100 --duration 10 --flush-every-mib 8
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdio>
#include <thread>
#include <vector>

#include "bench/loadgen/coroutines.h"
#include "bench/loadgen/flush_windows.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/run_state.h"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace lsmd::loadgen {
namespace {

double Micros(uint64_t nanos) { return nanos / 1000.0; }

// A human line and a RESULT line (key=value, for compare.sh) for one op kind.
void PrintLatency(const char* name, const LatencyHistogram& h, double seconds) {
  const double rate = seconds > 0 ? h.count() / seconds : 0;
  std::printf(
      "%-18s: %9llu ops, %9.0f ops/sec; latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
      name, static_cast<unsigned long long>(h.count()), rate, Micros(h.Percentile(50)),
      Micros(h.Percentile(99)), Micros(h.Percentile(99.9)), Micros(h.max()));
  std::printf(
      "RESULT op=%s ops=%llu seconds=%.3f ops_per_sec=%.0f p50_us=%.1f p99_us=%.1f "
      "p999_us=%.1f max_us=%.1f\n",
      name, static_cast<unsigned long long>(h.count()), seconds, rate, Micros(h.Percentile(50)),
      Micros(h.Percentile(99)), Micros(h.Percentile(99.9)), Micros(h.max()));
}

void PrintFlushSplit(const std::vector<ConnectionReport>& reports, FlushWindows* windows,
                     double seconds) {
  windows->Finish();
  LatencyHistogram during;
  LatencyHistogram outside;
  for (const ConnectionReport& report : reports) {
    for (const PutSample& sample : report.put_samples) {
      (windows->Contains(sample.answered_ns) ? during : outside).Record(sample.latency_ns);
    }
  }
  const double avg_flush_ms =
      windows->explicit_flushes() > 0
          ? windows->explicit_flush_ns() / 1e6 / static_cast<double>(windows->explicit_flushes())
          : 0;
  std::printf(
      "flushes           : %llu sstable_flush sent (avg %.1f ms to reply); %llu stats polls, "
      "%llu saw frozen MemTables; flushes counter +%llu; flushing %.1f%% of the run\n",
      static_cast<unsigned long long>(windows->explicit_flushes()), avg_flush_ms,
      static_cast<unsigned long long>(windows->polls()),
      static_cast<unsigned long long>(windows->polls_seeing_flush()),
      static_cast<unsigned long long>(windows->flushes_seen()),
      seconds > 0 ? 100.0 * windows->flushing_ns() / 1e9 / seconds : 0);
  PrintLatency("put_during_flush", during, seconds);
  PrintLatency("put_no_flush", outside, seconds);
}

int Run(const LoadgenOptions& options) {
  asio::io_context io(options.threads);
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  auto resolved = resolver.resolve(options.host, std::to_string(options.port), ec);
  if (ec || resolved.empty()) {
    std::fprintf(stderr, "loadgen: cannot resolve %s: %s\n", options.host.c_str(),
                 ec.message().c_str());
    return 1;
  }
  const tcp::endpoint endpoint = *resolved.begin();

  char amount[64];
  if (options.requests > 0) {
    std::snprintf(amount, sizeof(amount), "%llu requests",
                  static_cast<unsigned long long>(options.requests));
  } else {
    std::snprintf(amount, sizeof(amount), "%g s", options.duration_seconds);
  }
  std::printf(
      "loadgen: %s:%u, %d connections, pipeline %d, %s, mix %s, %llu keys, %d-byte values\n",
      options.host.c_str(), options.port, options.connections, options.pipeline, amount,
      options.mix_text.c_str(), static_cast<unsigned long long>(options.keys), options.value_bytes);
  std::fflush(stdout);

  const bool split_flushes = options.flush_every_mib > 0 || options.stats_poll_ms > 0;
  RunState state(options, options.connections);
  FlushWindows windows;
  std::vector<ConnectionReport> reports(options.connections);
  for (int i = 0; i < options.connections; ++i) {
    asio::co_spawn(io, RunLoadConnection(endpoint, i, options, state, split_flushes, &reports[i]),
                   asio::detached);
  }
  if (options.stats_poll_ms > 0) {
    asio::co_spawn(io, RunStatsPoller(endpoint, options, state, &windows), asio::detached);
  }
  if (options.flush_every_mib > 0) {
    asio::co_spawn(io, RunFlusher(endpoint, options, state, &windows), asio::detached);
  }
  if (options.progress) asio::co_spawn(io, RunProgress(state), asio::detached);

  std::vector<std::thread> threads;
  for (int t = 1; t < options.threads; ++t) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (std::thread& t : threads) t.join();

  const double seconds = std::chrono::duration<double>(state.end() - state.start()).count();
  std::array<LatencyHistogram, kOpTypes> merged;
  for (const ConnectionReport& report : reports) {
    for (int op = 0; op < kOpTypes; ++op) merged[op].Merge(report.latency[op]);
  }
  LatencyHistogram all;
  for (int op = 0; op < kOpTypes; ++op) {
    all.Merge(merged[op]);
    if (merged[op].count() > 0) {
      PrintLatency(std::string(OpName(static_cast<OpType>(op))).c_str(), merged[op], seconds);
    }
  }
  PrintLatency("total", all, seconds);
  if (split_flushes) PrintFlushSplit(reports, &windows, seconds);

  Status error = state.first_error();
  if (!error.ok()) {
    std::fprintf(stderr, "loadgen: FAILED: %s\n", error.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace lsmd::loadgen

int main(int argc, char** argv) {
  lsmd::loadgen::LoadgenOptions options;
  const int parsed = lsmd::loadgen::ParseLoadgenOptions(argc, argv, &options);
  if (parsed >= 0) return parsed;
  return lsmd::loadgen::Run(options);
}
