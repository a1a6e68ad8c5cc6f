#include "server/stdio_transport.h"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lsmd::server {
namespace {

constexpr size_t kReadChunkBytes = 64 * 1024;

// Set by the signal handler, read by the transport's thread.
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void RecordStopSignal(int signal) { g_stop_signal = signal; }

void InstallStopSignalHandlers() {
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = RecordStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: the wait for input must end with EINTR
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// Waits until in_fd is readable. False if a stop signal came first. The
// signals are unblocked only inside ppoll, so none can slip in between a
// check of the flag and the wait.
bool WaitForInput(int in_fd) {
  sigset_t wait_mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &wait_mask);
  sigdelset(&wait_mask, SIGINT);
  sigdelset(&wait_mask, SIGTERM);
  for (;;) {
    if (g_stop_signal != 0) return false;
    pollfd input{in_fd, POLLIN, 0};
    int ready = ppoll(&input, 1, nullptr, &wait_mask);
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return true;  // let read() report the error
  }
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd output{fd, POLLOUT, 0};
        ::poll(&output, 1, -1);
        continue;
      }
      return Status::FromErrno(errno, "stdout");
    }
    data.remove_prefix(static_cast<size_t>(written));
  }
  return Status::OK();
}

// Handles one line and blocks until its reply, which may come from an
// engine thread.
std::string HandleAndWait(proto::Dispatcher& dispatcher, std::string_view line) {
  auto reply = std::make_shared<std::promise<std::string>>();
  std::future<std::string> ready = reply->get_future();
  dispatcher.Handle(line, [reply](std::string line) { reply->set_value(std::move(line)); });
  return ready.get();
}

class LineServer {
 public:
  LineServer(proto::Dispatcher& dispatcher, size_t max_line_bytes, int out_fd)
      : dispatcher_(dispatcher), max_line_bytes_(max_line_bytes), out_fd_(out_fd) {}

  // Answers every complete line in input_ after appending `data`.
  Status Feed(std::string_view data) {
    input_.append(data);
    size_t line_start = 0;
    size_t newline;
    while ((newline = input_.find('\n', std::max(line_start, scanned_))) != std::string::npos) {
      std::string_view line(input_.data() + line_start, newline - line_start);
      line_start = newline + 1;
      if (skipping_long_line_) {
        skipping_long_line_ = false;  // its tail ends here
        continue;
      }
      Status s = Answer(line);
      if (!s.ok()) return s;
    }
    input_.erase(0, line_start);
    scanned_ = input_.size();
    if (input_.size() > max_line_bytes_) {
      input_.clear();
      scanned_ = 0;
      if (!skipping_long_line_) {
        skipping_long_line_ = true;
        return ReplyLineTooLong();
      }
    }
    return Status::OK();
  }

  // End of input: an unterminated last line is still a request.
  Status Finish() {
    if (input_.empty() || skipping_long_line_) return Status::OK();
    return Feed("\n");
  }

 private:
  Status Answer(std::string_view line) {
    if (line.size() > max_line_bytes_) return ReplyLineTooLong();
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string reply = HandleAndWait(dispatcher_, line);
    reply += '\n';
    return WriteAll(out_fd_, reply);
  }

  Status ReplyLineTooLong() {
    spdlog::warn("stdin: request line longer than {} bytes; skipped", max_line_bytes_);
    std::string reply =
        dispatcher_.ErrorLine(proto::ErrorCode::kMalformedRequest,
                              "line longer than " + std::to_string(max_line_bytes_) + " bytes");
    reply += '\n';
    return WriteAll(out_fd_, reply);
  }

  proto::Dispatcher& dispatcher_;
  const size_t max_line_bytes_;
  const int out_fd_;
  std::string input_;                // starts at a line boundary (or inside a skipped line)
  size_t scanned_ = 0;               // input_[0, scanned_) holds no newline
  bool skipping_long_line_ = false;  // dropping input until the next newline
};

}  // namespace

Status RunStdioTransport(proto::Dispatcher& dispatcher, size_t max_line_bytes, int in_fd,
                         int out_fd) {
  InstallStopSignalHandlers();
  LineServer server(dispatcher, max_line_bytes, out_fd);
  std::vector<char> chunk(kReadChunkBytes);
  for (;;) {
    if (!WaitForInput(in_fd)) {
      spdlog::info("{} received: stopping", g_stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
      return Status::OK();
    }
    ssize_t bytes = ::read(in_fd, chunk.data(), chunk.size());
    if (bytes < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Status::FromErrno(errno, "stdin");
    }
    if (bytes == 0) {
      spdlog::debug("end of input");
      return server.Finish();
    }
    Status s = server.Feed(std::string_view(chunk.data(), static_cast<size_t>(bytes)));
    if (!s.ok()) return s;
  }
}

}  // namespace lsmd::server
