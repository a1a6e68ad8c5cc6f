// Clients that misbehave, against the real lsmd binary: thousands of
// connections at once and more than the limit, clients that never read
// their replies, clients that send a byte a second or half a line and
// vanish, and a hundred thousand short-lived connections. The server keeps
// answering everyone else, and its memory and file descriptors stay bounded
// and return to where they started.
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "server/test_process.h"

namespace lsmd::test {
namespace {

constexpr int kManyConnections = 2000;
constexpr int kOverLimit = 100;
// Connection churn: the number; LSMD_TEST_CHURN_CONNECTIONS lowers
// it for a quick local run.
constexpr int kChurnConnections = 100'000;

// Under a sanitizer the server's memory belongs to the sanitizer (ASan keeps
// freed blocks in quarantine, TSan adds shadow memory), so its resident size
// is reported but not checked; file descriptors are checked either way.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kCheckMemory = false;
#else
constexpr bool kCheckMemory = true;
#endif

// Resident memory of a process in KiB, from /proc; -1 if unknown.
int64_t ResidentKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) return std::stoll(line.substr(6));
  }
  return -1;
}

// Open file descriptors of a process, from /proc/<pid>/fd.
int OpenFds(pid_t pid) {
  std::error_code ec;
  int count = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++count;
  }
  return count;
}

// Polls until the server holds at most `fds` descriptors again (a closed
// client is noticed by the server a moment later). Returns the last count.
int WaitForFds(pid_t pid, int fds, Millis timeout = 10s) {
  Clock::time_point deadline = Clock::now() + timeout;
  int open = OpenFds(pid);
  while (open > fds && Clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    open = OpenFds(pid);
  }
  return open;
}

// Raises this process's soft descriptor limit to at least `needed` (the
// server is spawned by this process and inherits it). False if the hard
// limit is lower.
bool RaiseFdLimit(rlim_t needed) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  if (limit.rlim_cur >= needed) return true;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) return false;
  limit.rlim_cur = needed;
  return setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

// A get answered correctly within `timeout`: found with `expected`, or not
// found when expected is nullopt.
bool GetAnswered(LineClient& client, uint64_t msg_id, const std::string& key,
                 const std::optional<std::string>& expected, Millis timeout = 10s) {
  if (!client.SendLine(GetLine(msg_id, key), timeout)) return false;
  std::optional<std::string> reply = client.ReadLine(timeout);
  if (!reply) return false;
  boost::json::object body = ReplyBody(*reply);
  if (TypeOf(body) != "get_ok" || IntField(body, "in_reply_to") != static_cast<int64_t>(msg_id)) {
    return false;
  }
  const boost::json::value* found = body.if_contains("found");
  if (found == nullptr || !found->is_bool() || found->get_bool() != expected.has_value()) {
    return false;
  }
  const boost::json::value* value = body.if_contains("value");
  return !expected || (value && value->is_string() && value->get_string() == *expected);
}

bool IsError11(const std::optional<std::string>& line) {
  if (!line) return false;
  boost::json::object body = ReplyBody(*line);
  return TypeOf(body) == "error" && IntField(body, "code") == 11;
}

bool PutAcknowledged(LineClient& client, const std::string& key, const std::string& value) {
  if (!client.SendLine(PutLine(1, key, value))) return false;
  std::optional<std::string> reply = client.ReadLine();
  return reply && TypeOf(ReplyBody(*reply)) == "put_ok";
}

TEST_CASE("2,000 connections at once are served and each one over the limit gets error 11") {
  REQUIRE_MESSAGE(RaiseFdLimit(8192), "the hard RLIMIT_NOFILE (ulimit -Hn) is below 8192");
  TempDir work;
  LsmdServer server(work, work.File("data"),
                    {"--max-connections", std::to_string(kManyConnections)});
  REQUIRE(server.ready());

  std::vector<std::unique_ptr<LineClient>> clients;
  for (int i = 0; i < kManyConnections; ++i) {
    clients.push_back(std::make_unique<LineClient>());
    REQUIRE_MESSAGE(clients.back()->Connect(server.port()), "connection ", i);
  }
  // Every request is sent before any reply is read: all 2,000 are open at once.
  for (int i = 0; i < kManyConnections; ++i) {
    REQUIRE(clients[i]->SendLine(GetLine(static_cast<uint64_t>(i), "k")));
  }
  int answered = 0;
  for (int i = 0; i < kManyConnections; ++i) {
    std::optional<std::string> reply = clients[i]->ReadLine(30s);
    answered += reply && TypeOf(ReplyBody(*reply)) == "get_ok";
  }
  REQUIRE(answered == kManyConnections);
  CHECK(OpenFds(server.process().pid()) > kManyConnections);

  // One more than the limit, 100 times, 20 at a time: each is answered with
  // error 11 and closed by the server.
  int refused = 0;
  for (int wave = 0; wave < kOverLimit / 20; ++wave) {
    std::vector<std::unique_ptr<LineClient>> extras;
    for (int i = 0; i < 20; ++i) {
      extras.push_back(std::make_unique<LineClient>());
      REQUIRE(extras.back()->Connect(server.port()));
    }
    for (auto& extra : extras) {
      std::optional<std::string> reply = extra->ReadLine();
      CHECK_MESSAGE(IsError11(reply), reply.value_or("(no reply)"));
      CHECK(extra->WaitForClose());
      refused += IsError11(reply);
    }
  }
  CHECK(refused == kOverLimit);

  // The admitted connections still work: a sample of them writes and reads.
  for (int i = 0; i < kManyConnections; i += 50) {
    INFO("connection ", i);
    const std::string key = "sample" + std::to_string(i);
    CHECK(PutAcknowledged(*clients[i], key, "v" + std::to_string(i)));
    CHECK(GetAnswered(*clients[i], 2, key, "v" + std::to_string(i)));
  }
}

TEST_CASE("a burst beyond the limit is refused or closed, never served") {
  TempDir work;
  LsmdServer server(work, work.File("data"), {"--max-connections", "10"});
  REQUIRE(server.ready());
  std::vector<std::unique_ptr<LineClient>> admitted;
  for (int i = 0; i < 10; ++i) {
    admitted.push_back(std::make_unique<LineClient>());
    REQUIRE(admitted.back()->Connect(server.port()));
    REQUIRE(GetAnswered(*admitted.back(), 1, "k", std::nullopt));
  }
  // 100 at once: more than the server keeps lingering over (it answers a
  // bounded number with error 11 and closes the rest unanswered), but none
  // is served.
  std::vector<std::unique_ptr<LineClient>> burst;
  for (int i = 0; i < kOverLimit; ++i) {
    burst.push_back(std::make_unique<LineClient>());
    REQUIRE(burst.back()->Connect(server.port()));
    burst.back()->SendLine(GetLine(1, "k"));  // may fail once the server has closed it
  }
  int refused = 0;
  for (auto& client : burst) {
    std::optional<std::string> reply = client->ReadLine();
    if (reply) {
      CHECK_MESSAGE(IsError11(reply), *reply);
      ++refused;
    }
    CHECK(client->WaitForClose());
  }
  MESSAGE(refused, " of ", kOverLimit, " answered with error 11, the rest closed unanswered");
  CHECK(refused > 0);
  for (auto& client : admitted) CHECK(GetAnswered(*client, 2, "k", std::nullopt));
}

TEST_CASE("50 clients that pipeline 10,000 gets and never read keep the server bounded") {
  TempDir work;
  LsmdServer server(work, work.File("data"));
  REQUIRE(server.ready());
  const pid_t pid = server.process().pid();
  LineClient other;
  REQUIRE(other.Connect(server.port()));
  const std::string value(10 * 1024, 'v');  // 10,000 replies: 100 MB per client
  REQUIRE(PutAcknowledged(other, "big", value));
  const int64_t rss_before = ResidentKiB(pid);
  const int fds_before = OpenFds(pid);

  constexpr int kSlowClients = 50;
  std::string gets;
  for (int i = 0; i < 10'000; ++i) gets += GetLine(static_cast<uint64_t>(i), "big") + "\n";
  std::vector<std::unique_ptr<LineClient>> slow(kSlowClients);
  std::vector<std::thread> senders;
  for (auto& client : slow) {
    client = std::make_unique<LineClient>();
    REQUIRE(client->Connect(server.port()));
    // Stalls once the server stops reading this client; gives up after 3 s.
    senders.emplace_back([&client, &gets] { client->Send(gets, 3s); });
  }
  for (std::thread& sender : senders) sender.join();
  // Give the server time to answer all it would: a server that kept reading
  // would be past 200 MB within a second (5 GB of replies are due).
  std::this_thread::sleep_for(1s);

  int64_t rss_peak = ResidentKiB(pid);
  int slow_answers = 0;
  for (uint64_t id = 1; id <= 100; ++id) {
    slow_answers += !GetAnswered(other, id, "big", value, 1s);
    rss_peak = std::max(rss_peak, ResidentKiB(pid));
  }
  MESSAGE("VmRSS before ", rss_before, " KiB, with 50 stuck clients ", rss_peak, " KiB");
  CHECK(slow_answers == 0);
  CHECK(rss_peak > 0);
  if (kCheckMemory) CHECK(rss_peak < 200 * 1024);

  slow.clear();  // closes them: their unread replies are dropped
  CHECK(WaitForFds(pid, fds_before) == fds_before);
  CHECK(GetAnswered(other, 200, "big", value));
}

TEST_CASE("slowloris: a byte a second and half lines cost nothing once the clients leave") {
  TempDir work;
  LsmdServer server(work, work.File("data"));
  REQUIRE(server.ready());
  const pid_t pid = server.process().pid();
  LineClient other;
  REQUIRE(other.Connect(server.port()));
  REQUIRE(PutAcknowledged(other, "slow-key", "slow-value"));
  const int64_t rss_before = ResidentKiB(pid);
  const int fds_before = OpenFds(pid);

  // A few clients send the first bytes of a get one per second, then the
  // rest: a line assembled over seconds is answered like any other.
  constexpr int kSlowClients = 4;
  std::vector<int> slow_answered(kSlowClients, 0);
  std::vector<std::thread> slow;
  for (int i = 0; i < kSlowClients; ++i) {
    slow.emplace_back([&server, &slow_answered, i] {
      LineClient client;
      if (!client.Connect(server.port())) return;
      const std::string line = GetLine(7, "slow-key") + "\n";
      for (size_t byte = 0; byte < 4; ++byte) {
        if (!client.Send(line.substr(byte, 1))) return;
        std::this_thread::sleep_for(1s);
      }
      if (!client.Send(line.substr(4))) return;
      std::optional<std::string> reply = client.ReadLine();
      slow_answered[i] = reply && ReplyBody(*reply).if_contains("value") != nullptr;
    });
  }
  // Meanwhile hundreds of clients send half a line and disconnect, and the
  // well-behaved client is answered promptly throughout.
  const std::string half = GetLine(1, "slow-key").substr(0, 20);
  int late_answers = 0;
  for (int i = 0; i < 400; ++i) {
    LineClient client;
    REQUIRE(client.Connect(server.port()));
    CHECK(client.Send(half));
    if (i % 20 == 0) late_answers += !GetAnswered(other, i, "slow-key", "slow-value", 1s);
  }
  for (std::thread& thread : slow) thread.join();
  CHECK(late_answers == 0);
  for (int i = 0; i < kSlowClients; ++i) CHECK_MESSAGE(slow_answered[i] == 1, "slow client ", i);

  CHECK(WaitForFds(pid, fds_before) == fds_before);
  const int64_t rss_after = ResidentKiB(pid);
  MESSAGE("VmRSS before ", rss_before, " KiB, after ", rss_after, " KiB");
  if (kCheckMemory) CHECK(rss_after < rss_before + 16 * 1024);
  CHECK(GetAnswered(other, 1000, "slow-key", "slow-value"));
}

TEST_CASE("100,000 connect-request-disconnect cycles leave fds and memory where they were") {
  int cycles = kChurnConnections;
  if (const char* text = std::getenv("LSMD_TEST_CHURN_CONNECTIONS"); text && *text) {
    cycles = std::atoi(text);
  }
  TempDir work;
  LsmdServer server(work, work.File("data"));
  REQUIRE(server.ready());
  const pid_t pid = server.process().pid();
  const int fds_before = OpenFds(pid);
  {
    LineClient warm_up;  // the first connection allocates what every one reuses
    REQUIRE(warm_up.Connect(server.port()));
    REQUIRE(PutAcknowledged(warm_up, "churn", "value"));
  }
  REQUIRE(WaitForFds(pid, fds_before) == fds_before);
  const int64_t rss_before = ResidentKiB(pid);

  constexpr int kThreads = 4;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  const Clock::time_point start = Clock::now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&server, &failures, cycles, t] {
      for (int i = t; i < cycles; i += kThreads) {
        LineClient client;
        bool ok = client.Connect(server.port()) &&
                  GetAnswered(client, static_cast<uint64_t>(i), "churn", "value");
        failures[t] += !ok;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const auto elapsed = std::chrono::duration_cast<Millis>(Clock::now() - start).count();

  int failed = 0;
  for (int count : failures) failed += count;
  const int fds_after = WaitForFds(pid, fds_before);
  const int64_t rss_after = ResidentKiB(pid);
  MESSAGE(cycles, " cycles in ", elapsed, " ms; fds ", fds_before, " -> ", fds_after, "; VmRSS ",
          rss_before, " -> ", rss_after, " KiB");
  CHECK(failed == 0);
  CHECK(fds_after == fds_before);
  if (kCheckMemory) CHECK(rss_after < rss_before + 16 * 1024);
}

}  // namespace
}  // namespace lsmd::test
