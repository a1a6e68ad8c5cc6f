// StdioTransport: the same dispatcher over stdin and stdout, one request line
// in, one reply line out, in order (the sample cases' harness speaks this).
// stdout carries replies only; logs go to stderr.
//
// Requests are handled one at a time, each reply written as soon as it is
// ready, so at end of input nothing is left in flight.
//
// Threading: runs on the calling thread. The process must have SIGINT and
// SIGTERM blocked in every thread; the transport unblocks them only while it
// waits for input, so a signal stops it between requests.
#pragma once

#include <unistd.h>

#include <cstddef>

#include "core/status.h"
#include "proto/dispatcher.h"

namespace lsmd::server {

// Serves until end of input (an unterminated last line is answered too) or
// SIGINT/SIGTERM. A line longer than max_line_bytes gets error 12 and is
// skipped. IOError if reading input or writing a reply fails.
Status RunStdioTransport(proto::Dispatcher& dispatcher, size_t max_line_bytes,
                         int in_fd = STDIN_FILENO, int out_fd = STDOUT_FILENO);

}  // namespace lsmd::server
