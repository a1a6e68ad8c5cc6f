// Connection: one TCP client, of either protocol. A coroutine on the socket's
// executor reads bytes and hands them to the connection's Session (the JSON
// lines or the RESP codec: proto/session.h), which frames one request at a
// time (so a get sees the same connection's earlier put); the replies are
// written in request order, batched: every complete request in the input
// buffer is answered before the batch is written.
//
// Memory per connection is bounded: the input holds at most one partial
// request (the session's limit: max_line_bytes, or RESP's bulk limit) plus
// one read, the output at most kMaxOutputBytes plus one reply, and nothing
// more is read until the pending output is written. A client that stops
// reading its replies therefore stops being read.
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

#include "proto/session.h"

namespace lsmd::server {

namespace asio = boost::asio;

struct ConnectionLimits {
  // After a fatal error reply (line too long, a RESP protocol error, too
  // many connections) the
  // server stops sending and discards the client's input for this long
  // before closing, so the client reads the reply instead of a reset.
  std::chrono::milliseconds linger{2000};
  // --timeout: a client that sends nothing for this long while the server
  // waits for its next request is closed. 0: never (Redis's default).
  std::chrono::milliseconds idle_timeout{0};
  // --send-timeout: a client whose pending replies make no progress for this
  // long (it stopped reading, its socket buffer is full) is closed. 0: never.
  std::chrono::milliseconds send_timeout{60'000};
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // The socket's executor must never run two handlers at once (a strand, or
  // an io_context run by one thread): this object's state lives on it.
  Connection(asio::ip::tcp::socket socket, std::unique_ptr<proto::Session> session,
             ConnectionLimits limits);

  const asio::any_io_executor& executor() { return executor_; }
  std::string peer() const { return peer_; }

  // Serves requests until the client closes, an error, or Stop().
  asio::awaitable<void> Serve();
  // Answers the session's refusal (JSON error 11, RESP "-ERR max number of
  // clients reached") with `reason` and closes without reading any request.
  asio::awaitable<void> Refuse(std::string reason);
  // Answers the session's denial (protected mode: JSON error 1004, RESP
  // "-DENIED ...") with `reason` and closes without reading any request.
  asio::awaitable<void> Deny(std::string reason);

  // Finishes the requests already read, writes their replies, then closes.
  void Stop();
  // Closes at once (shutdown grace period over, or a second signal).
  void ForceClose();

 private:
  // Writes reply, lingers, closes: the end of Refuse and Deny.
  asio::awaitable<void> AnswerOnceAndClose(std::string reply);
  // Serve() without the final close.
  asio::awaitable<void> ServeRequests();
  // Hands the request at the front of input_ to the session. Reads (most
  // requests) are answered inline, without leaving this coroutine; writes
  // wait for the engine's callback, which hands the reply over on this
  // connection's executor. The reply is appended to output_.
  asio::awaitable<proto::Session::Step> Answer(std::string_view input, bool input_closed);
  // Writes and clears output_. False if the client is gone, or made no
  // progress reading it for limits_.send_timeout.
  asio::awaitable<bool> WriteOutput();
  // Closes the connection once it has waited for a request for
  // limits_.idle_timeout; re-arms itself at most once per timeout.
  void WatchIdle();
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
  const std::unique_ptr<proto::Session> session_;
  const ConnectionLimits limits_;
  const std::string peer_;  // "ip:port", for logs

  // Owned by the executor.
  std::string input_;   // read, not yet answered; starts at a request boundary
  std::string output_;  // replies not yet written
  std::vector<char> read_chunk_;
  // One request is in the engine at a time: its reply lands here, and
  // reply_ready_ (never expiring) is cancelled to wake the coroutine.
  std::optional<std::string> deferred_reply_;
  asio::steady_timer reply_ready_;
  bool stopping_ = false;  // Stop() was called: read nothing more
  bool reading_ = false;   // an async_read_some is pending (Stop cancels it)
  // The idle watch: last_activity_ is when a read or a write last finished.
  asio::steady_timer idle_timer_;
  std::chrono::steady_clock::time_point last_activity_;
  bool idle_expired_ = false;
  // Armed only while a write waits for the client to read.
  asio::steady_timer send_timer_;
  uint64_t send_waits_ = 0;    // which wait the timer is for
  bool send_waiting_ = false;  // an async_write_some is pending
  bool send_expired_ = false;
};

}  // namespace lsmd::server
