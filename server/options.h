// ServerOptions: everything `lsmd` can be told at start, from flags or from
// LSMD_<NAME> environment variables (a flag wins over its variable). Values
// are validated here, once, so the rest of the server can trust them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/options.h"
#include "core/status.h"

namespace lsmd::server {

inline constexpr std::string_view kVersion = "0.1.0";

struct HostPort {
  std::string host;
  uint16_t port = 0;

  // "127.0.0.1:7070", "[::1]:7070".
  std::string ToString() const;
};

// Parses "HOST:PORT" or "[IPV6]:PORT"; PORT is 0..65535.
Result<HostPort> ParseHostPort(std::string_view text);

// docs/SECURITY.md, "TLS": the TLS ports and what they verify.
enum class TlsAuthClients {
  kNo,        // no client certificate is asked for
  kOptional,  // asked for; a client may send none, but one it sends must verify
  kYes,       // required: a client without a certificate signed by the CA is refused
};

struct TlsOptions {
  std::string cert_file;     // PEM certificate chain (the server's; --check's own)
  std::string key_file;      // PEM private key for cert_file
  std::string ca_cert_file;  // PEM CAs: client certificates are checked against
                             // them; --check-tls checks the server's
  TlsAuthClients auth_clients = TlsAuthClients::kNo;
  // JSON lines and RESP over TLS; neither unless asked for.
  std::optional<HostPort> listen;
  std::optional<HostPort> resp_listen;
  std::string port_file;       // empty: none written
  std::string resp_port_file;  // empty: none written
  std::chrono::seconds handshake_timeout{10};

  bool serving() const { return listen || resp_listen; }
};

struct ServerOptions {
  HostPort listen{"127.0.0.1", 7070};
  std::string port_file;  // empty: none written
  // The Redis protocol port; none unless asked for.
  std::optional<HostPort> resp_listen;
  std::string resp_port_file;  // empty: none written
  // RESP limits (Redis's defaults); a bulk never exceeds the engine's value
  // limit, proto::kMaxValueBytes (512 MiB).
  size_t resp_max_bulk_bytes = size_t{512} << 20;
  size_t resp_max_multibulk_len = 1024 * 1024;
  size_t resp_max_inline_bytes = 64 * 1024;
  int threads = 1;  // I/O threads; defaults to the hardware's cores
  std::string data_dir = "./lsmd-data";
  size_t memtable_bytes = 4 << 20;
  int bloom_bits_per_key = 10;
  int index_interval = 16;
  SyncMode sync = SyncMode::kAlways;
  // kDefault: resolved against sync (core/options.h).
  WalRecoveryMode wal_recovery = WalRecoveryMode::kDefault;
  size_t max_line_bytes = 1 << 20;
  // The keys and values one reply may carry, both ports
  // (proto::kDefaultMaxReplyBytes; proto/command.h's ReplyBudget).
  size_t max_reply_bytes = size_t{64} << 20;
  size_t max_connections = 1024;
  // Close a client idle this long (0: never), or one that reads none of its
  // pending replies for send_timeout (0: never).
  std::chrono::seconds idle_timeout{0};
  std::chrono::seconds send_timeout{60};
  // docs/SECURITY.md. The data password (logins on both ports), and the
  // admin one for compact and threshold changes; never logged.
  std::optional<std::string> password;
  std::optional<std::string> admin_password;
  // Without a data password, serve only loopback clients.
  bool protected_mode = true;
  // Refuse to start serving TCP without a data password unless protected
  // mode was turned off (the Docker image sets it: there every client comes
  // from outside the container's loopback).
  bool require_password = false;
  TlsOptions tls;
  std::string node_id = "n1";
  // Empty: SPDLOG_LEVEL (already validated) or "info".
  std::string log_level;
  bool stdio = false;
  std::chrono::milliseconds test_flush_delay{0};

  Options ToEngineOptions() const;
  // "memtable_bytes=4194304 bloom_bits_per_key=10 ..." for the start line.
  std::string DescribeSettings() const;
};

enum class Command {
  kServe,    // run the server (TCP or --stdio)
  kHelp,     // print help_text to stdout, exit 0
  kVersion,  // print the version, exit 0
  kCheck,    // health check against check_target
};

struct CommandLine {
  Command command = Command::kServe;
  ServerOptions options;
  HostPort check_target;
  bool check_tls = false;  // --check-tls: the check speaks TLS (options.tls)
  std::string help_text;
};

// Reads argv and the LSMD_* environment. A bad value is InvalidArgument with
// a message naming the option (and the variable, when it came from one).
Result<CommandLine> ParseCommandLine(int argc, const char* const* argv);

}  // namespace lsmd::server
