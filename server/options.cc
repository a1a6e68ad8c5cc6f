#include "server/options.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <initializer_list>
#include <sstream>
#include <thread>

#include "server/options_help.h"
#include "server/password_file.h"

namespace lsmd::server {
namespace {

namespace po = boost::program_options;

constexpr size_t kMaxMemTableBytes = size_t{1} << 30;  // DB::SetMemTableThreshold's limit

// "data-dir" -> "LSMD_DATA_DIR".
std::string EnvVarName(std::string_view flag) {
  std::string name = "LSMD_";
  for (char c : flag) {
    name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

std::string ToLower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// A value as the user wrote it, and where: "--threads" or "LSMD_THREADS".
struct RawValue {
  std::string text;
  std::string source;

  Status Invalid(std::string_view why) const {
    return Status::InvalidArgument(source + ": '" + text + "' " + std::string(why));
  }
};

// Looks a value option up on the command line, then in the environment.
class RawOptions {
 public:
  explicit RawOptions(const po::variables_map& flags) : flags_(flags) {}

  std::optional<RawValue> Get(const std::string& flag) const {
    if (flags_.count(flag) > 0) {
      return RawValue{flags_[flag].as<std::string>(), "--" + flag};
    }
    return GetFromEnvironment(flag);
  }

  std::optional<RawValue> GetFromEnvironment(const std::string& flag) const {
    std::string env_name = EnvVarName(flag);
    const char* env_value = std::getenv(env_name.c_str());
    // An empty variable counts as unset: compose files often pass "" through.
    if (env_value != nullptr && *env_value != '\0') {
      return RawValue{env_value, env_name + " (--" + flag + ")"};
    }
    return std::nullopt;
  }

 private:
  const po::variables_map& flags_;
};

template <typename T>
Status ParseInteger(const std::optional<RawValue>& raw, int64_t min, int64_t max, T* out) {
  if (!raw) return Status::OK();
  std::string_view text = Trim(raw->text);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return raw->Invalid("is not a whole number");
  }
  if (value < min) return raw->Invalid("must be at least " + std::to_string(min));
  if (value > max) return raw->Invalid("must be at most " + std::to_string(max));
  *out = static_cast<T>(value);
  return Status::OK();
}

Status ParseNonEmpty(const std::optional<RawValue>& raw, std::string* out) {
  if (!raw) return Status::OK();
  if (raw->text.empty()) return raw->Invalid("must not be empty");
  *out = raw->text;
  return Status::OK();
}

Status ParseSyncMode(const std::optional<RawValue>& raw, SyncMode* out) {
  if (!raw) return Status::OK();
  std::string mode = ToLower(Trim(raw->text));
  if (mode == "always") {
    *out = SyncMode::kAlways;
  } else if (mode == "none") {
    *out = SyncMode::kNone;
  } else {
    return raw->Invalid("is not a sync mode (use always or none)");
  }
  return Status::OK();
}

Status ParseWalRecovery(const std::optional<RawValue>& raw, WalRecoveryMode* out) {
  if (!raw) return Status::OK();
  std::string mode = ToLower(Trim(raw->text));
  for (WalRecoveryMode known : {WalRecoveryMode::kTolerateCorruptedTail,
                                WalRecoveryMode::kPointInTime, WalRecoveryMode::kAbsolute}) {
    if (mode == WalRecoveryModeName(known)) {
      *out = known;
      return Status::OK();
    }
  }
  return raw->Invalid("is not a log recovery mode (use tolerate-tail, point-in-time or absolute)");
}

Status ParseSwitch(const std::optional<RawValue>& raw, bool* out) {
  if (!raw) return Status::OK();
  std::string text = ToLower(Trim(raw->text));
  if (text == "1" || text == "true" || text == "yes" || text == "on") {
    *out = true;
  } else if (text == "0" || text == "false" || text == "no" || text == "off") {
    *out = false;
  } else {
    return raw->Invalid("is not a boolean (use 1/0, true/false, yes/no or on/off)");
  }
  return Status::OK();
}

Status ParseAddress(const std::optional<RawValue>& raw, HostPort* out) {
  if (!raw) return Status::OK();
  Result<HostPort> address = ParseHostPort(Trim(raw->text));
  if (!address.ok()) return raw->Invalid(address.status().message());
  *out = *address;
  return Status::OK();
}

Status ParseOptionalAddress(const std::optional<RawValue>& raw, std::optional<HostPort>* out) {
  if (!raw) return Status::OK();
  HostPort address;
  Status s = ParseAddress(raw, &address);
  if (s.ok()) *out = address;
  return s;
}

Status ParseTlsAuthClients(const std::optional<RawValue>& raw, TlsAuthClients* out) {
  if (!raw) return Status::OK();
  std::string mode = ToLower(Trim(raw->text));
  if (mode == "no") {
    *out = TlsAuthClients::kNo;
  } else if (mode == "optional") {
    *out = TlsAuthClients::kOptional;
  } else if (mode == "yes") {
    *out = TlsAuthClients::kYes;
  } else {
    return raw->Invalid("is not a client certificate mode (use yes, no or optional)");
  }
  return Status::OK();
}

constexpr std::string_view kLevelNames = "trace, debug, info, warn, error, critical or off";

bool IsLogLevelName(std::string_view name) {
  for (std::string_view known :
       {"trace", "debug", "info", "warn", "warning", "err", "error", "critical", "off"}) {
    if (name == known) return true;
  }
  return false;
}

// A password from a file named by a flag (or its LSMD_ variable), or from
// the variable `variable` itself (for containers); never from a flag's value,
// which every local user could read in ps.
Status ParsePassword(const std::optional<RawValue>& file, const char* variable,
                     std::optional<std::string>* out) {
  const char* value = std::getenv(variable);
  if (value != nullptr && *value != '\0') {
    if (file) return file->Invalid(std::string("is given and so is ") + variable + ": use one");
    *out = std::string(value);
    return Status::OK();
  }
  if (!file) return Status::OK();
  Result<std::string> password = ReadPasswordFile(file->text);
  if (!password.ok()) return file->Invalid(password.status().message());
  *out = std::move(*password);
  return Status::OK();
}

Status ParseLogLevel(const std::optional<RawValue>& raw, std::string* out) {
  if (!raw) return Status::OK();
  std::string level = ToLower(Trim(raw->text));
  if (!IsLogLevelName(level)) {
    return raw->Invalid("is not a log level (use " + std::string(kLevelNames) + ")");
  }
  *out = level;
  return Status::OK();
}

// SPDLOG_LEVEL is "level" or "logger=level,..."; spdlog itself silently
// ignores names it does not know, so a typo would go unnoticed.
Status ValidateSpdlogLevelVariable() {
  const char* value = std::getenv("SPDLOG_LEVEL");
  if (value == nullptr) return Status::OK();
  std::string_view rest = value;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view entry = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    size_t equals = entry.find('=');
    std::string level =
        ToLower(Trim(equals == std::string_view::npos ? entry : entry.substr(equals + 1)));
    if (Trim(entry).empty()) continue;
    if (!IsLogLevelName(level)) {
      return Status::InvalidArgument("SPDLOG_LEVEL: '" + level + "' is not a log level (use " +
                                     std::string(kLevelNames) + ")");
    }
  }
  return Status::OK();
}

Status ParseValues(const RawOptions& raw, ServerOptions* options) {
  int hardware_threads = static_cast<int>(std::thread::hardware_concurrency());
  options->threads = std::max(1, hardware_threads);
  // Parsed in this order; the first bad value is the one reported.
  for (const Status& status : {
           ParseAddress(raw.Get("listen"), &options->listen),
           ParseOptionalAddress(raw.Get("resp-listen"), &options->resp_listen),
           ParseInteger(raw.Get("resp-max-bulk-bytes"), 1, int64_t{512} << 20,
                        &options->resp_max_bulk_bytes),
           ParseInteger(raw.Get("resp-max-multibulk-len"), 1, int64_t{1} << 30,
                        &options->resp_max_multibulk_len),
           ParseInteger(raw.Get("resp-max-inline-bytes"), 16, int64_t{64} << 20,
                        &options->resp_max_inline_bytes),
           ParseInteger(raw.Get("threads"), 1, 256, &options->threads),
           ParseNonEmpty(raw.Get("data-dir"), &options->data_dir),
           ParseInteger(raw.Get("memtable-bytes"), 1, kMaxMemTableBytes, &options->memtable_bytes),
           ParseInteger(raw.Get("bloom-bits-per-key"), 1, 64, &options->bloom_bits_per_key),
           ParseInteger(raw.Get("index-interval"), 1, 1 << 16, &options->index_interval),
           ParseSyncMode(raw.Get("sync"), &options->sync),
           ParseWalRecovery(raw.Get("wal-recovery"), &options->wal_recovery),
           ParseInteger(raw.Get("max-line-bytes"), 1, int64_t{1} << 30, &options->max_line_bytes),
           ParseInteger(raw.Get("max-reply-bytes"), 1, int64_t{1} << 30, &options->max_reply_bytes),
           ParseInteger(raw.Get("max-connections"), 1, 1 << 20, &options->max_connections),
           ParseNonEmpty(raw.Get("node-id"), &options->node_id),
           ParseLogLevel(raw.Get("log-level"), &options->log_level),
           ParsePassword(raw.Get("password-file"), "LSMD_PASSWORD", &options->password),
           ParsePassword(raw.Get("admin-password-file"), "LSMD_ADMIN_PASSWORD",
                         &options->admin_password),
           ParseSwitch(raw.Get("protected-mode"), &options->protected_mode),
           ParseSwitch(raw.Get("require-password"), &options->require_password),
           ParseOptionalAddress(raw.Get("tls-listen"), &options->tls.listen),
           ParseOptionalAddress(raw.Get("tls-resp-listen"), &options->tls.resp_listen),
           ParseNonEmpty(raw.Get("tls-cert-file"), &options->tls.cert_file),
           ParseNonEmpty(raw.Get("tls-key-file"), &options->tls.key_file),
           ParseNonEmpty(raw.Get("tls-ca-cert-file"), &options->tls.ca_cert_file),
           ParseTlsAuthClients(raw.Get("tls-auth-clients"), &options->tls.auth_clients),
       }) {
    if (!status.ok()) return status;
  }
  if (std::optional<RawValue> port_file = raw.Get("port-file")) {
    options->port_file = port_file->text;
  }
  if (std::optional<RawValue> port_file = raw.Get("resp-port-file")) {
    if (!options->resp_listen) return port_file->Invalid("needs --resp-listen");
    options->resp_port_file = port_file->text;
  }
  Status s;
  if (std::optional<RawValue> port_file = raw.Get("tls-port-file")) {
    if (!options->tls.listen) return port_file->Invalid("needs --tls-listen");
    options->tls.port_file = port_file->text;
  }
  if (std::optional<RawValue> port_file = raw.Get("tls-resp-port-file")) {
    if (!options->tls.resp_listen) return port_file->Invalid("needs --tls-resp-listen");
    options->tls.resp_port_file = port_file->text;
  }
  int64_t handshake_seconds = options->tls.handshake_timeout.count();
  s = ParseInteger(raw.Get("tls-handshake-timeout"), 1, 3600, &handshake_seconds);
  if (!s.ok()) return s;
  options->tls.handshake_timeout = std::chrono::seconds(handshake_seconds);
  int64_t idle_seconds = 0, send_seconds = options->send_timeout.count();
  for (const Status& status : {ParseInteger(raw.Get("timeout"), 0, 31'536'000, &idle_seconds),
                               ParseInteger(raw.Get("send-timeout"), 0, 86'400, &send_seconds)}) {
    if (!status.ok()) return status;
  }
  options->idle_timeout = std::chrono::seconds(idle_seconds);
  options->send_timeout = std::chrono::seconds(send_seconds);
  int64_t delay_ms = 0;
  s = ParseInteger(raw.Get("test-flush-delay-ms"), 0, 600000, &delay_ms);
  if (!s.ok()) return s;
  options->test_flush_delay = std::chrono::milliseconds(delay_ms);
  if (options->log_level.empty()) return ValidateSpdlogLevelVariable();
  return Status::OK();
}

// The TLS settings a server needs, checked only when it serves (--check
// reads the same files as its client side, with no TLS port).
Status ValidateTlsForServing(const RawOptions& raw, const TlsOptions& tls) {
  std::optional<RawValue> cert = raw.Get("tls-cert-file"), key = raw.Get("tls-key-file");
  std::optional<RawValue> ca = raw.Get("tls-ca-cert-file"), auth = raw.Get("tls-auth-clients");
  if (!tls.serving()) {
    for (const std::optional<RawValue>* given : {&cert, &key, &ca, &auth}) {
      if (*given) return (*given)->Invalid("needs --tls-listen or --tls-resp-listen");
    }
    return Status::OK();
  }
  std::optional<RawValue> port = raw.Get("tls-listen");
  if (!port) port = raw.Get("tls-resp-listen");
  if (!cert) return port->Invalid("needs --tls-cert-file (and --tls-key-file)");
  if (!key) return cert->Invalid("needs --tls-key-file");
  if (tls.auth_clients != TlsAuthClients::kNo && !ca) {
    return auth->Invalid("needs --tls-ca-cert-file (the CA that signs client certificates)");
  }
  return Status::OK();
}

}  // namespace

std::string HostPort::ToString() const {
  bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<HostPort> ParseHostPort(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return Status::InvalidArgument("is not HOST:PORT");
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return Status::InvalidArgument("is not HOST:PORT (write an IPv6 address as [ADDR]:PORT)");
  }
  if (host.empty()) return Status::InvalidArgument("is not HOST:PORT (the host is missing)");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return Status::InvalidArgument("is not HOST:PORT (the port must be 0..65535)");
  }
  return HostPort{std::string(host), static_cast<uint16_t>(port)};
}

Options ServerOptions::ToEngineOptions() const {
  Options engine;
  engine.memtable_bytes = memtable_bytes;
  engine.bloom_bits_per_key = bloom_bits_per_key;
  engine.index_interval = index_interval;
  engine.sync = sync;
  engine.wal_recovery = wal_recovery;
  engine.test_flush_delay = test_flush_delay;
  return engine;
}

std::string ServerOptions::DescribeSettings() const {
  std::ostringstream out;
  out << "threads=" << threads << " memtable_bytes=" << memtable_bytes
      << " bloom_bits_per_key=" << bloom_bits_per_key << " index_interval=" << index_interval
      << " sync=" << (sync == SyncMode::kAlways ? "always" : "none")
      << " wal_recovery=" << WalRecoveryModeName(EffectiveWalRecovery(wal_recovery, sync))
      << " max_line_bytes=" << max_line_bytes << " max_reply_bytes=" << max_reply_bytes
      << " max_connections=" << max_connections << " timeout=" << idle_timeout.count()
      << " send_timeout=" << send_timeout.count() << " password=" << (password ? "set" : "none")
      << " admin_password=" << (admin_password ? "set" : "none")
      << " protected_mode=" << (protected_mode ? "yes" : "no");
  if (tls.serving()) {
    const char* auth = tls.auth_clients == TlsAuthClients::kYes        ? "yes"
                       : tls.auth_clients == TlsAuthClients::kOptional ? "optional"
                                                                       : "no";
    out << " tls_auth_clients=" << auth
        << " tls_handshake_timeout=" << tls.handshake_timeout.count();
  }
  if (resp_listen) {
    out << " resp_max_bulk_bytes=" << resp_max_bulk_bytes
        << " resp_max_multibulk_len=" << resp_max_multibulk_len
        << " resp_max_inline_bytes=" << resp_max_inline_bytes;
  }
  out << " node_id=" << node_id;
  if (test_flush_delay.count() > 0) out << " test_flush_delay_ms=" << test_flush_delay.count();
  return out.str();
}

Result<CommandLine> ParseCommandLine(int argc, const char* const* argv) {
  po::options_description desc = Describe();
  po::variables_map flags;
  try {
    // No positional arguments: a stray word is an error, not silently dropped.
    po::positional_options_description no_positionals;
    po::store(po::command_line_parser(argc, argv).options(desc).positional(no_positionals).run(),
              flags);
    po::notify(flags);
  } catch (const po::error& e) {
    return Status::InvalidArgument(e.what());
  }

  CommandLine command_line;
  if (flags.count("help") > 0) {
    command_line.command = Command::kHelp;
    command_line.help_text = HelpText(desc);
    return command_line;
  }
  if (flags.count("version") > 0) {
    command_line.command = Command::kVersion;
    return command_line;
  }
  RawOptions raw(flags);
  Status s = ParseValues(raw, &command_line.options);
  if (!s.ok()) return s;
  if (flags.count("stdio") > 0) {
    command_line.options.stdio = true;
  } else {
    s = ParseSwitch(raw.GetFromEnvironment("stdio"), &command_line.options.stdio);
    if (!s.ok()) return s;
  }
  // --check is never read from the environment: a container's LSMD_* settings
  // must not turn the server itself into a health check.
  if (flags.count("check") > 0) {
    RawValue check{flags["check"].as<std::string>(), "--check"};
    s = ParseAddress(check, &command_line.check_target);
    if (!s.ok()) return s;
    command_line.command = Command::kCheck;
    command_line.check_tls = flags.count("check-tls") > 0;
    const TlsOptions& tls = command_line.options.tls;
    if (command_line.check_tls && tls.cert_file.empty() != tls.key_file.empty()) {
      return Status::InvalidArgument(
          "--check-tls: a client certificate needs both --tls-cert-file and --tls-key-file");
    }
    return command_line;
  }
  if (flags.count("check-tls") > 0) return Status::InvalidArgument("--check-tls needs --check");
  s = ValidateTlsForServing(raw, command_line.options.tls);
  if (!s.ok()) return s;
  return command_line;
}

}  // namespace lsmd::server
