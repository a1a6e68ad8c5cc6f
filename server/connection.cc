#include "server/connection.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <utility>

namespace lsmd::server {
namespace {

// Note: co_await is never used inside a condition (`if (co_await ...)`,
// `a && co_await b`) in this directory: g++ 12 miscompiles that form and the
// coroutine never resumes. Await into a local first.

// Asio operations complete with (error_code, ...) as values: no exceptions.
constexpr auto kAwaitTuple = asio::as_tuple(asio::use_awaitable);

std::string PeerName(const asio::basic_socket<asio::ip::tcp>& socket) {
  boost::system::error_code ec;
  asio::ip::tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return "unknown peer";
  std::string address = peer.address().to_string();
  if (peer.address().is_v6()) address = "[" + address + "]";
  return address + ":" + std::to_string(peer.port());
}

}  // namespace

template <typename Stream>
Connection<Stream>::Connection(Stream stream, std::unique_ptr<proto::Session> session,
                               ConnectionLimits limits)
    : ConnectionBase(stream.get_executor(), PeerName(stream.lowest_layer())),
      stream_(std::move(stream)),
      session_(std::move(session)),
      limits_(limits),
      read_chunk_(kReadChunkBytes),
      reply_ready_(executor_, asio::steady_timer::time_point::max()),
      idle_timer_(executor_),
      last_activity_(std::chrono::steady_clock::now()),
      send_timer_(executor_) {
  if constexpr (!kTls) {
    // WriteOutput tries a write at once and waits only when it would block.
    boost::system::error_code ignored;
    stream_.non_blocking(true, ignored);
  }
}

// The connection whose request this thread is handing to the dispatcher, if
// any: an engine callback that runs inline (a put committed by this very
// thread under --sync none) finds its connection here and stores the reply
// directly, with no post and no wake-up.
static thread_local const ConnectionBase* t_answering = nullptr;

template <typename Stream>
asio::awaitable<proto::Session::Step> Connection<Stream>::Answer(std::string_view input,
                                                                 bool input_closed) {
  // Capturing only `this` keeps the callback inside std::function's small
  // buffer: no allocation for the (common) inline answer. The connection
  // outlives the callback because this coroutine waits for it below.
  proto::Session::Step step;
  {
    // Cleared on every way out, so no stale pointer outlives the call.
    struct Answering {
      explicit Answering(const ConnectionBase* connection) { t_answering = connection; }
      ~Answering() { t_answering = nullptr; }
    } answering(this);
    step = session_->HandleNext(input, input_closed, &output_, [this](std::string deferred) {
      if (t_answering == this) {
        deferred_reply_ = std::move(deferred);  // inline, on this executor
        return;
      }
      asio::post(executor_, [this, deferred = std::move(deferred)]() mutable {
        deferred_reply_ = std::move(deferred);
        reply_ready_.cancel();
      });
    });
  }
  if (step.outcome != proto::Session::Outcome::kDeferred) co_return step;
  // The callback's post runs on this executor, so it cannot run before this
  // wait is pending; the loop only guards against that assumption breaking.
  while (!deferred_reply_) {
    reply_ready_.expires_at(asio::steady_timer::time_point::max());
    auto [ec] = co_await reply_ready_.async_wait(kAwaitTuple);
    (void)ec;  // operation_aborted is the wake-up
  }
  output_ += *deferred_reply_;
  deferred_reply_.reset();
  co_return step;
}

template <typename Stream>
void Connection<Stream>::WatchIdle() {
  idle_timer_.expires_at(last_activity_ + limits_.idle_timeout);
  idle_timer_.async_wait([self = self()](boost::system::error_code ec) {
    if (ec || !self->socket().is_open()) return;  // cancelled by the close
    if (self->reading_ &&
        std::chrono::steady_clock::now() >= self->last_activity_ + self->limits_.idle_timeout) {
      self->idle_expired_ = true;
      boost::system::error_code ignored;
      self->socket().cancel(ignored);
      return;
    }
    self->WatchIdle();  // busy, or active since: wait from the last activity
  });
}

template <typename Stream>
asio::awaitable<bool> Connection<Stream>::Handshake() {
  if constexpr (!kTls) {
    co_return true;
  } else {
    handshaking_ = true;
    asio::steady_timer deadline(executor_, limits_.handshake_timeout);
    deadline.async_wait([self = self()](boost::system::error_code ec) {
      // Cancelled, or it fired just as the handshake ended.
      if (ec || !self->handshaking_) return;
      self->handshake_expired_ = true;
      boost::system::error_code ignored;
      self->socket().cancel(ignored);
    });
    auto [ec] = co_await stream_.async_handshake(asio::ssl::stream_base::server, kAwaitTuple);
    handshaking_ = false;
    deadline.cancel();
    last_activity_ = std::chrono::steady_clock::now();
    if (!ec) co_return true;
    if (handshake_expired_) {
      spdlog::info("{}: TLS handshake not done within {} ms (--tls-handshake-timeout); closing",
                   peer_, limits_.handshake_timeout.count());
    } else if (!stopping_) {
      // A plaintext client, a client that rejected our certificate, no
      // common protocol version, a missing or untrusted client certificate.
      spdlog::info("{}: TLS handshake failed: {}", peer_, ec.message());
    }
    co_return false;
  }
}

template <typename Stream>
asio::awaitable<void> Connection<Stream>::Serve() {
  spdlog::debug("{}: connected", peer_);
  if (limits_.idle_timeout.count() > 0) WatchIdle();
  bool secured = co_await Handshake();
  if (secured) {
    co_await ServeRequests();
    if constexpr (kTls) {
      // Not to a client that stopped reading: it would only wait.
      if (!send_expired_) co_await SendCloseNotify();
    }
  }
  CloseSocket();
  spdlog::debug("{}: closed", peer_);
}

template <typename Stream>
asio::awaitable<void> Connection<Stream>::SendCloseNotify() {
  if constexpr (kTls) {
    if (!socket().is_open()) co_return;
    // Only ours: marked as if the client's had come, OpenSSL completes the
    // shutdown once ours is written instead of reading for the client's.
    SSL* ssl = stream_.native_handle();
    SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) | SSL_RECEIVED_SHUTDOWN);
    asio::steady_timer deadline(executor_, limits_.linger);
    deadline.async_wait([self = self()](boost::system::error_code ec) {
      boost::system::error_code ignored;
      if (!ec) self->socket().cancel(ignored);
    });
    auto [ec] = co_await stream_.async_shutdown(kAwaitTuple);
    (void)ec;  // the client is gone: nothing more to tell it
    deadline.cancel();
  }
  co_return;  // makes the plain instantiation a coroutine too
}

template <typename Stream>
asio::awaitable<void> Connection<Stream>::ServeRequests() {
  using Outcome = proto::Session::Outcome;
  bool input_closed = false;
  for (;;) {
    // Answer every complete request, in order, one at a time.
    size_t start = 0;
    for (;;) {
      const std::string_view rest(input_.data() + start, input_.size() - start);
      proto::Session::Step step = co_await Answer(rest, input_closed);
      if (step.outcome == Outcome::kNeedMore) break;
      if (step.delay.count() > 0) {
        // A failed login: its reply, and everything after it, waits.
        asio::steady_timer hold(executor_, step.delay);
        co_await hold.async_wait(kAwaitTuple);
      }
      start += step.consumed;
      if (step.outcome == Outcome::kFatal) {
        // The client broke the protocol: the error, then a lingering close.
        spdlog::warn("{}: protocol error; closing the connection", peer_);
        input_.clear();
        bool written = co_await WriteOutput();
        if (written) co_await LingerAndClose();
        co_return;
      }
      if (step.outcome == Outcome::kClose) {
        co_await WriteOutput();
        co_return;
      }
      if (output_.size() >= kMaxOutputBytes) {
        bool written = co_await WriteOutput();
        if (!written) co_return;
      }
      if (start == input_.size()) break;
    }
    input_.erase(0, start);
    if (!output_.empty()) {
      bool written = co_await WriteOutput();
      if (!written) co_return;
    }
    if (stopping_ || input_closed) co_return;

    reading_ = true;
    auto [ec, bytes] = co_await stream_.async_read_some(asio::buffer(read_chunk_), kAwaitTuple);
    reading_ = false;
    last_activity_ = std::chrono::steady_clock::now();
    if (idle_expired_) {
      spdlog::debug("{}: idle for {} ms (--timeout); closing", peer_, limits_.idle_timeout.count());
      co_return;
    }
    input_.append(read_chunk_.data(), bytes);
    if (ec == asio::error::eof && !stopping_) {
      // The client may half-close and still read: answer what it sent, a
      // final unterminated request included where the protocol allows it.
      input_closed = true;
    } else if (ec) {
      if (ec != asio::error::operation_aborted) {
        spdlog::debug("{}: read failed: {}", peer_, ec.message());
      }
      co_return;
    }
  }
}

template <typename Stream>
asio::awaitable<void> Connection<Stream>::Refuse(std::string reason) {
  co_await AnswerOnceAndClose(session_->RefusalReply(reason));
}

template <typename Stream>
asio::awaitable<void> Connection<Stream>::Deny(std::string reason) {
  co_await AnswerOnceAndClose(session_->DeniedReply(reason));
}

template <typename Stream>
asio::awaitable<void> Connection<Stream>::AnswerOnceAndClose(std::string reply) {
  // TLS: the answer goes over TLS too, so the client can read it.
  bool secured = co_await Handshake();
  if (secured) {
    output_ = std::move(reply);
    bool written = co_await WriteOutput();
    if (written) co_await LingerAndClose();
  }
  CloseSocket();
}

template <typename Stream>
void Connection<Stream>::ArmSendTimer() {
  const uint64_t wait = ++send_waits_;
  if (limits_.send_timeout.count() <= 0) return;
  send_timer_.expires_after(limits_.send_timeout);
  send_timer_.async_wait([self = self(), wait](boost::system::error_code timer_ec) {
    // Cancelled, or it fired just as this wait (or an earlier one) ended.
    if (timer_ec || self->send_waits_ != wait || !self->send_waiting_) return;
    self->send_expired_ = true;
    boost::system::error_code ignored;
    self->socket().cancel(ignored);
  });
}

template <typename Stream>
asio::awaitable<bool> Connection<Stream>::WriteOutput() {
  boost::system::error_code ec;
  size_t written = 0;
  if constexpr (!kTls) {
    // Most replies fit the socket buffer: written at once, no timer, no wait.
    written = output_.empty() ? 0 : stream_.write_some(asio::buffer(output_), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) ec.clear();
  }
  // TLS: every write is asynchronous (a record may need several socket
  // writes), each bounded by the send timeout. Plain: only once the client
  // is not keeping up.
  while (!ec && written < output_.size()) {
    // Wait for the client, but not forever.
    ArmSendTimer();
    send_waiting_ = true;
    auto [write_ec, bytes] = co_await stream_.async_write_some(
        asio::buffer(output_.data() + written, output_.size() - written), kAwaitTuple);
    send_waiting_ = false;
    send_timer_.cancel();
    ec = write_ec;
    written += bytes;
  }
  const size_t pending = output_.size() - written;
  output_.clear();
  last_activity_ = std::chrono::steady_clock::now();
  if (ec) {
    if (send_expired_) {
      spdlog::warn(
          "{}: read none of its {} bytes of pending replies for {} ms (--send-timeout); "
          "closing",
          peer_, pending, limits_.send_timeout.count());
    } else if (ec != asio::error::operation_aborted) {
      spdlog::debug("{}: write failed: {}", peer_, ec.message());
    }
    co_return false;
  }
  co_return true;
}

template <typename Stream>
asio::awaitable<void> Connection<Stream>::LingerAndClose() {
  // Closing with unread input would send a reset, which can destroy the
  // reply in flight; read and drop until the client closes or time is up.
  asio::steady_timer deadline(executor_, limits_.linger);
  deadline.async_wait([self = self()](boost::system::error_code ec) {
    if (!ec) self->CloseSocket();
  });
  if constexpr (kTls) co_await SendCloseNotify();
  boost::system::error_code ignored;
  socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  while (socket().is_open()) {
    // TLS too: past close_notify, what the client sends is dropped unread.
    auto [ec, bytes] = co_await socket().async_read_some(asio::buffer(read_chunk_), kAwaitTuple);
    if (ec) break;
  }
  deadline.cancel();
  CloseSocket();
}

template <typename Stream>
void Connection<Stream>::Stop() {
  asio::post(executor_, [self = self()] {
    self->stopping_ = true;
    boost::system::error_code ignored;
    // Only an idle read (or a TLS handshake, which has read no request yet)
    // is cut short; a pending write finishes first.
    if (self->reading_ || self->handshaking_) self->socket().cancel(ignored);
  });
}

template <typename Stream>
void Connection<Stream>::ForceClose() {
  asio::post(executor_, [self = self()] { self->CloseSocket(); });
}

template <typename Stream>
void Connection<Stream>::CloseSocket() {
  idle_timer_.cancel();  // its handler holds a reference to this connection
  if (!socket().is_open()) return;
  boost::system::error_code ignored;
  socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
}

template class Connection<PlainStream>;
template class Connection<TlsStream>;

}  // namespace lsmd::server
