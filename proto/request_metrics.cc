#include "proto/request_metrics.h"

#include <utility>

namespace lsmd::proto {
namespace {

template <size_t... I>
std::array<Histogram, sizeof...(I)> MakeLatencyHistograms(std::index_sequence<I...>) {
  return {((void)I, Histogram(kLatencyBucketsUs))...};
}

}  // namespace

RequestMetrics::RequestMetrics()
    : latency_(MakeLatencyHistograms(std::make_index_sequence<kNumMetricCommands>())) {}

RequestMetrics::PortFigures RequestMetrics::Port(MetricPort port) const {
  const PortCounters& c = ports_[static_cast<size_t>(port)];
  return {c.bytes_read.load(std::memory_order_relaxed),
          c.bytes_written.load(std::memory_order_relaxed),
          c.accepted.load(std::memory_order_relaxed), c.refused.load(std::memory_order_relaxed),
          c.open.load(std::memory_order_relaxed)};
}

std::string_view MetricCommandName(MetricCommand command) {
  switch (command) {
    case MetricCommand::kGet: return "get";
    case MetricCommand::kMultiGet: return "mget";
    case MetricCommand::kPut: return "put";
    case MetricCommand::kDelete: return "delete";
    case MetricCommand::kSet: return "set";
    case MetricCommand::kExists: return "exists";
    case MetricCommand::kDel: return "del";
    case MetricCommand::kMultiPut: return "mset";
    case MetricCommand::kGetDelete: return "getdel";
    case MetricCommand::kStrlen: return "strlen";
    case MetricCommand::kIncrement: return "incrby";
    case MetricCommand::kIncrementFloat: return "incrbyfloat";
    case MetricCommand::kAppend: return "append";
    case MetricCommand::kTransaction: return "exec";
    case MetricCommand::kScan: return "scan";
    case MetricCommand::kFlush: return "sstable_flush";
    case MetricCommand::kLookup: return "sstable_lookup";
    case MetricCommand::kCompact: return "compact";
    case MetricCommand::kStats: return "stats";
    case MetricCommand::kOther: break;
  }
  return "other";
}

std::string_view MetricPortName(MetricPort port) {
  switch (port) {
    case MetricPort::kJson: return "json";
    case MetricPort::kResp: return "resp";
    case MetricPort::kStdio: break;
  }
  return "stdio";
}

std::string_view MetricOutcomeName(MetricOutcome outcome) {
  switch (outcome) {
    case MetricOutcome::kOk: return "ok";
    case MetricOutcome::kClientError: return "client_error";
    case MetricOutcome::kUnavailable: return "unavailable";
    case MetricOutcome::kNotFound: return "not_found";
    case MetricOutcome::kEngineError: break;
  }
  return "engine_error";
}

}  // namespace lsmd::proto
