// The health check behind `lsmd --check HOST:PORT` (the Docker HEALTHCHECK):
// connect, log in when a password is given (the server's own LSMD_PASSWORD or
// --password-file, so the container's check needs nothing more), send one
// stats request, expect stats_ok. With --check-tls, all of it over TLS: the
// server's certificate must chain to --tls-ca-cert-file (or the system's CAs)
// and name HOST; --tls-cert-file and --tls-key-file are the check's own
// certificate, for a port with --tls-auth-clients.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "server/options.h"

namespace lsmd::server {

// Returns the process exit code: 0 if lsmd at target answered stats_ok
// within timeout (saying so on stdout), else 1 after printing why to stderr.
// tls: null for a plaintext check.
int RunHealthCheck(const HostPort& target, const std::optional<std::string>& password,
                   const TlsOptions* tls,
                   std::chrono::milliseconds timeout = std::chrono::seconds(2));

}  // namespace lsmd::server
