// What compare.sh relies on from loadgen's parts: percentiles within their
// stated error, replies checked strictly, flush windows classifying puts.
#include <doctest/doctest.h>

#include <string>

#include "bench/loadgen/flush_windows.h"
#include "bench/loadgen/histogram.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/wire.h"

namespace lsmd::loadgen {
namespace {

std::string Value(std::string_view key, uint32_t version) {
  std::string value;
  AppendValue(key, version, 100, &value);
  return value;
}

std::string GetOk(uint64_t in_reply_to, std::string_view value) {
  return R"({"type": "get_ok", "in_reply_to": )" + std::to_string(in_reply_to) +
         R"(, "msg_id": 7, "found": true, "value": ")" + std::string(value) + R"("})";
}

ExpectedReply ExpectGet(std::string_view key, uint32_t version) {
  ExpectedReply expected;
  expected.op = OpType::kGet;
  expected.msg_id = 3;
  expected.key = key;
  expected.version = version;
  expected.value_bytes = 100;
  return expected;
}

}  // namespace

TEST_CASE("percentiles are within 1.6% of the exact rank's value") {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100'000; ++v) h.Record(v * 1000);  // 1 us .. 100 ms
  CHECK(h.count() == 100'000);
  CHECK(h.max() == 100'000'000);
  for (double p : {50.0, 99.0, 99.9}) {
    const double exact = p / 100.0 * 100'000 * 1000;
    CHECK(static_cast<double>(h.Percentile(p)) >= exact);
    CHECK(static_cast<double>(h.Percentile(p)) <= exact * 1.016);
  }
  CHECK(h.Percentile(100) == h.max());

  LatencyHistogram other;
  other.Record(5);
  h.Merge(other);
  CHECK(h.count() == 100'001);
  CHECK(h.Percentile(0.0001) == 5);
}

TEST_CASE("an empty histogram reports zeros") {
  LatencyHistogram h;
  CHECK(h.Percentile(99) == 0);
  CHECK(h.max() == 0);
}

TEST_CASE("mix weights parse, and nonsense is refused") {
  std::array<int, kOpTypes> w{};
  REQUIRE(ParseMix("put:30,get:70", &w).ok());
  CHECK(w[static_cast<int>(OpType::kPut)] == 30);
  CHECK(w[static_cast<int>(OpType::kGet)] == 70);
  CHECK_FALSE(ParseMix("put:0", &w).ok());
  CHECK_FALSE(ParseMix("scan:5", &w).ok());
  CHECK_FALSE(ParseMix("put:x", &w).ok());
  CHECK_FALSE(ParseMix("put", &w).ok());
}

TEST_CASE("values name their key and version and have the asked size") {
  const std::string v = Value("key:000000000042", 3);
  CHECK(v.size() == 100);
  CHECK(v.rfind("v3:key:000000000042:abc", 0) == 0);
}

TEST_CASE("a get must return the version this connection put last") {
  const std::string key = "key:000000000042";
  CHECK(CheckReply(GetOk(3, Value(key, 2)), ExpectGet(key, 2)).ok());
  CHECK_FALSE(CheckReply(GetOk(3, Value(key, 1)), ExpectGet(key, 2)).ok());  // stale
  CHECK_FALSE(CheckReply(GetOk(4, Value(key, 2)), ExpectGet(key, 2)).ok());  // wrong msg_id
  CHECK_FALSE(CheckReply(R"({"type": "get_ok", "in_reply_to": 3, "msg_id": 7, "found": false})",
                         ExpectGet(key, 2))
                  .ok());
}

TEST_CASE("a key never put by this run may be absent or hold a well-formed value") {
  const std::string key = "key:000000000042";
  CHECK(CheckReply(R"({"type": "get_ok", "in_reply_to": 3, "msg_id": 7, "found": false})",
                   ExpectGet(key, 0))
            .ok());
  CHECK(CheckReply(GetOk(3, Value(key, 9)), ExpectGet(key, 0)).ok());
  CHECK_FALSE(CheckReply(GetOk(3, Value("key:000000000043", 9)), ExpectGet(key, 0)).ok());
  CHECK_FALSE(CheckReply(GetOk(3, "garbage"), ExpectGet(key, 0)).ok());
}

TEST_CASE("error replies and malformed lines fail a put") {
  ExpectedReply put;
  put.op = OpType::kPut;
  put.msg_id = 1;
  CHECK(CheckReply(R"({"type": "put_ok", "in_reply_to": 1, "msg_id": 0})", put).ok());
  CHECK_FALSE(
      CheckReply(R"({"type": "error", "in_reply_to": 1, "msg_id": 0, "code": 11, "text": "x"})",
                 put)
          .ok());
  CHECK_FALSE(CheckReply("not json", put).ok());
  CHECK_FALSE(CheckReply(R"({"type": "put_ok", "msg_id": 0})", put).ok());
}

TEST_CASE("stats replies give the flush counters") {
  auto s = ParseStatsReply(
      R"({"type": "stats_ok", "in_reply_to": 5, "msg_id": 1, "frozen_memtables": 1, "flushes": 4})",
      5);
  REQUIRE(s.ok());
  CHECK(s->frozen_memtables == 1);
  CHECK(s->flushes == 4);
  CHECK_FALSE(ParseStatsReply(R"({"type": "stats_ok", "in_reply_to": 5, "msg_id": 1})", 5).ok());
}

TEST_CASE("flush windows: explicit flushes and polls that saw a flush") {
  FlushWindows w;
  w.AddExplicitFlush(100, 200);
  // Polls at 1000, 1100, 1200, 1300: a frozen MemTable seen at 1100, and the
  // counter moving between 1200 and 1300.
  w.AddStatsPoll(1000, {0, 1});
  w.AddStatsPoll(1100, {1, 1});
  w.AddStatsPoll(1200, {0, 1});
  w.AddStatsPoll(1300, {0, 2});
  w.AddStatsPoll(1400, {0, 2});
  w.Finish();
  CHECK(w.Contains(150));
  CHECK_FALSE(w.Contains(99));
  CHECK_FALSE(w.Contains(500));
  CHECK(w.Contains(1050));  // between the poll before and the one that saw it
  CHECK(w.Contains(1150));  // and up to the next poll
  CHECK(w.Contains(1250));
  CHECK_FALSE(w.Contains(1350));
  CHECK(w.explicit_flushes() == 1);
  CHECK(w.flushes_seen() == 1);
  CHECK(w.polls_seeing_flush() == 1);
  CHECK(w.flushing_ns() == 100 + 300);
}

}  // namespace lsmd::loadgen
