// --timeout and --send-timeout against the real binary: a client that sends
// nothing, or reads none of its replies, for longer than the bound is closed;
// everyone else is served as before.
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>

#include "server/test_process.h"

namespace lsmd::test {
namespace {

TEST_CASE("--timeout closes an idle client and keeps a busy one") {
  TempDir work;
  LsmdServer server(work, work.File("data"), {"--timeout", "1"});
  REQUIRE(server.ready());
  LineClient idle, busy;
  REQUIRE(idle.Connect(server.port()));
  REQUIRE(busy.Connect(server.port()));
  const auto started = Clock::now();
  // A get every 200 ms for 2.5 s: never idle for a whole second.
  for (uint64_t i = 0; Clock::now() - started < 2500ms; ++i) {
    REQUIRE(busy.SendLine(GetLine(i, "k")));
    std::optional<std::string> reply = busy.ReadLine();
    REQUIRE(reply);
    CHECK(TypeOf(ReplyBody(*reply)) == "get_ok");
    std::this_thread::sleep_for(200ms);
  }
  CHECK(idle.WaitForClose(5s));
  CHECK(Clock::now() - started >= 900ms);
  REQUIRE(busy.SendLine(GetLine(999, "k")));
  CHECK(busy.ReadLine());
}

TEST_CASE("without --timeout an idle client stays connected") {
  TempDir work;
  LsmdServer server(work, work.File("data"));
  REQUIRE(server.ready());
  LineClient idle;
  REQUIRE(idle.Connect(server.port()));
  std::this_thread::sleep_for(2s);
  REQUIRE(idle.SendLine(GetLine(1, "k")));
  CHECK(idle.ReadLine());
}

TEST_CASE("--send-timeout closes a client that reads none of its replies") {
  TempDir work;
  LsmdServer server(work, work.File("data"), {"--send-timeout", "1"});
  REQUIRE(server.ready());
  LineClient other;
  REQUIRE(other.Connect(server.port()));
  REQUIRE(other.SendLine(PutLine(1, "big", std::string(100 * 1024, 'b'))));
  REQUIRE(other.ReadLine());

  // Far more replies than the socket buffers hold, and never a read.
  LineClient stalled;
  REQUIRE(stalled.Connect(server.port()));
  std::string gets;
  for (int i = 0; i < 20'000; ++i) gets += GetLine(static_cast<uint64_t>(i), "big") + "\n";
  // The kernel's socket buffers may take all of it: the send may succeed.
  (void)stalled.Send(gets, 3s);

  const std::string closing = "of pending replies for 1000 ms (--send-timeout); closing";
  const auto deadline = Clock::now() + 15s;
  while (Clock::now() < deadline && server.Stderr().find(closing) == std::string::npos) {
    std::this_thread::sleep_for(100ms);
  }
  CHECK_MESSAGE(server.Stderr().find(closing) != std::string::npos, server.Stderr());
  CHECK(stalled.WaitForClose(10s));
  // Everyone else was served all along.
  REQUIRE(other.SendLine(GetLine(2, "missing")));
  CHECK(other.ReadLine());
  server.process().Signal(SIGTERM);
  CHECK(server.process().Wait(30s) == std::optional<int>(0));
}

TEST_CASE("bad --timeout and --send-timeout values are refused with exit code 2") {
  TempDir work;
  struct Bad {
    std::string flag, value;
  };
  for (const Bad& bad : {Bad{"--timeout", "-1"}, Bad{"--timeout", "soon"},
                         Bad{"--send-timeout", "86401"}}) {
    CAPTURE(bad.flag);
    ChildProcess child({LSMD_BINARY, bad.flag, bad.value, "--data-dir", work.File("data")},
                       "/dev/null", work.File("bad.out"), work.File("bad.err"));
    CHECK(child.Wait(10s) == std::optional<int>(2));
    CHECK(ReadFile(work.File("bad.err")).find(bad.flag) != std::string::npos);
  }
}

}  // namespace
}  // namespace lsmd::test
