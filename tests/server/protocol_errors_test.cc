// Bad input over a real socket: every malformed request gets its error reply
// and leaves the connection usable; only an over-long line closes it. A
// second connection is served throughout.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "server/test_process.h"

namespace lsmd::test {
namespace {

struct BadInput {
  std::string name;
  std::string line;  // sent with a newline appended
  int code;
};

std::vector<BadInput> BadInputs() {
  return {
      {"unknown type", R"({"type":"frobnicate","msg_id":5})", 10},
      {"not JSON", "this is not json", 12},
      {"missing field", R"({"type":"put","msg_id":6,"key":"a"})", 12},
      {"wrong field type", R"({"type":"put","msg_id":7,"key":"a","value":5})", 12},
      {"empty key", R"({"type":"get","msg_id":8,"key":""})", 12},
      {"key of 16 KiB + 1", R"({"type":"get","msg_id":9,"key":")" + std::string(16385, 'k') + "\"}",
       12},
      {"binary garbage", std::string("\x00\x01\x02\xff\xfe{{\x80", 8), 12},
      {"a JSON array", R"([{"type":"get","msg_id":10,"key":"a"}])", 12},
      {"a number", "42", 12},
      {"an empty line", "", 12},
      {"sstable path escaping the directory",
       R"({"type":"sstable_lookup","msg_id":11,"sstable":"../L0_001.sst","key":"a"})", 20},
      {"sstable absolute path",
       R"({"type":"sstable_lookup","msg_id":12,"sstable":"/etc/passwd","key":"a"})", 20},
  };
}

std::string GetProbe(int msg_id) { return GetLine(static_cast<uint64_t>(msg_id), "probe"); }

// The probe key holds "alive": checks a get for it on a fresh msg_id.
void CheckStillServed(LineClient& client, int msg_id) {
  REQUIRE(client.SendLine(GetProbe(msg_id)));
  std::optional<std::string> reply = client.ReadLine();
  REQUIRE(reply);
  boost::json::object body = ReplyBody(*reply);
  CHECK(TypeOf(body) == "get_ok");
  CHECK(IntField(body, "in_reply_to") == msg_id);
  const boost::json::value* value = body.if_contains("value");
  CHECK((value && value->is_string() && value->get_string() == "alive"));
}

TEST_CASE("every bad request gets its error and the connections stay usable") {
  TempDir work;
  LsmdServer server(work, work.File("data"));
  REQUIRE(server.ready());
  LineClient client;
  LineClient bystander;
  REQUIRE(client.Connect(server.port()));
  REQUIRE(bystander.Connect(server.port()));
  REQUIRE(bystander.SendLine(R"({"type":"put","msg_id":1,"key":"probe","value":"alive"})"));
  REQUIRE(bystander.ReadLine());

  int probe_id = 1000;
  for (const BadInput& bad : BadInputs()) {
    INFO("input: ", bad.name);
    REQUIRE(client.SendLine(bad.line));
    std::optional<std::string> reply = client.ReadLine();
    REQUIRE(reply);
    boost::json::object body = ReplyBody(*reply);
    CHECK(TypeOf(body) == "error");
    CHECK_MESSAGE(IntField(body, "code") == bad.code, *reply);
    CheckStillServed(client, ++probe_id);
    CheckStillServed(bystander, ++probe_id);
  }
}

TEST_CASE("bad requests pipelined between good ones are each answered in order") {
  TempDir work;
  LsmdServer server(work, work.File("data"));
  REQUIRE(server.ready());
  LineClient client;
  REQUIRE(client.Connect(server.port()));
  REQUIRE(client.SendLine(R"({"type":"put","msg_id":1,"key":"probe","value":"alive"})"));
  REQUIRE(client.ReadLine());

  std::string batch;
  std::vector<BadInput> inputs = BadInputs();
  for (size_t i = 0; i < inputs.size(); ++i) {
    batch += inputs[i].line + "\n" + GetProbe(static_cast<int>(2000 + i)) + "\n";
  }
  REQUIRE(client.Send(batch));
  for (size_t i = 0; i < inputs.size(); ++i) {
    INFO("input: ", inputs[i].name);
    std::optional<std::string> error = client.ReadLine();
    std::optional<std::string> probe = client.ReadLine();
    REQUIRE(error);
    REQUIRE(probe);
    CHECK(IntField(ReplyBody(*error), "code") == inputs[i].code);
    CHECK(IntField(ReplyBody(*probe), "in_reply_to") == static_cast<int64_t>(2000 + i));
  }
}

TEST_CASE("a 2 MiB line gets error 12, then the connection is closed") {
  TempDir work;
  LsmdServer server(work, work.File("data"));
  REQUIRE(server.ready());
  LineClient client;
  LineClient bystander;
  REQUIRE(client.Connect(server.port()));
  REQUIRE(bystander.Connect(server.port()));
  REQUIRE(bystander.SendLine(R"({"type":"put","msg_id":1,"key":"probe","value":"alive"})"));
  REQUIRE(bystander.ReadLine());

  std::string huge =
      R"({"type":"put","msg_id":2,"key":"big","value":")" + std::string(2 << 20, 'x') + "\"}\n";
  // The server drains what it will not read, so the whole line goes out.
  CHECK(client.Send(huge, 20s));
  std::optional<std::string> reply = client.ReadLine();
  REQUIRE(reply);
  boost::json::object body = ReplyBody(*reply);
  CHECK(TypeOf(body) == "error");
  CHECK(IntField(body, "code") == 12);
  CHECK(client.WaitForClose());

  CheckStillServed(bystander, 3);
  LineClient fresh;
  REQUIRE(fresh.Connect(server.port()));
  CheckStillServed(fresh, 4);
}

TEST_CASE("a line is limited by --max-line-bytes") {
  TempDir work;
  LsmdServer server(work, work.File("data"), {"--max-line-bytes", "100"});
  REQUIRE(server.ready());
  LineClient client;
  REQUIRE(client.Connect(server.port()));
  // 100 bytes exactly is still a request.
  std::string put = R"({"type":"put","msg_id":1,"key":"probe","value":"alive"})";
  put.insert(put.size() - 1, std::string(100 - put.size(), ' '));
  REQUIRE(put.size() == 100);
  REQUIRE(client.SendLine(put));
  std::optional<std::string> reply = client.ReadLine();
  REQUIRE(reply);
  CHECK(TypeOf(ReplyBody(*reply)) == "put_ok");

  REQUIRE(client.SendLine(put + " "));
  reply = client.ReadLine();
  REQUIRE(reply);
  CHECK(IntField(ReplyBody(*reply), "code") == 12);
  CHECK(client.WaitForClose());
}

}  // namespace
}  // namespace lsmd::test
