#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <random>
#include <string>
#include <vector>

#include "bench/loadgen/coroutines.h"
#include "bench/loadgen/line_reader.h"
#include "bench/loadgen/wire.h"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace lsmd::loadgen {
namespace {

constexpr auto kAwaitTuple = asio::as_tuple(asio::use_awaitable);

// A request written and not yet answered.
struct Pending {
  OpType op;
  uint64_t slot;     // the key's index among this connection's keys
  uint32_t version;  // put: the version written; get: the version expected
  uint64_t msg_id;
  size_t key_offset;  // into the batch's key buffer
  size_t key_size;
  size_t put_bytes;  // key + value bytes of a put, else 0
};

OpType PickOp(const LoadgenOptions& options, int total_weight, std::mt19937_64& rng) {
  int r = static_cast<int>(rng() % static_cast<uint64_t>(total_weight));
  for (int op = 0; op < kOpTypes; ++op) {
    if (r < options.mix_weights[op]) return static_cast<OpType>(op);
    r -= options.mix_weights[op];
  }
  return OpType::kGet;
}

}  // namespace

asio::awaitable<void> RunLoadConnection(tcp::endpoint endpoint, int index,
                                        const LoadgenOptions& options, RunState& state,
                                        bool keep_put_samples, ConnectionReport* report) {
  tcp::socket socket(co_await asio::this_coro::executor);
  auto [connect_ec] = co_await socket.async_connect(endpoint, kAwaitTuple);
  if (connect_ec) {
    state.Fail(Status::IOError("connect: " + connect_ec.message()));
    state.ConnectionDone();
    co_return;
  }
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  LineReader reader(socket);

  const uint64_t connections = static_cast<uint64_t>(options.connections);
  const uint64_t owned = (options.keys - index + connections - 1) / connections;
  std::vector<uint32_t> versions(owned, 0);  // 0: not put by this run
  int total_weight = 0;
  for (int w : options.mix_weights) total_weight += w;
  std::mt19937_64 rng(options.seed * 1'000'003 + static_cast<uint64_t>(index));

  std::vector<Pending> pending;
  std::string out;
  std::string keys;
  std::string value;
  uint64_t next_msg_id = 1;
  while (true) {
    const int batch = state.Claim(options.pipeline);
    if (batch == 0) break;
    out.clear();
    keys.clear();
    pending.clear();
    for (int i = 0; i < batch; ++i) {
      Pending p;
      p.op = PickOp(options, total_weight, rng);
      p.slot = rng() % owned;
      p.msg_id = next_msg_id++;
      p.key_offset = keys.size();
      AppendKey(static_cast<uint64_t>(index) + p.slot * connections, &keys);
      p.key_size = keys.size() - p.key_offset;
      std::string_view key(keys.data() + p.key_offset, p.key_size);
      if (p.op == OpType::kPut) {
        p.version = ++versions[p.slot];
        value.clear();
        AppendValue(key, p.version, options.value_bytes, &value);
        AppendPutRequest(key, value, p.msg_id, &out);
        p.put_bytes = key.size() + value.size();
      } else {
        p.version = versions[p.slot];
        AppendGetRequest(key, p.msg_id, &out);
        p.put_bytes = 0;
      }
      pending.push_back(p);
    }

    const Clock::time_point sent = Clock::now();
    auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(out), kAwaitTuple);
    if (write_ec) {
      state.Fail(Status::IOError("writing requests: " + write_ec.message()));
      break;
    }
    bool failed = false;
    for (const Pending& p : pending) {
      Result<std::string_view> line = co_await reader.Next();
      const Clock::time_point answered = Clock::now();
      if (!line.ok()) {
        state.Fail(line.status());
        failed = true;
        break;
      }
      ExpectedReply expected;
      expected.op = p.op;
      expected.msg_id = p.msg_id;
      expected.key = std::string_view(keys.data() + p.key_offset, p.key_size);
      expected.version = p.version;
      expected.value_bytes = options.value_bytes;
      Status s = CheckReply(*line, expected);
      if (!s.ok()) {
        state.Fail(s);
        failed = true;
        break;
      }
      const uint64_t latency = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(answered - sent).count());
      report->latency[static_cast<int>(p.op)].Record(latency);
      if (keep_put_samples && p.op == OpType::kPut) {
        report->put_samples.push_back({state.NanosSinceStart(answered), latency});
      }
      state.CountReply(p.op, p.put_bytes);
    }
    if (failed) break;
  }
  socket.close(ignored);
  state.ConnectionDone();
}

}  // namespace lsmd::loadgen
