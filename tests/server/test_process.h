// Helpers for the server tests: temporary directories, the real lsmd binary
// as a child process, a line-oriented TCP client, and request and reply
// JSON. Every wait is bounded so a hung server fails a test instead of
// blocking CI, and every destructor cleans up (a child still running is
// killed and reaped).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace lsmd::test {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;
using namespace std::chrono_literals;

inline int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

inline std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "lsmd-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A child process with stdin, stdout and stderr redirected to files. The
// child gets this process's environment minus LSMD_* and SPDLOG_LEVEL (so a
// developer's settings cannot change a test), plus `extra_env`.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& stdin_path,
               const std::string& stdout_path, const std::string& stderr_path,
               const std::vector<std::string>& extra_env = {}) {
    std::vector<std::string> env;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      std::string_view var = *entry;
      if (var.starts_with("LSMD_") || var.starts_with("SPDLOG_LEVEL=")) continue;
      env.emplace_back(var);
    }
    env.insert(env.end(), extra_env.begin(), extra_env.end());

    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, 0, stdin_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&files, 1, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&files, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    std::vector<char*> envp;
    for (std::string& var : env) envp.push_back(var.data());
    envp.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &files, &attributes, args.data(), envp.data()) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&files);
    posix_spawnattr_destroy(&attributes);
  }

  ~ChildProcess() {
    if (running()) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  bool running() { return started() && !Poll().has_value(); }
  void Signal(int signal) {
    if (running()) kill(pid_, signal);
  }

  // The exit code (128 + signal number if a signal ended it), or nullopt if
  // it is still running when the timeout passes.
  std::optional<int> Wait(Millis timeout) {
    Clock::time_point deadline = Clock::now() + timeout;
    for (;;) {
      if (std::optional<int> code = Poll()) return code;
      if (Clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(5ms);
    }
  }

 private:
  std::optional<int> Poll() {
    if (exit_code_ || !started()) return exit_code_;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return exit_code_;
  }

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// `lsmd --listen 127.0.0.1:0 --port-file ... --data-dir data_dir extra...`,
// started and waited for (its port file) in the constructor.
class LsmdServer {
 public:
  LsmdServer(const TempDir& work, const std::string& data_dir,
             const std::vector<std::string>& extra_args = {},
             const std::vector<std::string>& extra_env = {}) {
    static std::atomic<int> instances{0};
    std::string name = "lsmd-" + std::to_string(instances.fetch_add(1));
    port_file_ = work.File(name + ".port");
    stderr_path_ = work.File(name + ".stderr");
    std::vector<std::string> argv = {LSMD_BINARY,   "--listen",  "127.0.0.1:0",
                                     "--port-file", port_file_,  "--data-dir",
                                     data_dir,      "--threads", "2"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    process_ = std::make_unique<ChildProcess>(argv, "/dev/null", work.File(name + ".stdout"),
                                              stderr_path_, extra_env);
    Clock::time_point deadline = Clock::now() + 15s;
    while (Clock::now() < deadline && process_->running()) {
      std::string text = ReadFile(port_file_);
      if (!text.empty() && text.back() == '\n') {
        port_ = static_cast<uint16_t>(std::stoi(text));
        return;
      }
      std::this_thread::sleep_for(10ms);
    }
  }

  // True once the server wrote its port file.
  bool ready() const { return port_ != 0; }
  uint16_t port() const { return port_; }
  ChildProcess& process() { return *process_; }
  std::string Stderr() const { return ReadFile(stderr_path_); }

 private:
  std::unique_ptr<ChildProcess> process_;
  std::string port_file_;
  std::string stderr_path_;
  uint16_t port_ = 0;
};

// A non-blocking TCP client speaking newline-delimited lines; every call
// takes a timeout.
class LineClient {
 public:
  LineClient() = default;
  ~LineClient() { Close(); }
  LineClient(const LineClient&) = delete;
  LineClient& operator=(const LineClient&) = delete;

  bool Connect(uint16_t port, Millis timeout = 5s) {
    Close();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) return true;
    if (errno != EINPROGRESS) return false;
    pollfd writable{fd_, POLLOUT, 0};
    if (::poll(&writable, 1, static_cast<int>(timeout.count())) != 1) return false;
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
    return error == 0;
  }

  bool Send(std::string_view bytes, Millis timeout = 10s) {
    Clock::time_point deadline = Clock::now() + timeout;
    while (!bytes.empty()) {
      ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent > 0) {
        bytes.remove_prefix(static_cast<size_t>(sent));
        continue;
      }
      if (sent < 0 && errno != EAGAIN && errno != EINTR) return false;
      pollfd writable{fd_, POLLOUT, 0};
      if (::poll(&writable, 1, RemainingMs(deadline)) != 1) return false;
    }
    return true;
  }

  bool SendLine(std::string_view line, Millis timeout = 10s) {
    return Send(std::string(line) + "\n", timeout);
  }

  // The next line without its newline; nullopt on timeout, close or error.
  std::optional<std::string> ReadLine(Millis timeout = 10s) {
    Clock::time_point deadline = Clock::now() + timeout;
    for (;;) {
      size_t newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      if (!Receive(deadline)) return std::nullopt;
    }
  }

  // True if data is waiting to be read right now (a reply already sent).
  bool HasPendingData() {
    if (!buffer_.empty()) return true;
    pollfd readable{fd_, POLLIN, 0};
    return ::poll(&readable, 1, 0) == 1;
  }

  // True if the server closes the connection within the timeout; anything
  // it sends first is discarded.
  bool WaitForClose(Millis timeout = 10s) {
    Clock::time_point deadline = Clock::now() + timeout;
    buffer_.clear();
    while (Receive(deadline)) buffer_.clear();
    return closed_;
  }

  // The server's TCP endpoint closed: EOF or a reset.
  bool closed() const { return closed_; }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buffer_.clear();
    closed_ = false;
  }

 private:
  // Appends what arrives before the deadline. False on timeout or close.
  bool Receive(Clock::time_point deadline) {
    if (fd_ < 0 || closed_) return false;
    pollfd readable{fd_, POLLIN, 0};
    int ready = ::poll(&readable, 1, RemainingMs(deadline));
    if (ready != 1) return false;
    char chunk[64 * 1024];
    ssize_t received = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (received > 0) {
      buffer_.append(chunk, static_cast<size_t>(received));
      return true;
    }
    if (received < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    closed_ = true;  // EOF, or ECONNRESET
    return false;
  }

  int fd_ = -1;
  std::string buffer_;
  bool closed_ = false;
};

// The reply's body: the object itself (bare form) or its "body" (envelope).
// An empty object if the line is not a JSON object.
inline boost::json::object ReplyBody(std::string_view line) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(line, ec);
  if (ec || !value.is_object()) return {};
  boost::json::object& object = value.get_object();
  if (boost::json::value* body = object.if_contains("body"); body && body->is_object()) {
    return body->get_object();
  }
  return object;
}

inline std::string TypeOf(const boost::json::object& body) {
  const boost::json::value* type = body.if_contains("type");
  return type && type->is_string() ? std::string(type->get_string()) : std::string();
}

inline int64_t IntField(const boost::json::object& body, std::string_view name) {
  const boost::json::value* field = body.if_contains(name);
  if (field == nullptr) return -1;
  if (field->is_int64()) return field->get_int64();
  if (field->is_uint64()) return static_cast<int64_t>(field->get_uint64());
  return -1;
}

// A JSON string literal, quotes included.
inline std::string Quote(std::string_view text) {
  return boost::json::serialize(boost::json::value(boost::json::string(text)));
}

// Request lines in bare form, without the newline.
inline std::string PutLine(uint64_t msg_id, const std::string& key, const std::string& value) {
  return R"({"type":"put","msg_id":)" + std::to_string(msg_id) + R"(,"key":)" + Quote(key) +
         R"(,"value":)" + Quote(value) + "}";
}

inline std::string GetLine(uint64_t msg_id, const std::string& key) {
  return R"({"type":"get","msg_id":)" + std::to_string(msg_id) + R"(,"key":)" + Quote(key) + "}";
}

inline std::string DeleteLine(uint64_t msg_id, const std::string& key) {
  return R"({"type":"delete","msg_id":)" + std::to_string(msg_id) + R"(,"key":)" + Quote(key) + "}";
}

}  // namespace lsmd::test
