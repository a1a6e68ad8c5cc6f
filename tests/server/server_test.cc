// The real lsmd binary over real sockets: concurrency, pipelining, writes
// served during a flush, shutdown and recovery, the data-dir lock, the
// connection limit, the health check and option validation.
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "server/test_process.h"

namespace lsmd::test {
namespace {

// "" if the reply line answers msg_id as a get that the model predicts
// (expected == nullopt: not found); otherwise what is wrong.
std::string CheckGetReply(const std::string& line, uint64_t msg_id,
                          const std::optional<std::string>& expected) {
  boost::json::object body = ReplyBody(line);
  if (TypeOf(body) != "get_ok" || IntField(body, "in_reply_to") != static_cast<int64_t>(msg_id)) {
    return "get " + std::to_string(msg_id) + ": unexpected reply " + line;
  }
  const boost::json::value* found = body.if_contains("found");
  if (found == nullptr || !found->is_bool() || found->get_bool() != expected.has_value()) {
    return "get " + std::to_string(msg_id) + ": wrong found in " + line;
  }
  if (expected) {
    const boost::json::value* value = body.if_contains("value");
    if (value == nullptr || !value->is_string() || value->get_string() != *expected) {
      return "get " + std::to_string(msg_id) + ": wrong value in " + line;
    }
  }
  return "";
}

std::string CheckTypedReply(const std::string& line, uint64_t msg_id, std::string_view type) {
  boost::json::object body = ReplyBody(line);
  if (TypeOf(body) != type || IntField(body, "in_reply_to") != static_cast<int64_t>(msg_id)) {
    return std::string(type) + " " + std::to_string(msg_id) + ": unexpected reply " + line;
  }
  return "";
}

// Checks a get round trip on a fresh request id.
bool GetAnswers(LineClient& client, uint64_t msg_id, const std::string& key,
                const std::optional<std::string>& expected) {
  if (!client.SendLine(GetLine(msg_id, key))) return false;
  std::optional<std::string> reply = client.ReadLine();
  return reply && CheckGetReply(*reply, msg_id, expected).empty();
}

// One client of the concurrency test: random puts, gets and deletes on its
// own keys, sent in pipelined windows; a std::map predicts every reply.
// Returns "" or the first mismatch.
std::string RunModelClient(uint16_t port, int client_id, int operations) {
  LineClient client;
  if (!client.Connect(port)) return "client " + std::to_string(client_id) + ": cannot connect";
  std::mt19937 random(static_cast<uint32_t>(client_id) * 7919u + 1u);
  std::map<std::string, std::string> model;
  struct Expectation {
    uint64_t msg_id;
    std::string type;                  // put_ok, delete_ok or get_ok
    std::optional<std::string> value;  // gets only
  };
  uint64_t next_msg_id = 1;
  int done = 0;
  while (done < operations) {
    int window = std::min<int>(1 + static_cast<int>(random() % 16), operations - done);
    std::string batch;
    std::vector<Expectation> expected;
    for (int i = 0; i < window; ++i) {
      std::string key = "c" + std::to_string(client_id) + ":k" + std::to_string(random() % 64);
      uint64_t msg_id = next_msg_id++;
      unsigned dice = random() % 10;
      if (dice < 5) {
        std::string value = "v" + std::to_string(msg_id) + std::string(random() % 64, 'x');
        batch += PutLine(msg_id, key, value) + "\n";
        model[key] = value;
        expected.push_back({msg_id, "put_ok", std::nullopt});
      } else if (dice < 8) {
        batch += GetLine(msg_id, key) + "\n";
        auto it = model.find(key);
        expected.push_back(
            {msg_id, "get_ok", it == model.end() ? std::nullopt : std::optional(it->second)});
      } else {
        batch += DeleteLine(msg_id, key) + "\n";
        model.erase(key);
        expected.push_back({msg_id, "delete_ok", std::nullopt});
      }
    }
    if (!client.Send(batch)) return "client " + std::to_string(client_id) + ": send failed";
    for (const Expectation& expectation : expected) {
      std::optional<std::string> reply = client.ReadLine(30s);
      if (!reply) return "client " + std::to_string(client_id) + ": no reply";
      std::string error = expectation.type == "get_ok"
                              ? CheckGetReply(*reply, expectation.msg_id, expectation.value)
                              : CheckTypedReply(*reply, expectation.msg_id, expectation.type);
      if (!error.empty()) return "client " + std::to_string(client_id) + ": " + error;
    }
    done += window;
  }
  return "";
}

TEST_CASE("32 concurrent clients each see exactly their own writes") {
  TempDir work;
  LsmdServer server(work, work.File("data"), {"--memtable-bytes", "262144"});
  REQUIRE(server.ready());

  constexpr int kClients = 32;
  std::vector<std::string> errors(kClients);
  std::vector<std::thread> clients;
  for (int id = 0; id < kClients; ++id) {
    clients.emplace_back(
        [&errors, &server, id] { errors[id] = RunModelClient(server.port(), id, 1000); });
  }
  for (std::thread& client : clients) client.join();
  for (const std::string& error : errors) CHECK_MESSAGE(error.empty(), error);
}

TEST_CASE("100 pipelined requests in one write are answered in order") {
  TempDir work;
  LsmdServer server(work, work.File("data"));
  REQUIRE(server.ready());
  LineClient client;
  REQUIRE(client.Connect(server.port()));

  // Odd ids put key i, even ids get the key the previous request just put:
  // requests of one connection run in order, so every get sees its put.
  std::string batch;
  for (uint64_t id = 1; id <= 100; ++id) {
    std::string key = "pipe:" + std::to_string((id + 1) / 2);
    batch +=
        (id % 2 == 1 ? PutLine(id, key, "value" + std::to_string(id)) : GetLine(id, key)) + "\n";
  }
  REQUIRE(client.Send(batch));
  for (uint64_t id = 1; id <= 100; ++id) {
    std::optional<std::string> reply = client.ReadLine();
    REQUIRE(reply);
    if (id % 2 == 1) {
      CHECK_MESSAGE(CheckTypedReply(*reply, id, "put_ok") == "", *reply);
    } else {
      CHECK_MESSAGE(CheckGetReply(*reply, id, "value" + std::to_string(id - 1)) == "", *reply);
    }
  }
}

TEST_CASE("puts and gets are answered while a flush is in progress") {
  TempDir work;
  LsmdServer server(work, work.File("data"), {"--test-flush-delay-ms", "3000"});
  REQUIRE(server.ready());
  LineClient flusher;
  LineClient writer;
  REQUIRE(flusher.Connect(server.port()));
  REQUIRE(writer.Connect(server.port()));

  REQUIRE(flusher.SendLine(PutLine(1, "before-flush", "old")));
  std::optional<std::string> put_reply = flusher.ReadLine();
  REQUIRE(put_reply);
  REQUIRE(CheckTypedReply(*put_reply, 1, "put_ok") == "");
  REQUIRE(flusher.SendLine(R"({"type":"sstable_flush","msg_id":2})"));

  for (uint64_t id = 1; id <= 20; ++id) {
    std::string key = "during-flush:" + std::to_string(id);
    REQUIRE(writer.SendLine(PutLine(2 * id, key, "new")));
    std::optional<std::string> reply = writer.ReadLine();
    REQUIRE(reply);
    CHECK(CheckTypedReply(*reply, 2 * id, "put_ok") == "");
    CHECK(GetAnswers(writer, 2 * id + 1, key, "new"));
  }
  CHECK(GetAnswers(writer, 100, "before-flush", "old"));
  // The flush sleeps 3 s before writing its table: it cannot have answered.
  CHECK_FALSE(flusher.HasPendingData());

  std::optional<std::string> flush_reply = flusher.ReadLine(20s);
  REQUIRE(flush_reply);
  boost::json::object body = ReplyBody(*flush_reply);
  CHECK(TypeOf(body) == "sstable_flush_ok");
  CHECK(IntField(body, "in_reply_to") == 2);
  CHECK(IntField(body, "entries") >= 1);
}

TEST_CASE("SIGTERM shuts down cleanly and a restart keeps every acknowledged write") {
  TempDir work;
  std::string data_dir = work.File("data");
  std::map<std::string, std::optional<std::string>> acknowledged;  // nullopt: deleted
  {
    // A small MemTable so that some writes are in SSTables and some only in the log.
    LsmdServer server(work, data_dir, {"--memtable-bytes", "8192"});
    REQUIRE(server.ready());
    std::mutex mu;
    std::atomic<bool> writing{true};
    std::vector<std::thread> writers;
    for (int id = 0; id < 4; ++id) {
      writers.emplace_back([&, id] {
        LineClient client;
        if (!client.Connect(server.port())) return;
        // Keeps writing until the server closes the connection.
        for (uint64_t msg_id = 1; writing; ++msg_id) {
          std::string key = "w" + std::to_string(id) + ":" + std::to_string(msg_id % 300);
          bool erase = msg_id % 7 == 0;
          std::string value = "value-" + std::to_string(msg_id);
          if (!client.SendLine(erase ? DeleteLine(msg_id, key) : PutLine(msg_id, key, value))) {
            return;
          }
          std::optional<std::string> reply = client.ReadLine();
          if (!reply) return;
          if (!CheckTypedReply(*reply, msg_id, erase ? "delete_ok" : "put_ok").empty()) return;
          std::lock_guard lock(mu);
          acknowledged[key] = erase ? std::nullopt : std::optional(value);
        }
      });
    }
    std::this_thread::sleep_for(1500ms);
    server.process().Signal(SIGTERM);
    std::optional<int> exit_code = server.process().Wait(30s);
    writing = false;
    for (std::thread& writer : writers) writer.join();
    REQUIRE(exit_code.has_value());
    CHECK(*exit_code == 0);
    CHECK(server.Stderr().find("lsmd stopped") != std::string::npos);
  }
  REQUIRE(acknowledged.size() > 10);

  LsmdServer restarted(work, data_dir);
  REQUIRE(restarted.ready());
  LineClient client;
  REQUIRE(client.Connect(restarted.port()));
  uint64_t msg_id = 1;
  for (const auto& entry : acknowledged) {
    // Not a structured binding: INFO's lambda captures key, which clang 14
    // cannot do for bindings.
    const auto& key = entry.first;
    const auto& value = entry.second;
    INFO("key ", key);
    CHECK(GetAnswers(client, msg_id++, key, value));
  }
}

TEST_CASE("a second lsmd on the same data directory refuses to start") {
  TempDir work;
  std::string data_dir = work.File("data");
  LsmdServer first(work, data_dir);
  REQUIRE(first.ready());

  LsmdServer second(work, data_dir);
  std::optional<int> exit_code = second.process().Wait(15s);
  REQUIRE(exit_code.has_value());
  CHECK(*exit_code == 1);
  CHECK_FALSE(second.ready());
  std::string message = second.Stderr();
  CHECK_MESSAGE(message.find("cannot open the data directory") != std::string::npos, message);

  LineClient client;
  REQUIRE(client.Connect(first.port()));
  CHECK(GetAnswers(client, 1, "anything", std::nullopt));
}

TEST_CASE("a connection beyond --max-connections gets error 11 and the others keep working") {
  TempDir work;
  LsmdServer server(work, work.File("data"), {"--max-connections", "3"});
  REQUIRE(server.ready());
  std::vector<std::unique_ptr<LineClient>> admitted;
  for (int i = 0; i < 3; ++i) {
    admitted.push_back(std::make_unique<LineClient>());
    REQUIRE(admitted.back()->Connect(server.port()));
    REQUIRE(GetAnswers(*admitted.back(), 1, "k", std::nullopt));  // registered by now
  }

  LineClient extra;
  REQUIRE(extra.Connect(server.port()));
  std::optional<std::string> refusal = extra.ReadLine();
  REQUIRE(refusal);
  boost::json::object body = ReplyBody(*refusal);
  CHECK(TypeOf(body) == "error");
  CHECK(IntField(body, "code") == 11);
  CHECK(extra.WaitForClose());

  uint64_t msg_id = 10;
  for (auto& client : admitted) {
    REQUIRE(client->SendLine(PutLine(msg_id, "shared", "v" + std::to_string(msg_id))));
    std::optional<std::string> reply = client->ReadLine();
    REQUIRE(reply);
    CHECK(CheckTypedReply(*reply, msg_id, "put_ok") == "");
    CHECK(GetAnswers(*client, msg_id + 1, "shared", "v" + std::to_string(msg_id)));
    msg_id += 2;
  }

  // A freed slot is usable again once the server has seen the close.
  admitted.front()->Close();
  bool served = false;
  for (Clock::time_point deadline = Clock::now() + 10s; !served && Clock::now() < deadline;) {
    LineClient late;
    REQUIRE(late.Connect(server.port()));
    served = GetAnswers(late, 99, "shared", "v" + std::to_string(msg_id - 2));
    if (!served) std::this_thread::sleep_for(50ms);
  }
  CHECK(served);
}

// Resident memory of a process in KiB, from /proc; -1 if unknown.
int64_t ResidentKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) return std::stoll(line.substr(6));
  }
  return -1;
}

TEST_CASE("a client that stops reading stops being read, and nobody else notices") {
  TempDir work;
  LsmdServer server(work, work.File("data"));
  REQUIRE(server.ready());
  LineClient other;
  REQUIRE(other.Connect(server.port()));
  REQUIRE(other.SendLine(PutLine(1, "big", std::string(100 * 1024, 'b'))));
  REQUIRE(other.ReadLine());

  // 200,000 gets of a 100 KiB value would be 20 GB of replies if the server
  // kept reading; it must stop once its output to this client backs up, so
  // the client's sending stalls.
  LineClient slow;
  REQUIRE(slow.Connect(server.port()));
  std::string gets;
  for (int i = 0; i < 200'000; ++i) gets += GetLine(static_cast<uint64_t>(i), "big") + "\n";
  CHECK_FALSE(slow.Send(gets, 3s));

  CHECK(GetAnswers(other, 2, "missing", std::nullopt));
  int64_t resident_kib = ResidentKiB(server.process().pid());
  CHECK(resident_kib > 0);
  CHECK(resident_kib < 256 * 1024);

  // Shutdown does not wait forever for the stuck client.
  server.process().Signal(SIGTERM);
  CHECK(server.process().Wait(30s) == std::optional<int>(0));
}

TEST_CASE("lsmd --check reports a serving lsmd healthy and a dead address not") {
  TempDir work;
  LsmdServer server(work, work.File("data"));
  REQUIRE(server.ready());
  std::string address = "127.0.0.1:" + std::to_string(server.port());
  ChildProcess healthy({LSMD_BINARY, "--check", address}, "/dev/null", work.File("check.out"),
                       work.File("check.err"));
  CHECK(healthy.Wait(10s) == std::optional<int>(0));

  server.process().Signal(SIGTERM);
  REQUIRE(server.process().Wait(30s) == std::optional<int>(0));
  ChildProcess dead({LSMD_BINARY, "--check", address}, "/dev/null", work.File("dead.out"),
                    work.File("dead.err"));
  CHECK(dead.Wait(10s) == std::optional<int>(1));
  CHECK(ReadFile(work.File("dead.err")).find("unhealthy") != std::string::npos);
}

TEST_CASE("bad option values are refused with exit code 2 and a message naming the option") {
  TempDir work;
  struct BadStart {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string named;  // what the message must mention
  };
  std::vector<BadStart> cases = {
      {{"--sync", "sometimes"}, {}, "--sync"},
      {{"--threads", "0"}, {}, "--threads"},
      {{"--memtable-bytes", "-5"}, {}, "--memtable-bytes"},
      {{"--max-line-bytes", "lots"}, {}, "--max-line-bytes"},
      {{"--max-reply-bytes", "0"}, {}, "--max-reply-bytes"},
      {{"--max-reply-bytes", "1073741825"}, {}, "--max-reply-bytes"},
      {{}, {"LSMD_MAX_REPLY_BYTES=lots"}, "LSMD_MAX_REPLY_BYTES"},
      {{"--listen", "127.0.0.1"}, {}, "--listen"},
      {{"--listen", "127.0.0.1:70000"}, {}, "--listen"},
      {{"--log-level", "chatty"}, {}, "--log-level"},
      {{"--no-such-flag"}, {}, "no-such-flag"},
      {{"stray-word"}, {}, "positional"},
      {{}, {"LSMD_MEMTABLE_BYTES=abc"}, "LSMD_MEMTABLE_BYTES"},
      {{}, {"LSMD_SYNC=sometimes"}, "LSMD_SYNC"},
      {{}, {"SPDLOG_LEVEL=chatty"}, "SPDLOG_LEVEL"},
  };
  int run = 0;
  for (const BadStart& bad : cases) {
    INFO("named ", bad.named);
    std::vector<std::string> argv = {LSMD_BINARY, "--data-dir", work.File("data"), "--listen",
                                     "127.0.0.1:0"};
    // A flag may be given once only: the bad --listen cases drop the good one.
    if (!bad.args.empty() && bad.args[0] == "--listen") argv.resize(3);
    argv.insert(argv.end(), bad.args.begin(), bad.args.end());
    std::string err = work.File("bad" + std::to_string(run++) + ".err");
    ChildProcess process(argv, "/dev/null", work.File("bad.out"), err, bad.env);
    CHECK(process.Wait(10s) == std::optional<int>(2));
    CHECK_MESSAGE(ReadFile(err).find(bad.named) != std::string::npos, ReadFile(err));
  }
  // A flag wins over its environment variable.
  LsmdServer server(work, work.File("data"), {"--sync", "none"}, {"LSMD_SYNC=sometimes"});
  CHECK(server.ready());
}

}  // namespace
}  // namespace lsmd::test
