// The coroutines beside the load: stats poller, flusher, progress line.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <string>

#include "bench/loadgen/coroutines.h"
#include "bench/loadgen/line_reader.h"
#include "bench/loadgen/wire.h"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace lsmd::loadgen {
namespace {

constexpr auto kAwaitTuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<Status> Connect(tcp::socket& socket, const tcp::endpoint& endpoint) {
  auto [ec] = co_await socket.async_connect(endpoint, kAwaitTuple);
  if (ec) co_return Status::IOError("side connection: " + ec.message());
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  co_return Status::OK();
}

asio::awaitable<void> Sleep(std::chrono::milliseconds ms) {
  asio::steady_timer timer(co_await asio::this_coro::executor, ms);
  co_await timer.async_wait(kAwaitTuple);
}

// Sends one request line and returns its reply line.
asio::awaitable<Result<std::string_view>> RoundTrip(tcp::socket& socket, LineReader& reader,
                                                    const std::string& request) {
  auto [ec, n] = co_await asio::async_write(socket, asio::buffer(request), kAwaitTuple);
  if (ec) co_return Status::IOError("side connection write: " + ec.message());
  Result<std::string_view> line = co_await reader.Next();
  co_return line;
}

}  // namespace

asio::awaitable<void> RunStatsPoller(tcp::endpoint endpoint, const LoadgenOptions& options,
                                     RunState& state, FlushWindows* windows) {
  tcp::socket socket(co_await asio::this_coro::executor);
  Status connected = co_await Connect(socket, endpoint);
  if (!connected.ok()) {
    state.Fail(connected);
    co_return;
  }
  LineReader reader(socket);
  std::string request;
  for (uint64_t msg_id = 1; !state.stopped(); ++msg_id) {
    request.clear();
    AppendStatsRequest(msg_id, &request);
    Result<std::string_view> line = co_await RoundTrip(socket, reader, request);
    if (!line.ok()) {
      state.Fail(line.status());
      co_return;
    }
    Result<StatsSnapshot> snapshot = ParseStatsReply(*line, msg_id);
    if (!snapshot.ok()) {
      state.Fail(snapshot.status());
      co_return;
    }
    windows->AddStatsPoll(state.NanosSinceStart(Clock::now()), *snapshot);
    co_await Sleep(std::chrono::milliseconds(options.stats_poll_ms));
  }
}

asio::awaitable<void> RunFlusher(tcp::endpoint endpoint, const LoadgenOptions& options,
                                 RunState& state, FlushWindows* windows) {
  tcp::socket socket(co_await asio::this_coro::executor);
  Status connected = co_await Connect(socket, endpoint);
  if (!connected.ok()) {
    state.Fail(connected);
    co_return;
  }
  LineReader reader(socket);
  const uint64_t step = static_cast<uint64_t>(options.flush_every_mib * 1048576.0);
  uint64_t next_flush_at = step;
  std::string request;
  for (uint64_t msg_id = 1; !state.stopped();) {
    const uint64_t written = state.put_bytes();
    if (written < next_flush_at) {
      co_await Sleep(std::chrono::milliseconds(1));
      continue;
    }
    // Past several steps at once (a slow flush): flush once, aim at the next.
    next_flush_at = (written / step + 1) * step;
    request.clear();
    AppendFlushRequest(msg_id, &request);
    const Clock::time_point sent = Clock::now();
    Result<std::string_view> line = co_await RoundTrip(socket, reader, request);
    const Clock::time_point answered = Clock::now();
    if (!line.ok()) {
      state.Fail(line.status());
      co_return;
    }
    Status s = CheckFlushReply(*line, msg_id);
    if (!s.ok()) {
      state.Fail(s);
      co_return;
    }
    windows->AddExplicitFlush(state.NanosSinceStart(sent), state.NanosSinceStart(answered));
    ++msg_id;
  }
}

asio::awaitable<void> RunProgress(RunState& state) {
  uint64_t last_total = 0;
  int second = 0;
  auto next = state.start() + std::chrono::seconds(1);
  while (!state.stopped()) {
    co_await Sleep(std::chrono::milliseconds(50));
    if (Clock::now() < next || state.stopped()) continue;
    ++second;
    next += std::chrono::seconds(1);
    const uint64_t puts = state.done(OpType::kPut);
    const uint64_t gets = state.done(OpType::kGet);
    const uint64_t total = puts + gets;
    std::fprintf(stderr, "loadgen: [%3ds] %llu ops/s (put %llu, get %llu done)\n", second,
                 static_cast<unsigned long long>(total - last_total),
                 static_cast<unsigned long long>(puts), static_cast<unsigned long long>(gets));
    last_total = total;
  }
}

}  // namespace lsmd::loadgen
