// RequestMetrics: what the server counts about requests, whichever port they
// came on: requests by command, port and outcome, latency by command, bytes
// on the wire and connections by port. Recorded on the request path with
// relaxed atomics only (no lock, no allocation); read by a metrics scrape
// (Prometheus text, INFO) at any time, from any thread.
//
// Commands are labelled by the command model (command.h), not by the words
// a codec spells them with: JSON put and RESP SET without options are both
// "put". Requests a codec answers itself (PING, AUTH, INFO, init ...) are
// "other".
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/histogram.h"

namespace lsmd::proto {

enum class MetricCommand : uint8_t {
  kGet,
  kMultiGet,
  kPut,
  kDelete,
  kSet,  // SET with NX / XX / GET, SETNX, GETSET
  kExists,
  kDel,  // DEL / UNLINK: a delete that counts what existed
  kMultiPut,
  kGetDelete,
  kStrlen,
  kIncrement,
  kIncrementFloat,
  kAppend,
  kTransaction,
  kScan,
  kFlush,
  kLookup,
  kCompact,
  kStats,
  kOther,
};
inline constexpr size_t kNumMetricCommands = static_cast<size_t>(MetricCommand::kOther) + 1;

enum class MetricPort : uint8_t { kJson, kResp, kStdio };
inline constexpr size_t kNumMetricPorts = 3;

enum class MetricOutcome : uint8_t {
  kOk,
  kClientError,  // the request was refused: bad arguments, too large, not allowed
  kUnavailable,  // try again: a stall, a shutdown
  kNotFound,     // a named thing does not exist (an SSTable)
  kEngineError,  // I/O error, full disk, corruption
};
inline constexpr size_t kNumMetricOutcomes = 5;

// The label values, as exported ("get", "json", "ok" ...).
std::string_view MetricCommandName(MetricCommand command);
std::string_view MetricPortName(MetricPort port);
std::string_view MetricOutcomeName(MetricOutcome outcome);

class RequestMetrics {
 public:
  RequestMetrics();
  RequestMetrics(const RequestMetrics&) = delete;
  RequestMetrics& operator=(const RequestMetrics&) = delete;

  void RecordRequest(MetricCommand command, MetricPort port, MetricOutcome outcome,
                     uint64_t micros) {
    requests_[Index(command, port, outcome)].fetch_add(1, std::memory_order_relaxed);
    latency_[static_cast<size_t>(command)].Observe(micros);
  }
  void AddBytesRead(MetricPort port, uint64_t n) {
    ports_[static_cast<size_t>(port)].bytes_read.fetch_add(n, std::memory_order_relaxed);
  }
  void AddBytesWritten(MetricPort port, uint64_t n) {
    ports_[static_cast<size_t>(port)].bytes_written.fetch_add(n, std::memory_order_relaxed);
  }
  void ConnectionAccepted(MetricPort port) {
    ports_[static_cast<size_t>(port)].accepted.fetch_add(1, std::memory_order_relaxed);
    ports_[static_cast<size_t>(port)].open.fetch_add(1, std::memory_order_relaxed);
  }
  void ConnectionClosed(MetricPort port) {
    ports_[static_cast<size_t>(port)].open.fetch_sub(1, std::memory_order_relaxed);
  }
  // A connection turned away (too many open, protected mode); it was never
  // counted as accepted.
  void ConnectionRefused(MetricPort port) {
    ports_[static_cast<size_t>(port)].refused.fetch_add(1, std::memory_order_relaxed);
  }

  uint64_t Requests(MetricCommand command, MetricPort port, MetricOutcome outcome) const {
    return requests_[Index(command, port, outcome)].load(std::memory_order_relaxed);
  }
  Histogram::Snapshot Latency(MetricCommand command) const {
    return latency_[static_cast<size_t>(command)].Read();
  }
  struct PortFigures {
    uint64_t bytes_read = 0;
    uint64_t bytes_written = 0;
    uint64_t accepted = 0;
    uint64_t refused = 0;
    int64_t open = 0;
  };
  PortFigures Port(MetricPort port) const;

 private:
  static size_t Index(MetricCommand c, MetricPort p, MetricOutcome o) {
    return (static_cast<size_t>(c) * kNumMetricPorts + static_cast<size_t>(p)) *
               kNumMetricOutcomes +
           static_cast<size_t>(o);
  }
  struct PortCounters {
    std::atomic<uint64_t> bytes_read{0};
    std::atomic<uint64_t> bytes_written{0};
    std::atomic<uint64_t> accepted{0};
    std::atomic<uint64_t> refused{0};
    std::atomic<int64_t> open{0};
  };

  std::array<std::atomic<uint64_t>, kNumMetricCommands * kNumMetricPorts * kNumMetricOutcomes>
      requests_{};
  // One histogram per command (Histogram is neither copyable nor movable:
  // built in place by the constructor).
  std::array<Histogram, kNumMetricCommands> latency_;
  std::array<PortCounters, kNumMetricPorts> ports_{};
};

}  // namespace lsmd::proto
