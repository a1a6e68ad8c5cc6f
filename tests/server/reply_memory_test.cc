// Peak memory of the real lsmd under replies that an unbounded server would
// build in full: 20 JSON clients each asking to scan 10,000 entries of 1 MiB
// values (the store holds 160 of them: an unbounded reply is all 160 MiB,
// and writing the issue's 10,000 would take minutes) and paging through
// them, then 20 RESP clients each pipelining MGETs of 1 MiB values. With
// --max-reply-bytes 8 MiB every reply stays near 8 MiB, so the server's
// resident set stays far below the naive size (docs/PROTOCOL.md, "Limits";
// the bound is kBoundBytes below). With the bound removed (a 1 GiB budget)
// the same run peaks at about 3.2 GB and fails.
//
// Figures come from /proc/<pid>/status: VmHWM (the peak resident set, reset
// through /proc/<pid>/clear_refs once the data is loaded) and the largest
// RssAnon seen by a sampler. VmHWM also counts the SSTables' mapped pages
// the scans touch (page cache, shared with the kernel), so its bound adds the
// bytes of the table files; RssAnon is the server's own allocations.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "test_process.h"

namespace lsmd::test {
namespace {

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kMaxReplyBytes = 8 * kMiB;
constexpr int kClients = 20;
constexpr int kValues = 160;           // 1 MiB each: 160 MiB stored
constexpr size_t kValueBytes = kMiB;   // each value
constexpr int kMgetKeys = 7;           // 7 MiB: fits the budget
constexpr int kMgetOversizeKeys = 64;  // 64 MiB: refused
constexpr int kMgetsPerClient = 8;     // pipelined, then two refused ones
// The server's own memory past its idle size: each connection holds at most
// one reply (the budget plus one entry) while it is written, and each of the
// 2 I/O threads up to two more while it renders one (the line, and its copy
// into the connection's output); times 1.5 for the allocator's slack, plus
// 64 MiB: 388 MiB. Measured: about 185 MiB (docs/PROTOCOL.md, "Limits").
constexpr size_t kBoundBytes =
    (kClients + 2 * 2) * (kMaxReplyBytes + kValueBytes) * 3 / 2 + 64 * kMiB;

// Under AddressSanitizer freed memory waits in a quarantine (256 MiB by
// default) and every byte has a shadow: the test turns the quarantine off
// for the server and allows half as much again for the shadow and the
// redzones. ThreadSanitizer's figures are not lsmd's: the bound is not
// checked there (the tsan stage does not run this test).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif
#if defined(__SANITIZE_THREAD__)
constexpr bool kTsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kTsan = true;
#else
constexpr bool kTsan = false;
#endif
#else
constexpr bool kTsan = false;
#endif
constexpr size_t kAllowedBytes = kAsan ? kBoundBytes * 3 / 2 : kBoundBytes;

std::string Key(int i) {
  char name[16];
  std::snprintf(name, sizeof(name), "k:%05d", i);
  return name;
}

// A field of /proc/<pid>/status in bytes ("VmHWM:   123 kB"), 0 if absent.
size_t StatusBytes(pid_t pid, std::string_view field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field, 0) == 0 && line.size() > field.size() && line[field.size()] == ':') {
      return std::stoull(line.substr(field.size() + 1)) * 1024;
    }
  }
  return 0;
}

// The peak RssAnon of pid while it runs, sampled every millisecond.
class AnonSampler {
 public:
  explicit AnonSampler(pid_t pid)
      : thread_([this, pid] {
          while (!stop_.load()) {
            peak_ = std::max(peak_.load(), StatusBytes(pid, "RssAnon"));
            std::this_thread::sleep_for(1ms);
          }
        }) {}
  size_t Stop() {
    stop_ = true;
    thread_.join();
    return peak_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<size_t> peak_{0};
  std::thread thread_;
};

// A blocking client with 60 s timeouts that reads lines (JSON) and RESP
// replies without rescanning what it has buffered: replies here are MiBs.
class Client {
 public:
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }

  bool Connect(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    timeval timeout{60, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(sent));
    }
    return true;
  }

  // The next line without its '\n'.
  std::optional<std::string> Line() {
    size_t scanned = 0;  // bytes after pos_ known to hold no '\n' (Fill moves pos_)
    for (;;) {
      size_t newline = buf_.find('\n', pos_ + scanned);
      if (newline != std::string::npos) {
        std::string line = buf_.substr(pos_, newline - pos_);
        pos_ = newline + 1;
        return line;
      }
      scanned = buf_.size() - pos_;
      if (!Fill()) return std::nullopt;
    }
  }

  // Drops the next n bytes.
  bool Skip(size_t n) {
    while (buf_.size() - pos_ < n) {
      n -= buf_.size() - pos_;
      pos_ = buf_.size();
      if (!Fill()) return false;
    }
    pos_ += n;
    return true;
  }

 private:
  bool Fill() {
    if (pos_ > 0 && pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    } else if (pos_ > (1 << 20)) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    char chunk[256 * 1024];
    ssize_t received = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (received <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(received));
    return true;
  }

  int fd_ = -1;
  std::string buf_;
  size_t pos_ = 0;  // buf_[pos_...] is not read yet
};

// One RESP reply: its type, an array's element count, a simple line's text.
// Bulk data is read and dropped, its bytes added to *bytes.
struct RespReply {
  char type = 0;
  int64_t count = 0;
  std::string line;
};
std::optional<RespReply> ReadResp(Client& client, size_t* bytes) {
  std::optional<std::string> line = client.Line();
  if (!line || line->size() < 2 || line->back() != '\r') return std::nullopt;
  line->pop_back();
  RespReply reply{(*line)[0], 0, line->substr(1)};
  if (reply.type == '$') {
    const int64_t n = std::stoll(reply.line);
    if (n < 0) return reply;
    if (!client.Skip(static_cast<size_t>(n) + 2)) return std::nullopt;
    *bytes += static_cast<size_t>(n);
  } else if (reply.type == '*') {
    reply.count = std::stoll(reply.line);
    for (int64_t i = 0; i < reply.count; ++i) {
      if (!ReadResp(client, bytes)) return std::nullopt;
    }
  }
  return reply;
}

std::string RespRequest(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& arg : args)
    out += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
  return out;
}

// Runs fn(i) on kClients threads at once.
template <typename Fn>
void OnClients(Fn fn) {
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) threads.emplace_back(fn, i);
  for (std::thread& t : threads) t.join();
}

TEST_CASE("peak RSS stays bounded while 20 clients scan and MGET 1 MiB values") {
  TempDir work;
  if (kAsan) {
    // The server inherits this process's environment.
    const char* asan = std::getenv("ASAN_OPTIONS");
    std::string options = asan != nullptr && *asan != '\0' ? std::string(asan) + ":" : "";
    setenv("ASAN_OPTIONS", (options + "quarantine_size_mb=0").c_str(), 1);
  }
  const std::string resp_port_file = work.File("resp.port");
  LsmdServer server(
      work, work.File("data"),
      {"--resp-listen", "127.0.0.1:0", "--resp-port-file", resp_port_file, "--sync", "none",
       "--memtable-bytes", "16777216", "--max-reply-bytes", std::to_string(kMaxReplyBytes)});
  REQUIRE(server.ready());
  const uint16_t resp_port = static_cast<uint16_t>(std::stoi(ReadFile(resp_port_file)));
  const pid_t pid = server.process().pid();

  // Load: kValues values of 1 MiB, 16 SETs pipelined at a time, then flushed
  // so that the scans read tables, as a store this size would.
  {
    Client loader;
    REQUIRE(loader.Connect(resp_port));
    const std::string value(kValueBytes, 'v');
    for (int i = 0; i < kValues; i += 16) {
      std::string batch;
      for (int j = i; j < i + 16 && j < kValues; ++j) batch += RespRequest({"SET", Key(j), value});
      REQUIRE(loader.Send(batch));
      for (int j = i; j < i + 16 && j < kValues; ++j) REQUIRE(loader.Line() == "+OK\r");
    }
    REQUIRE(loader.Send(RespRequest({"SSTABLE.FLUSH"})));
    size_t ignored = 0;
    REQUIRE(ReadResp(loader, &ignored));
  }
  size_t table_bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(work.File("data"))) {
    if (entry.path().extension() == ".sst") table_bytes += entry.file_size();
  }
  std::this_thread::sleep_for(200ms);  // let the allocator settle after the load
  const bool reset = [&] {
    std::ofstream clear("/proc/" + std::to_string(pid) + "/clear_refs");
    clear << "5";  // resets VmHWM to the current resident set
    return static_cast<bool>(clear.flush());
  }();
  const size_t idle_rss = StatusBytes(pid, "VmRSS");
  const size_t idle_anon = StatusBytes(pid, "RssAnon");
  AnonSampler sampler(pid);
  const auto started = Clock::now();

  // 20 JSON clients, each asking for 10,000 entries (all 160 MiB) and paging
  // through the whole store: every page stops at the budget.
  std::atomic<int> pages{0}, bad_pages{0};
  std::atomic<size_t> scanned{0};
  OnClients([&](int) {
    Client client;
    if (!client.Connect(server.port())) {
      bad_pages.fetch_add(1);
      return;
    }
    std::string start;
    int entries = 0;
    for (bool more = true; more;) {
      std::string request = R"({"type":"scan","limit":10000)";
      if (!start.empty()) request += R"(,"start":")" + start + R"(\u0000")";
      std::optional<std::string> reply =
          client.Send(request + "}\n") ? client.Line() : std::nullopt;
      if (!reply || reply->size() > kMaxReplyBytes + kValueBytes + 4096) {
        bad_pages.fetch_add(1);
        return;
      }
      pages.fetch_add(1);
      scanned.fetch_add(reply->size());
      // Keys are "k:NNNNN"; values are 'v's: the last key is the last '["k:'.
      const size_t last = reply->rfind(R"(["k:)");
      if (last == std::string::npos) {
        bad_pages.fetch_add(1);
        return;
      }
      start = reply->substr(last + 2, 7);
      for (size_t at = reply->find(R"(["k:)"); at != std::string::npos;
           at = reply->find(R"(["k:)", at + 1)) {
        ++entries;
      }
      more = reply->ends_with(R"("more": true})");
    }
    if (entries != kValues) bad_pages.fetch_add(1);
  });
  const auto scan_done = Clock::now();
  const size_t scan_hwm = StatusBytes(pid, "VmHWM");

  // 20 RESP clients, each pipelining kMgetsPerClient MGETs of 7 MiB and two
  // of 64 MiB (refused: over the budget) in one write.
  std::atomic<int> mget_ok{0}, mget_refused{0}, mget_bad{0};
  std::atomic<size_t> mget_bytes{0};
  OnClients([&](int c) {
    Client client;
    if (!client.Connect(resp_port)) {
      mget_bad.fetch_add(1);
      return;
    }
    std::string pipeline;
    for (int m = 0; m < kMgetsPerClient + 2; ++m) {
      const int keys = m < kMgetsPerClient ? kMgetKeys : kMgetOversizeKeys;
      std::vector<std::string> args = {"MGET"};
      for (int k = 0; k < keys; ++k) args.push_back(Key((c * 13 + m * 7 + k) % kValues));
      pipeline += RespRequest(args);
    }
    if (!client.Send(pipeline)) {
      mget_bad.fetch_add(1);
      return;
    }
    for (int m = 0; m < kMgetsPerClient + 2; ++m) {
      size_t bytes = 0;
      std::optional<RespReply> reply = ReadResp(client, &bytes);
      if (reply && reply->type == '*' && reply->count == kMgetKeys) {
        mget_ok.fetch_add(1);
        mget_bytes.fetch_add(bytes);
      } else if (reply && reply->type == '-' && reply->line.starts_with("ERR reply larger")) {
        mget_refused.fetch_add(1);
      } else {
        mget_bad.fetch_add(1);
      }
    }
  });
  const auto mget_done = Clock::now();
  const size_t peak_anon = sampler.Stop();
  const size_t hwm = StatusBytes(pid, "VmHWM");

  auto mib = [](size_t bytes) { return std::to_string(bytes / kMiB) + " MiB"; };
  auto ms = [](auto d) {
    return std::to_string(std::chrono::duration_cast<Millis>(d).count()) + " ms";
  };
  const size_t naive_scan = size_t{kClients} * kValues * kValueBytes;
  const size_t naive_mget =
      size_t{kClients} * (kMgetsPerClient * kMgetKeys + 2 * kMgetOversizeKeys) * kValueBytes;
  MESSAGE("reply memory: idle RSS "
          << mib(idle_rss) << " (anon " << mib(idle_anon) << "), tables " << mib(table_bytes)
          << "; after " << pages.load() << " scan pages (" << mib(scanned) << " sent, "
          << ms(scan_done - started) << ") VmHWM " << mib(scan_hwm) << "; after " << mget_ok.load()
          << " MGETs (" << mib(mget_bytes) << ", " << mget_refused.load() << " refused, "
          << ms(mget_done - scan_done) << ") VmHWM " << mib(hwm) << ", peak RssAnon "
          << mib(peak_anon) << "; bound " << mib(kAllowedBytes) << " over idle; naive replies "
          << mib(naive_scan) << " (scan), " << mib(naive_mget) << " (MGET)"
          << std::string(reset ? "" : "; VmHWM could not be reset")
          << std::string(kTsan ? "; ThreadSanitizer build: bound not checked" : ""));

  CHECK(bad_pages == 0);
  CHECK(pages >=
        kClients * static_cast<int>(kValues * kValueBytes / (kMaxReplyBytes + kValueBytes)));
  CHECK(mget_bad == 0);
  CHECK(mget_ok == kClients * kMgetsPerClient);
  CHECK(mget_refused == kClients * 2);
  CHECK(server.process().running());
  if (!kTsan) {
    CHECK(peak_anon <= idle_anon + kAllowedBytes);
    if (reset) CHECK(hwm <= idle_rss + table_bytes + kAllowedBytes);
  }
}

}  // namespace
}  // namespace lsmd::test
