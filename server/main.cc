// lsmd: parse options, set up logging, open the engine, serve over TCP (JSON
// lines, and RESP2 with --resp-listen; either over TLS with --tls-listen and
// --tls-resp-listen) or stdio until a signal or end of input, then close the
// engine cleanly.
//
// Exit codes: 0 clean shutdown, 1 runtime failure (the engine would not open
// or close, the address would not bind), 2 bad options (a TLS certificate,
// key or CA file that does not load included).
#include <pthread.h>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>
#include <tuple>
#include <vector>

#include "core/db.h"
#include "proto/dispatcher.h"
#include "proto/executor.h"
#include "proto/json_session.h"
#include "proto/resp/resp_session.h"
#include "server/check_client.h"
#include "server/io_context_pool.h"
#include "server/options.h"
#include "server/stdio_transport.h"
#include "server/tcp_server.h"
#include "server/tls_context.h"

namespace lsmd::server {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

void SetUpLogging(const ServerOptions& options) {
  // Logs never go to stdout: under --stdio it carries replies only.
  spdlog::set_default_logger(spdlog::stderr_color_mt("lsmd"));
  if (!options.log_level.empty()) {
    spdlog::set_level(spdlog::level::from_str(options.log_level));
  } else {
    spdlog::set_level(spdlog::level::info);
    spdlog::cfg::load_env_levels();  // SPDLOG_LEVEL, validated with the options
  }
}

// SIGINT and SIGTERM are blocked before the engine starts its threads, so
// they inherit the mask and a signal never lands on one of them. The TCP
// server unblocks them for its I/O threads (Asio's signal_set takes them);
// the stdio transport unblocks them only while it waits for input.
void SetStopSignalsBlocked(bool blocked) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &signals, nullptr);
}

// Runs handlers until the io_context has no work left. A handler that throws
// (only std::bad_alloc can) is logged and the thread keeps serving.
void RunIoThread(asio::io_context& io) {
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("unexpected exception in an I/O thread: {}", e.what());
    }
  }
}

// What INFO, CONFIG GET and HELLO report on the RESP port.
proto::resp::ServerFacts RespFacts(const ServerOptions& options, uint16_t resp_port) {
  proto::resp::ServerFacts facts;
  facts.lsmd_version = std::string(kVersion);
  facts.tcp_port = resp_port;
  facts.io_threads = options.threads;
  std::error_code ec;
  facts.executable = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  const bool always = options.sync == SyncMode::kAlways;
  // Redis's names where a Redis tool asks (redis-benchmark reads save and
  // appendonly), then lsmd's own settings.
  facts.config = {
      {"save", ""},
      {"appendonly", "yes"},
      {"appendfsync", always ? "always" : "no"},
      {"databases", "1"},
      {"maxclients", std::to_string(options.max_connections)},
      {"port", std::to_string(resp_port)},
      {"bind", options.resp_listen ? options.resp_listen->host : ""},
      {"dir", options.data_dir},
      {"timeout", std::to_string(options.idle_timeout.count())},
      {"protected-mode", options.protected_mode ? "yes" : "no"},
      {"proto-max-bulk-len", std::to_string(options.resp_max_bulk_bytes)},
      {"lsmd-sync", always ? "always" : "none"},
      {"lsmd-memtable-bytes", std::to_string(options.memtable_bytes)},
      {"lsmd-bloom-bits-per-key", std::to_string(options.bloom_bits_per_key)},
      {"lsmd-index-interval", std::to_string(options.index_interval)},
      {"lsmd-max-line-bytes", std::to_string(options.max_line_bytes)},
      {"lsmd-max-reply-bytes", std::to_string(options.max_reply_bytes)},
      {"lsmd-threads", std::to_string(options.threads)},
  };
  return facts;
}

// tls: the TLS ports' context, null without TLS ports.
int ServeTcp(const ServerOptions& options, DB& db, proto::CommandExecutor& executor,
             proto::Dispatcher& dispatcher, const std::shared_ptr<asio::ssl::context>& tls) {
  IoContextPool pool(options.threads);
  const proto::AccessPolicy policy(proto::Passwords{options.password, options.admin_password});
  TcpServerLimits limits;
  limits.max_connections = options.max_connections;
  limits.protected_mode = options.protected_mode && !policy.requires_login();
  limits.connection.idle_timeout = options.idle_timeout;
  limits.connection.send_timeout = options.send_timeout;
  limits.connection.handshake_timeout = options.tls.handshake_timeout;
  proto::resp::ClientCounters clients;
  TcpServer server(pool, limits, clients);
  server.OnShutdownBegin([&db] { db.BeginShutdown(); });

  const size_t max_line_bytes = options.max_line_bytes;
  Result<size_t> json =
      server.Listen(options.listen, "--listen", [&dispatcher, max_line_bytes, &policy] {
        return std::make_unique<proto::JsonLineSession>(dispatcher, max_line_bytes, &policy);
      });
  if (!json.ok()) {
    spdlog::error("{}", json.status().message());
    return json.status().IsInvalidArgument() ? kExitUsage : kExitFailure;
  }
  // Built once the RESP port is bound (INFO reports its number).
  std::unique_ptr<proto::resp::RespShared> resp;
  auto make_resp_shared = [&](uint16_t resp_port) {
    proto::resp::ParserLimits resp_limits;
    resp_limits.max_bulk_bytes = options.resp_max_bulk_bytes;
    resp_limits.max_multibulk_len = options.resp_max_multibulk_len;
    resp_limits.max_inline_bytes = options.resp_max_inline_bytes;
    return std::make_unique<proto::resp::RespShared>(executor, RespFacts(options, resp_port),
                                                     clients, resp_limits, &policy);
  };
  std::optional<size_t> resp_listener;
  if (options.resp_listen) {
    Result<size_t> listener = server.Listen(*options.resp_listen, "--resp-listen", [&resp] {
      return std::make_unique<proto::resp::RespSession>(*resp);
    });
    if (!listener.ok()) {
      spdlog::error("{}", listener.status().message());
      return listener.status().IsInvalidArgument() ? kExitUsage : kExitFailure;
    }
    resp_listener = *listener;
    resp = make_resp_shared(server.local_endpoint(*listener).port());
  }
  // The TLS ports: the same sessions as the plaintext ones, over TLS.
  std::optional<size_t> tls_listener, tls_resp_listener;
  if (tls) {
    if (options.tls.listen) {
      Result<size_t> listener = server.Listen(
          *options.tls.listen, "--tls-listen",
          [&dispatcher, max_line_bytes, &policy] {
            return std::make_unique<proto::JsonLineSession>(dispatcher, max_line_bytes, &policy);
          },
          tls);
      if (!listener.ok()) {
        spdlog::error("{}", listener.status().message());
        return listener.status().IsInvalidArgument() ? kExitUsage : kExitFailure;
      }
      tls_listener = *listener;
    }
    if (options.tls.resp_listen) {
      // INFO and CONFIG GET report the plaintext RESP port; 0 without one.
      if (!resp) resp = make_resp_shared(0);
      Result<size_t> listener = server.Listen(
          *options.tls.resp_listen, "--tls-resp-listen",
          [&resp] { return std::make_unique<proto::resp::RespSession>(*resp); }, tls);
      if (!listener.ok()) {
        spdlog::error("{}", listener.status().message());
        return listener.status().IsInvalidArgument() ? kExitUsage : kExitFailure;
      }
      tls_resp_listener = *listener;
    }
  }

  // Port files last: a reader that sees them may connect at once.
  const asio::ip::tcp::endpoint bound = server.local_endpoint(*json);
  std::string resp_address = "off";
  if (resp_listener) {
    const asio::ip::tcp::endpoint resp_bound = server.local_endpoint(*resp_listener);
    resp_address = HostPort{resp_bound.address().to_string(), resp_bound.port()}.ToString();
    if (!options.resp_port_file.empty()) {
      Status s = WritePortFile(options.resp_port_file, resp_bound.port());
      if (!s.ok()) {
        spdlog::error("{}", s.message());
        return kExitFailure;
      }
    }
  }
  std::string tls_addresses;
  for (auto [listener, port_file, what] :
       {std::tuple{tls_listener, &options.tls.port_file, "JSON lines"},
        std::tuple{tls_resp_listener, &options.tls.resp_port_file, "RESP"}}) {
    if (!listener) continue;
    const asio::ip::tcp::endpoint tls_bound = server.local_endpoint(*listener);
    tls_addresses += std::string(", TLS ") + what + " " +
                     HostPort{tls_bound.address().to_string(), tls_bound.port()}.ToString();
    if (!port_file->empty()) {
      Status s = WritePortFile(*port_file, tls_bound.port());
      if (!s.ok()) {
        spdlog::error("{}", s.message());
        return kExitFailure;
      }
    }
  }
  if (!options.port_file.empty()) {
    Status s = WritePortFile(options.port_file, bound.port());
    if (!s.ok()) {
      spdlog::error("{}", s.message());
      return kExitFailure;
    }
  }
  spdlog::info("lsmd {} listening on {} (JSON lines), RESP {}{}, data dir {}, {}", kVersion,
               HostPort{bound.address().to_string(), bound.port()}.ToString(), resp_address,
               tls_addresses, options.data_dir, options.DescribeSettings());

  server.Start();  // its signal_set is registered: a pending signal is caught
  SetStopSignalsBlocked(false);
  std::vector<std::thread> io_threads;
  for (size_t i = 1; i < pool.size(); ++i) {
    io_threads.emplace_back([&pool, i] { RunIoThread(pool.Context(i)); });
  }
  RunIoThread(pool.Context(0));
  for (std::thread& thread : io_threads) thread.join();
  spdlog::info("every connection closed");
  return kExitOk;
}

int ServeStdio(const ServerOptions& options, proto::Dispatcher& dispatcher) {
  // Not an error: the container image sets LSMD_RESP_LISTEN for everyone.
  if (options.resp_listen) spdlog::warn("--resp-listen is ignored under --stdio");
  if (options.tls.serving()) spdlog::warn("the TLS ports are not opened under --stdio");
  spdlog::info("lsmd {} serving stdin/stdout, data dir {}, {}", kVersion, options.data_dir,
               options.DescribeSettings());
  Status s = RunStdioTransport(dispatcher, options.max_line_bytes);
  if (!s.ok()) {
    spdlog::error("stdio transport stopped: {}", s.ToString());
    return kExitFailure;
  }
  return kExitOk;
}

int Serve(const ServerOptions& options) {
  if (!options.stdio && options.require_password && !options.password && options.protected_mode) {
    spdlog::error(
        "refusing to start without a password (--require-password): set LSMD_PASSWORD or "
        "LSMD_PASSWORD_FILE (a Docker secret), or LSMD_PROTECTED_MODE=no if every client that "
        "can reach the ports is trusted");
    return kExitUsage;
  }
  // Certificates and keys before the data directory: a bad file is a usage
  // error, found without a recovery first.
  std::shared_ptr<asio::ssl::context> tls;
  if (!options.stdio && options.tls.serving()) {
    Result<std::shared_ptr<asio::ssl::context>> made = MakeServerTlsContext(options.tls);
    if (!made.ok()) {
      spdlog::error("{}", made.status().message());
      return made.status().IsInvalidArgument() ? kExitUsage : kExitFailure;
    }
    tls = *made;
  }
  SetStopSignalsBlocked(true);
  std::signal(SIGPIPE, SIG_IGN);  // a vanished client or reader is an error value

  Result<std::unique_ptr<DB>> db = DB::Open(options.ToEngineOptions(), options.data_dir);
  if (!db.ok()) {
    spdlog::error("cannot open the data directory {}: {}{}", options.data_dir,
                  db.status().ToString(),
                  db.status().IsBusy() ? " (is another lsmd using it?)" : "");
    return kExitFailure;
  }
  int exit_code;
  {
    // One executor for every port: a command means the same on each.
    proto::CommandExecutor executor(db->get(), options.max_reply_bytes);
    proto::Dispatcher dispatcher(executor, options.node_id);
    exit_code = options.stdio ? ServeStdio(options, dispatcher)
                              : ServeTcp(options, **db, executor, dispatcher, tls);
  }
  Status closed = (*db)->Close();
  if (!closed.ok()) {
    spdlog::error("closing the engine failed: {}", closed.ToString());
    return kExitFailure;
  }
  spdlog::info("engine closed; lsmd stopped");
  return exit_code;
}

int Main(int argc, char** argv) {
  Result<CommandLine> command_line = ParseCommandLine(argc, argv);
  if (!command_line.ok()) {
    std::fprintf(stderr, "lsmd: %s\nRun 'lsmd --help' to see the options.\n",
                 command_line.status().message().c_str());
    return kExitUsage;
  }
  switch (command_line->command) {
    case Command::kHelp:
      std::fputs(command_line->help_text.c_str(), stdout);
      return kExitOk;
    case Command::kVersion:
      std::printf("lsmd %.*s\n", static_cast<int>(kVersion.size()), kVersion.data());
      return kExitOk;
    case Command::kCheck:
      return RunHealthCheck(command_line->check_target, command_line->options.password,
                            command_line->check_tls ? &command_line->options.tls : nullptr);
    case Command::kServe:
      break;
  }
  SetUpLogging(command_line->options);
  return Serve(command_line->options);
}

}  // namespace
}  // namespace lsmd::server

int main(int argc, char** argv) { return lsmd::server::Main(argc, argv); }
