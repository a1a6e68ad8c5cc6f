#include "proto/request_metrics.h"

#include <doctest/doctest.h>

namespace lsmd::proto {
namespace {

TEST_CASE("requests are counted by command, port and outcome") {
  RequestMetrics m;
  m.RecordRequest(MetricCommand::kPut, MetricPort::kResp, MetricOutcome::kOk, 120);
  m.RecordRequest(MetricCommand::kPut, MetricPort::kResp, MetricOutcome::kOk, 80);
  m.RecordRequest(MetricCommand::kPut, MetricPort::kJson, MetricOutcome::kUnavailable, 5);
  CHECK(m.Requests(MetricCommand::kPut, MetricPort::kResp, MetricOutcome::kOk) == 2);
  CHECK(m.Requests(MetricCommand::kPut, MetricPort::kJson, MetricOutcome::kUnavailable) == 1);
  CHECK(m.Requests(MetricCommand::kPut, MetricPort::kJson, MetricOutcome::kOk) == 0);
  CHECK(m.Requests(MetricCommand::kGet, MetricPort::kResp, MetricOutcome::kOk) == 0);
  Histogram::Snapshot latency = m.Latency(MetricCommand::kPut);
  CHECK(latency.count == 3);
  CHECK(latency.sum == 205);
  CHECK(m.Latency(MetricCommand::kGet).count == 0);
}

TEST_CASE("connections and bytes are counted per port") {
  RequestMetrics m;
  m.ConnectionAccepted(MetricPort::kJson);
  m.ConnectionAccepted(MetricPort::kJson);
  m.ConnectionClosed(MetricPort::kJson);
  m.ConnectionRefused(MetricPort::kJson);
  m.AddBytesRead(MetricPort::kJson, 100);
  m.AddBytesWritten(MetricPort::kResp, 7);
  RequestMetrics::PortFigures json = m.Port(MetricPort::kJson);
  CHECK(json.accepted == 2);
  CHECK(json.open == 1);
  CHECK(json.refused == 1);
  CHECK(json.bytes_read == 100);
  CHECK(m.Port(MetricPort::kResp).bytes_written == 7);
}

TEST_CASE("every label value is a distinct Prometheus-safe name") {
  for (size_t i = 0; i < kNumMetricCommands; ++i) {
    std::string_view name = MetricCommandName(static_cast<MetricCommand>(i));
    CHECK(!name.empty());
    for (char c : name) CHECK(((c >= 'a' && c <= 'z') || c == '_'));
    for (size_t j = 0; j < i; ++j) CHECK(name != MetricCommandName(static_cast<MetricCommand>(j)));
  }
  CHECK(MetricPortName(MetricPort::kStdio) == "stdio");
  CHECK(MetricOutcomeName(MetricOutcome::kEngineError) == "engine_error");
}

}  // namespace
}  // namespace lsmd::proto
