// Connection: one TCP client. A coroutine on the socket's executor reads
// newline-delimited request lines, hands them to the Dispatcher one at a time
// (so a get sees the same connection's earlier put) and writes the replies in
// request order, batched: every complete line in the input buffer is answered
// before the batch is written.
//
// Memory per connection is bounded: the input holds at most one partial line
// (max_line_bytes) plus one read, the output at most kMaxOutputBytes plus one
// reply, and nothing more is read until the pending output is written. A
// client that stops reading its replies therefore stops being read.
//
// Threading: all state below is owned by the socket's executor (one thread
// at a time). Stop() and ForceClose() may be called from any thread; they
// post to that executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/dispatcher.h"
#include "proto/errors.h"

namespace lsmd::server {

namespace asio = boost::asio;

struct ConnectionLimits {
  size_t max_line_bytes = 1 << 20;
  // After a fatal error reply (line too long, too many connections) the
  // server stops sending and discards the client's input for this long
  // before closing, so the client reads the reply instead of a reset.
  std::chrono::milliseconds linger{2000};
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // The socket's executor must never run two handlers at once (a strand, or
  // an io_context run by one thread): this object's state lives on it.
  Connection(asio::ip::tcp::socket socket, proto::Dispatcher& dispatcher, ConnectionLimits limits);

  const asio::any_io_executor& executor() { return executor_; }
  std::string peer() const { return peer_; }

  // Serves requests until the client closes, an error, or Stop().
  asio::awaitable<void> Serve();
  // Answers error 11 (temporarily unavailable) with `reason` and closes
  // without reading any request.
  asio::awaitable<void> Refuse(std::string reason);

  // Finishes the requests already read, writes their replies, then closes.
  void Stop();
  // Closes at once (shutdown grace period over, or a second signal).
  void ForceClose();

 private:
  // Serve() without the final close.
  asio::awaitable<void> ServeLines();
  // The reply to one request line. Reads (most requests) are answered
  // inline, without leaving this coroutine; writes wait for the engine's
  // callback, which hands the reply over on this connection's executor.
  asio::awaitable<std::string> Answer(std::string_view line);
  // Answers error 12 after the replies already due, then closes.
  asio::awaitable<void> FailLineTooLong();
  // Writes and clears output_. False if the client is gone.
  asio::awaitable<bool> WriteOutput();
  // Sends FIN, discards input until the client closes or the linger time
  // passes, then closes.
  asio::awaitable<void> LingerAndClose();
  void CloseSocket();

  static constexpr size_t kReadChunkBytes = 64 * 1024;
  // Replies are written once this much is pending, before more lines are
  // handled: bounds the output even when one read holds many requests.
  static constexpr size_t kMaxOutputBytes = 256 * 1024;

  asio::ip::tcp::socket socket_;
  const asio::any_io_executor executor_;
  proto::Dispatcher& dispatcher_;
  const ConnectionLimits limits_;
  const std::string peer_;  // "ip:port", for logs

  // Owned by the executor.
  std::string input_;   // read, not yet answered; starts at a line boundary
  std::string output_;  // replies not yet written
  std::vector<char> read_chunk_;
  // One request is in the engine at a time: its reply lands here, and
  // reply_ready_ (never expiring) is cancelled to wake the coroutine.
  std::optional<std::string> deferred_reply_;
  asio::steady_timer reply_ready_;
  bool stopping_ = false;  // Stop() was called: read nothing more
  bool reading_ = false;   // an async_read_some is pending (Stop cancels it)
};

}  // namespace lsmd::server
