#include "server/check_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "server/tls_context.h"

namespace lsmd::server {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr auto kAwaitTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kStatsRequest = "{\"type\":\"stats\",\"msg_id\":1}\n";

// The auth line for password (JSON-escaped), then the stats request.
std::string Requests(const std::optional<std::string>& password) {
  if (!password) return std::string(kStatsRequest);
  boost::json::object auth;
  auth["type"] = "auth";
  auth["msg_id"] = 0;
  auth["password"] = *password;
  return boost::json::serialize(auth) + "\n" + std::string(kStatsRequest);
}
constexpr size_t kMaxReplyBytes = 64 << 20;  // stats lists every table

// Why a reply line is not a healthy answer; nullopt if it is `expected`.
std::optional<std::string> JudgeReply(std::string_view line, std::string_view expected) {
  boost::system::error_code ec;
  boost::json::value reply = boost::json::parse(line, ec);
  const boost::json::object* object = ec ? nullptr : reply.if_object();
  if (object == nullptr) return "the reply is not a JSON object: " + std::string(line);
  if (const boost::json::value* body = object->if_contains("body"); body && body->is_object()) {
    object = &body->get_object();  // envelope form
  }
  const boost::json::value* type = object->if_contains("type");
  if (type && type->is_string() && type->get_string() == expected) return std::nullopt;
  return "unexpected reply: " + std::string(line);
}

// The requests and their replies, on a connected (and, for TLS, secured)
// stream. Sets *failure to why the check failed, or to nullopt when it passed.
template <typename Stream>
asio::awaitable<void> Exchange(Stream& stream, const std::optional<std::string>& password,
                               std::optional<std::string>* failure) {
  const std::string requests = Requests(password);
  auto [write_error, written] =
      co_await asio::async_write(stream, asio::buffer(requests), kAwaitTuple);
  if (write_error) {
    *failure = "cannot send the stats request: " + write_error.message();
    co_return;
  }
  std::string replies;
  for (std::string_view expected : {"auth_ok", "stats_ok"}) {
    if (expected == "auth_ok" && !password) continue;
    auto [read_error, line_bytes] = co_await asio::async_read_until(
        stream, asio::dynamic_buffer(replies, kMaxReplyBytes), '\n', kAwaitTuple);
    if (read_error) {
      *failure = "no reply: " + read_error.message();
      co_return;
    }
    *failure = JudgeReply(std::string_view(replies).substr(0, line_bytes - 1), expected);
    if (*failure) co_return;
    replies.erase(0, line_bytes);
  }
}

// Sets *failure to why the check failed, or to nullopt when it passed.
asio::awaitable<void> Probe(HostPort target, std::optional<std::string> password,
                            std::shared_ptr<asio::ssl::context> tls,
                            std::optional<std::string>* failure) {
  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  auto [resolve_error, endpoints] =
      co_await resolver.async_resolve(target.host, std::to_string(target.port), kAwaitTuple);
  if (resolve_error) {
    *failure = "cannot resolve " + target.host + ": " + resolve_error.message();
    co_return;
  }
  tcp::socket socket(executor);
  auto [connect_error, endpoint] = co_await asio::async_connect(socket, endpoints, kAwaitTuple);
  if (connect_error) {
    *failure = "cannot connect: " + connect_error.message();
    co_return;
  }
  if (!tls) {
    co_await Exchange(socket, password, failure);
    co_return;
  }
  asio::ssl::stream<tcp::socket> stream(std::move(socket), *tls);
  boost::system::error_code ec;
  // The certificate must name the host asked for (a DNS name or an IP address).
  stream.set_verify_callback(asio::ssl::host_name_verification(target.host), ec);
  boost::system::error_code not_ip;
  asio::ip::make_address(target.host, not_ip);
  if (!ec && not_ip) {
    // Server Name Indication, for a server behind a TLS proxy.
    SSL_set_tlsext_host_name(stream.native_handle(), target.host.c_str());
  }
  if (ec) {
    *failure = "cannot set up TLS: " + ec.message();
    co_return;
  }
  auto [handshake_error] =
      co_await stream.async_handshake(asio::ssl::stream_base::client, kAwaitTuple);
  if (handshake_error) {
    *failure = "TLS handshake failed: " + handshake_error.message();
    co_return;
  }
  co_await Exchange(stream, password, failure);
}

}  // namespace

int RunHealthCheck(const HostPort& target, const std::optional<std::string>& password,
                   const TlsOptions* tls, std::chrono::milliseconds timeout) {
  std::shared_ptr<asio::ssl::context> tls_context;
  if (tls != nullptr) {
    Result<std::shared_ptr<asio::ssl::context>> made = MakeClientTlsContext(*tls);
    if (!made.ok()) {
      std::fprintf(stderr, "lsmd --check %s: %s\n", target.ToString().c_str(),
                   made.status().message().c_str());
      return 1;
    }
    tls_context = *made;
  }
  std::optional<std::string> failure =
      "no stats reply within " + std::to_string(timeout.count()) + " ms";
  asio::io_context io;
  asio::co_spawn(io, Probe(target, password, tls_context, &failure),
                 [&failure](std::exception_ptr error) {
                   if (error) failure = "the check failed unexpectedly";
                 });
  // Stops at the deadline even if the probe is still waiting.
  io.run_for(timeout);
  if (failure) {
    std::fprintf(stderr, "lsmd --check %s: unhealthy: %s\n", target.ToString().c_str(),
                 failure->c_str());
    return 1;
  }
  std::printf("lsmd at %s is healthy\n", target.ToString().c_str());
  return 0;
}

}  // namespace lsmd::server
