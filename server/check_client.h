// The health check behind `lsmd --check HOST:PORT` (the Docker HEALTHCHECK):
// connect, send one stats request, expect stats_ok.
#pragma once

#include <chrono>

#include "server/options.h"

namespace lsmd::server {

// Returns the process exit code: 0 if lsmd at target answered stats_ok
// within timeout (saying so on stdout), else 1 after printing why to stderr.
int RunHealthCheck(const HostPort& target,
                   std::chrono::milliseconds timeout = std::chrono::seconds(2));

}  // namespace lsmd::server
