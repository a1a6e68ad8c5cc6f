#include "server/tcp_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <exception>
#include <filesystem>
#include <fstream>
#include <utility>

namespace lsmd::server {
namespace {

using asio::ip::tcp;

constexpr auto kAwaitTuple = asio::as_tuple(asio::use_awaitable);

std::string EndpointString(const tcp::endpoint& endpoint) {
  return HostPort{endpoint.address().to_string(), endpoint.port()}.ToString();
}

// co_spawn completion: coroutines here report errors as values, so an
// exception is a bug (or bad_alloc); log it rather than lose it.
void LogIfException(std::exception_ptr error, std::string_view what) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("{} failed: {}", what, e.what());
  } catch (...) {
    spdlog::error("{} failed with an unknown exception", what);
  }
}

}  // namespace

TcpServer::TcpServer(IoContextPool& pool, TcpServerLimits limits,
                     proto::resp::ClientCounters& clients)
    : pool_(pool),
      limits_(limits),
      clients_(clients),
      strand_(asio::make_strand(pool.Context(0))),
      signals_(strand_, SIGINT, SIGTERM),
      grace_timer_(strand_) {}

Result<size_t> TcpServer::Listen(const HostPort& address, std::string option,
                                 SessionFactory factory, std::shared_ptr<asio::ssl::context> tls) {
  tcp::resolver resolver(pool_.Context(0));
  boost::system::error_code ec;
  auto endpoints = resolver.resolve(address.host, std::to_string(address.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec) {
    return Status::InvalidArgument(option + " " + address.ToString() +
                                   ": cannot resolve the host: " + ec.message());
  }
  auto listener = std::make_unique<Listener>(
      Listener{option, tcp::acceptor(strand_), std::move(factory), std::move(tls)});
  tcp::acceptor& acceptor = listener->acceptor;
  Status failure = Status::IOError(option + " " + address.ToString() + ": no address to bind");
  for (const auto& entry : endpoints) {
    const tcp::endpoint& endpoint = entry.endpoint();
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) {
      listeners_.push_back(std::move(listener));
      return listeners_.size() - 1;
    }
    failure = Status::IOError(option + ": cannot listen on " + EndpointString(endpoint) + ": " +
                              ec.message());
    boost::system::error_code ignored;
    acceptor.close(ignored);
  }
  return failure;
}

tcp::endpoint TcpServer::local_endpoint(size_t listener) const {
  boost::system::error_code ignored;
  return listeners_.at(listener)->acceptor.local_endpoint(ignored);
}

void TcpServer::Start() {
  for (auto& listener : listeners_) {
    asio::co_spawn(strand_, AcceptLoop(*listener),
                   [](std::exception_ptr error) { LogIfException(error, "accept loop"); });
  }
  asio::co_spawn(strand_, WatchSignals(),
                 [](std::exception_ptr error) { LogIfException(error, "signal watch"); });
}

void TcpServer::Stop() {
  asio::post(strand_, [this] {
    if (!stopping_) BeginShutdown();
  });
}

asio::awaitable<void> TcpServer::AcceptLoop(Listener& listener) {
  for (;;) {
    // The socket, and so the connection, lives on the next context.
    auto [ec, socket] = co_await listener.acceptor.async_accept(pool_.Next(), kAwaitTuple);
    if (stopping_) co_return;  // a socket accepted meanwhile is closed unanswered
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Usually out of file descriptors: pause rather than spin.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer pause(strand_, std::chrono::milliseconds(100));
      co_await pause.async_wait(kAwaitTuple);
      continue;
    }
    Admit(tcp::socket(std::move(socket)), listener);
  }
}

namespace {

bool FromLoopback(const tcp::socket& socket) {
  boost::system::error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return false;
  const asio::ip::address address = peer.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).is_loopback();
  }
  return address.is_loopback();
}

constexpr std::string_view kProtectedModeText =
    "lsmd is running in protected mode: no password is set, so only clients on the loopback "
    "interface are served. To serve this client, either set a password (--password-file FILE, "
    "or LSMD_PASSWORD / LSMD_PASSWORD_FILE in a container) and log in with AUTH or "
    "{\"type\":\"auth\",\"password\":\"...\"}, or, if every client that can reach this port "
    "is trusted, start lsmd with --protected-mode no (LSMD_PROTECTED_MODE=no).";

}  // namespace

void TcpServer::Admit(tcp::socket socket, Listener& listener) {
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);  // replies are small and awaited
  // Protected mode holds on the TLS ports too: TLS says nothing of who the
  // client is unless it sent a certificate, and a password is still needed.
  const bool denied = limits_.protected_mode && !FromLoopback(socket);
  std::shared_ptr<ConnectionBase> connection;
  if (listener.tls) {
    connection = std::make_shared<Connection<TlsStream>>(
        TlsStream(std::move(socket), *listener.tls), listener.factory(), limits_.connection);
  } else {
    connection = std::make_shared<Connection<PlainStream>>(std::move(socket), listener.factory(),
                                                           limits_.connection);
  }
  if (denied) {
    clients_.rejected.fetch_add(1, std::memory_order_relaxed);
    if (refusing_ >= kMaxRefusing) return;  // closed by the destructor, unanswered
    spdlog::warn(
        "{}: denied, protected mode (no password is set and the client is not on "
        "loopback)",
        connection->peer());
    ++refusing_;
    asio::co_spawn(connection->executor(), connection->Deny(std::string(kProtectedModeText)),
                   [this, connection](std::exception_ptr error) {
                     LogIfException(error, "denying " + connection->peer());
                     asio::post(strand_, [this] { --refusing_; });
                   });
    return;
  }
  // As Redis counts them: a refused connection is rejected, not received.
  if (connections_.size() >= limits_.max_connections) {
    clients_.rejected.fetch_add(1, std::memory_order_relaxed);
    if (refusing_ >= kMaxRefusing) return;  // closed by the destructor, unanswered
    spdlog::warn("{}: refused, {} connections open (--max-connections {})", connection->peer(),
                 connections_.size(), limits_.max_connections);
    ++refusing_;
    std::string reason =
        "too many open connections (limit " + std::to_string(limits_.max_connections) + ")";
    asio::co_spawn(connection->executor(), connection->Refuse(std::move(reason)),
                   [this, connection](std::exception_ptr error) {
                     LogIfException(error, "refusing " + connection->peer());
                     asio::post(strand_, [this] { --refusing_; });
                   });
    return;
  }

  connections_.insert(connection);
  clients_.accepted.fetch_add(1, std::memory_order_relaxed);
  clients_.connected.store(connections_.size(), std::memory_order_relaxed);
  asio::co_spawn(connection->executor(), connection->Serve(),
                 [this, connection](std::exception_ptr error) {
                   LogIfException(error, "connection " + connection->peer());
                   asio::post(strand_, [this, connection] { OnConnectionDone(connection); });
                 });
}

asio::awaitable<void> TcpServer::WatchSignals() {
  for (;;) {
    auto [ec, signal] = co_await signals_.async_wait(kAwaitTuple);
    if (ec) co_return;  // cancelled: shutdown is complete
    const char* name = signal == SIGINT ? "SIGINT" : "SIGTERM";
    if (!stopping_) {
      spdlog::info("{} received: stopping", name);
      BeginShutdown();
    } else {
      spdlog::warn("{} received again: closing {} connections now", name, connections_.size());
      ForceCloseAll();
    }
    if (connections_.empty()) co_return;
  }
}

void TcpServer::BeginShutdown() {
  stopping_ = true;
  if (on_shutdown_begin_) on_shutdown_begin_();
  boost::system::error_code ignored;
  for (auto& listener : listeners_) listener->acceptor.close(ignored);
  if (connections_.empty()) {
    FinishShutdown();
    return;
  }
  spdlog::info("no longer accepting; waiting for {} connections to finish", connections_.size());
  for (const auto& connection : connections_) connection->Stop();
  grace_timer_.expires_after(limits_.shutdown_grace);
  grace_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;  // every connection finished in time
    spdlog::warn("shutdown grace period over: closing {} connections", connections_.size());
    ForceCloseAll();
  });
}

void TcpServer::ForceCloseAll() {
  for (const auto& connection : connections_) connection->ForceClose();
}

void TcpServer::OnConnectionDone(const std::shared_ptr<ConnectionBase>& connection) {
  connections_.erase(connection);
  clients_.connected.store(connections_.size(), std::memory_order_relaxed);
  if (stopping_ && connections_.empty()) FinishShutdown();
}

void TcpServer::FinishShutdown() {
  // Nothing may stay pending on a context, or its run() would not return.
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  grace_timer_.cancel();
  pool_.Release();
}

Status WritePortFile(const std::string& path, uint16_t port) {
  std::string temp_path = path + ".tmp";
  {
    std::ofstream out(temp_path, std::ios::trunc);
    out << port << '\n';
    out.close();
    if (!out) return Status::IOError("cannot write the port file " + temp_path);
  }
  std::error_code ec;
  std::filesystem::rename(temp_path, path, ec);
  if (ec)
    return Status::IOError("cannot rename " + temp_path + " to " + path + ": " + ec.message());
  return Status::OK();
}

}  // namespace lsmd::server
