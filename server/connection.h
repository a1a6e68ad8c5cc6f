// Connection: one TCP client, of either protocol, over a plain socket or TLS.
// A coroutine on the socket's executor reads bytes and hands them to the
// connection's Session (the JSON lines or the RESP codec: proto/session.h),
// which frames one request at a time (so a get sees the same connection's
// earlier put); the replies are written in request order, batched: every
// complete request in the input buffer is answered before the batch is
// written.
//
// Memory per connection is bounded: the input holds at most one partial
// request (the session's limit: max_line_bytes, or RESP's bulk limit) plus
// one read, the output at most kMaxOutputBytes plus one reply, and nothing
// more is read until the pending output is written. A client that stops
// reading its replies therefore stops being read.
//
// Streams: Connection<Stream> is instantiated (in connection.cc) for
// PlainStream, a tcp::socket, and TlsStream, an ssl::stream over one. The
// plain path is unchanged by TLS: it is a separate instantiation, and its
// first write is still a non-blocking write_some. A TLS connection does its
// handshake first (closed if it does not finish within
// ConnectionLimits::handshake_timeout) and writes with async writes only.
// TcpServer keeps both kinds as ConnectionBase.
//
// Threading: all state below is owned by the socket's executor (one thread
// at a time). Stop() and ForceClose() may be called from any thread; they
// post to that executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "proto/session.h"

namespace lsmd::server {

namespace asio = boost::asio;

using PlainStream = asio::ip::tcp::socket;
using TlsStream = asio::ssl::stream<asio::ip::tcp::socket>;

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
  // --tls-handshake-timeout: a TLS client whose handshake has not finished
  // this long after it was accepted is closed. TLS ports only.
  std::chrono::milliseconds handshake_timeout{10'000};
};

// What TcpServer sees of a connection, whatever its stream.
class ConnectionBase : public std::enable_shared_from_this<ConnectionBase> {
 public:
  virtual ~ConnectionBase() = default;

  const asio::any_io_executor& executor() const { return executor_; }
  const std::string& peer() const { return peer_; }

  // Serves requests until the client closes, an error, or Stop().
  virtual asio::awaitable<void> Serve() = 0;
  // Answers the session's refusal (JSON error 11, RESP "-ERR max number of
  // clients reached") with `reason` and closes without reading any request.
  virtual asio::awaitable<void> Refuse(std::string reason) = 0;
  // Answers the session's denial (protected mode: JSON error 1004, RESP
  // "-DENIED ...") with `reason` and closes without reading any request.
  virtual asio::awaitable<void> Deny(std::string reason) = 0;

  // Finishes the requests already read, writes their replies, then closes.
  virtual void Stop() = 0;
  // Closes at once (shutdown grace period over, or a second signal).
  virtual void ForceClose() = 0;

 protected:
  ConnectionBase(asio::any_io_executor executor, std::string peer)
      : executor_(std::move(executor)), peer_(std::move(peer)) {}

  const asio::any_io_executor executor_;
  const std::string peer_;  // "ip:port", for logs
};

template <typename Stream>
class Connection final : public ConnectionBase {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // The socket's executor must never run two handlers at once (a strand, or
  // an io_context run by one thread): this object's state lives on it.
  Connection(Stream stream, std::unique_ptr<proto::Session> session, ConnectionLimits limits);

  asio::awaitable<void> Serve() override;
  asio::awaitable<void> Refuse(std::string reason) override;
  asio::awaitable<void> Deny(std::string reason) override;
  void Stop() override;
  void ForceClose() override;

 private:
  std::shared_ptr<Connection> self() {
    return std::static_pointer_cast<Connection>(shared_from_this());
  }
  asio::ip::tcp::socket& socket() {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }

  // TLS: the server side of the handshake, bounded by
  // limits_.handshake_timeout. False (and logged) if it failed. Plain: true.
  asio::awaitable<bool> Handshake();
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
  // Arms send_timer_ for one wait on the client (send_waits_ names it).
  void ArmSendTimer();
  // Closes the connection once it has waited for a request for
  // limits_.idle_timeout; re-arms itself at most once per timeout.
  void WatchIdle();
  // TLS: writes close_notify, so the client sees a clean end of stream, and
  // does not wait for the client's (bounded by limits_.linger). Plain: no-op.
  asio::awaitable<void> SendCloseNotify();
  // Sends FIN (TLS: close_notify first), discards input until the client
  // closes or the linger time passes, then closes.
  asio::awaitable<void> LingerAndClose();
  void CloseSocket();

  static constexpr size_t kReadChunkBytes = 64 * 1024;
  // Replies are written once this much is pending, before more lines are
  // handled: bounds the output even when one read holds many requests.
  static constexpr size_t kMaxOutputBytes = 256 * 1024;

  Stream stream_;
  const std::unique_ptr<proto::Session> session_;
  const ConnectionLimits limits_;

  // Owned by the executor.
  std::string input_;   // read, not yet answered; starts at a request boundary
  std::string output_;  // replies not yet written
  std::vector<char> read_chunk_;
  // One request is in the engine at a time: its reply lands here, and
  // reply_ready_ (never expiring) is cancelled to wake the coroutine.
  std::optional<std::string> deferred_reply_;
  asio::steady_timer reply_ready_;
  bool stopping_ = false;     // Stop() was called: read nothing more
  bool reading_ = false;      // an async_read_some is pending (Stop cancels it)
  bool handshaking_ = false;  // TLS: the handshake is pending (Stop cancels it)
  bool handshake_expired_ = false;
  // The idle watch: last_activity_ is when a read or a write last finished.
  asio::steady_timer idle_timer_;
  std::chrono::steady_clock::time_point last_activity_;
  bool idle_expired_ = false;
  // Armed only while a write waits for the client to read (TLS: for every
  // write).
  asio::steady_timer send_timer_;
  uint64_t send_waits_ = 0;    // which wait the timer is for
  bool send_waiting_ = false;  // an async write is pending
  bool send_expired_ = false;
};

extern template class Connection<PlainStream>;
extern template class Connection<TlsStream>;

}  // namespace lsmd::server
