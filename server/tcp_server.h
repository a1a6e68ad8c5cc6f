// TcpServer: the listeners (one per protocol: JSON lines, RESP, and either
// over TLS), the connection limit they share, and graceful shutdown.
//
// Lifecycle: Listen() binds, once per port; Start() begins accepting on every
// listener and waits for SIGINT or
// SIGTERM. The first signal stops accepting and asks every connection to
// answer what it has already read and close; connections still open after the
// grace period (or at a second signal) are closed. When the last connection is
// gone nothing is left on the io_context and its run() calls return, so the
// caller can close the engine.
//
// Threading: the acceptors, the signal set, the grace timer and the
// connection registry are owned by strand_ (on the pool's first context). Each
// connection lives on one context of the pool, run by one thread. A TLS
// listener's ssl::context is shared by its connections; it is only read once
// serving starts.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/status.h"
#include "proto/resp/resp_session.h"
#include "proto/session.h"
#include "server/connection.h"
#include "server/io_context_pool.h"
#include "server/options.h"

namespace lsmd::server {

struct TcpServerLimits {
  size_t max_connections = 1024;
  ConnectionLimits connection;
  // After a stop signal, connections get this long to finish.
  std::chrono::milliseconds shutdown_grace{5000};
  // Protected mode (docs/SECURITY.md): clients not on loopback get one
  // DENIED reply and are closed. Set when no data password is configured.
  bool protected_mode = false;
};

class TcpServer {
 public:
  // Makes the protocol state of one new connection.
  using SessionFactory = std::function<std::unique_ptr<proto::Session>()>;

  // clients: the connection counts INFO reports, kept up to date here.
  TcpServer(IoContextPool& pool, TcpServerLimits limits, proto::resp::ClientCounters& clients);
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  // Resolves and binds one listener whose connections speak what factory's
  // sessions speak; `option` names it in errors ("--listen"). Call once per
  // port, before Start(). InvalidArgument if the host does not resolve,
  // IOError if no address could be bound. Returns the listener's index.
  // With tls, every connection on this port does a TLS handshake first
  // (limits.connection.handshake_timeout) and then speaks over it.
  Result<size_t> Listen(const HostPort& address, std::string option, SessionFactory factory,
                        std::shared_ptr<asio::ssl::context> tls = nullptr);
  // A listener's bound address (its real port when port 0 was asked for).
  asio::ip::tcp::endpoint local_endpoint(size_t listener) const;

  // Called once, on the server's strand, when a stop signal (or Stop())
  // begins the shutdown: main uses it to abandon a running compaction, so a
  // client waiting on `compact` is answered within the grace period. Set
  // before Start().
  void OnShutdownBegin(std::function<void()> hook) { on_shutdown_begin_ = std::move(hook); }

  // Starts accepting and watching for SIGINT/SIGTERM. Call once, after Listen().
  void Start();
  // What a signal does; callable from any thread.
  void Stop();

 private:
  struct Listener {
    std::string option;
    asio::ip::tcp::acceptor acceptor;
    SessionFactory factory;
    std::shared_ptr<asio::ssl::context> tls;  // null: plaintext
  };

  asio::awaitable<void> AcceptLoop(Listener& listener);
  asio::awaitable<void> WatchSignals();
  void Admit(asio::ip::tcp::socket socket, Listener& listener);              // REQUIRES: on strand_
  void BeginShutdown();                                                      // REQUIRES: on strand_
  void ForceCloseAll();                                                      // REQUIRES: on strand_
  void OnConnectionDone(const std::shared_ptr<ConnectionBase>& connection);  // on strand_
  // Nothing is left to serve: cancel the signal watch and timers and let the
  // pool's threads return. REQUIRES: on strand_.
  void FinishShutdown();

  // Connections refused with error 11 that may still be lingering; beyond
  // this many, a refused connection is closed without an answer.
  static constexpr size_t kMaxRefusing = 64;

  IoContextPool& pool_;
  const TcpServerLimits limits_;
  proto::resp::ClientCounters& clients_;
  asio::strand<asio::io_context::executor_type> strand_;

  // Owned by strand_ (filled by Listen() before Start()).
  std::vector<std::unique_ptr<Listener>> listeners_;
  asio::signal_set signals_;
  asio::steady_timer grace_timer_;
  std::unordered_set<std::shared_ptr<ConnectionBase>> connections_;
  size_t refusing_ = 0;
  std::function<void()> on_shutdown_begin_;
  bool stopping_ = false;
};

// Writes "<port>\n" to path through a temporary file and a rename, so a
// reader never sees a partial number.
Status WritePortFile(const std::string& path, uint16_t port);

}  // namespace lsmd::server
