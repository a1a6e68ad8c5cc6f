// `lsmd --stdio` as the sample cases' harness runs it: requests on stdin,
// replies on stdout, exit 0 at end of input.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "server/test_process.h"

namespace lsmd::test {
namespace {

// The case's harness allows 5 s for the whole run.
constexpr Millis kCaseTimeout = 5s;

struct StdioRun {
  std::optional<int> exit_code;
  std::vector<std::string> stdout_lines;
  std::string stderr_text;
};

StdioRun RunStdio(const TempDir& work, const std::string& input_path, const std::string& data_dir,
                  Millis timeout = kCaseTimeout) {
  static int runs = 0;
  std::string name = "stdio-" + std::to_string(runs++);
  ChildProcess process({LSMD_BINARY, "--stdio", "--data-dir", data_dir}, input_path,
                       work.File(name + ".out"), work.File(name + ".err"));
  StdioRun run;
  run.exit_code = process.Wait(timeout);
  run.stdout_lines = SplitLines(ReadFile(work.File(name + ".out")));
  run.stderr_text = ReadFile(work.File(name + ".err"));
  return run;
}

void WriteInput(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// Checks the run against one sample case: every expected line byte for byte,
// nothing but JSON replies, one reply per request, a well-formed flush reply.
void CheckSeedCase(const std::string& case_name) {
  INFO("case ", case_name);
  TempDir work;
  std::string base = std::string(LSMD_SEED_CASES_DIR) + "/" + case_name;
  StdioRun run = RunStdio(work, base + ".in", work.File("data"));
  INFO("stderr: ", run.stderr_text);
  REQUIRE(run.exit_code.has_value());
  CHECK(*run.exit_code == 0);

  for (const std::string& expected : SplitLines(ReadFile(base + ".expected"))) {
    bool present = std::find(run.stdout_lines.begin(), run.stdout_lines.end(), expected) !=
                   run.stdout_lines.end();
    CHECK_MESSAGE(present, expected);
  }
  CHECK(run.stdout_lines.size() == SplitLines(ReadFile(base + ".in")).size());

  int flush_replies = 0;
  for (const std::string& line : run.stdout_lines) {
    INFO("line: ", line);
    boost::json::object body = ReplyBody(line);
    REQUIRE_FALSE(body.empty());  // a JSON object, i.e. not a log line
    if (TypeOf(body) != "sstable_flush_ok") continue;
    ++flush_replies;
    CHECK(IntField(body, "in_reply_to") == 2);
    CHECK(IntField(body, "entries") >= 0);
    CHECK(IntField(body, "bloom_filter_bits") >= 0);
    CHECK(IntField(body, "size_bytes") >= 0);
    const boost::json::value* file = body.if_contains("sstable_file");
    CHECK((file != nullptr && (file->is_string() || file->is_null())));
  }
  CHECK(flush_replies == 1);
}

TEST_CASE("sample case 01: flush creates an SSTable") { CheckSeedCase("01-flush-creates-sstable"); }

TEST_CASE("sample case 02: lookup of an existing key") { CheckSeedCase("02-lookup-existing-key"); }

TEST_CASE("stdio writes survive a restart and an unterminated last line is answered") {
  TempDir work;
  std::string data_dir = work.File("data");
  WriteInput(
      work.File("first.in"),
      R"({"src":"c1","dest":"n1","body":{"type":"put","msg_id":1,"key":"user:42","value":"Alice"}})"
      "\n"
      R"({"src":"c1","dest":"n1","body":{"type":"sstable_flush","msg_id":2}})"
      "\n"
      R"({"src":"c1","dest":"n1","body":{"type":"put","msg_id":3,"key":"user:43","value":"Bob"}})");
  StdioRun first = RunStdio(work, work.File("first.in"), data_dir);
  REQUIRE(first.exit_code == std::optional<int>(0));
  REQUIRE(first.stdout_lines.size() == 3);
  CHECK(TypeOf(ReplyBody(first.stdout_lines[2])) == "put_ok");

  WriteInput(work.File("second.in"),
             R"({"src":"c1","dest":"n1","body":{"type":"get","msg_id":1,"key":"user:42"}})"
             "\n"
             R"({"src":"c1","dest":"n1","body":{"type":"get","msg_id":2,"key":"user:43"}})"
             "\n");
  StdioRun second = RunStdio(work, work.File("second.in"), data_dir);
  REQUIRE(second.exit_code == std::optional<int>(0));
  REQUIRE(second.stdout_lines.size() == 2);
  CHECK(
      second.stdout_lines[0] ==
      R"({"src": "n1", "dest": "c1", "body": {"type": "get_ok", "in_reply_to": 1, "msg_id": 0, "found": true, "value": "Alice"}})");
  CHECK(ReplyBody(second.stdout_lines[1])["value"] == "Bob");
}

TEST_CASE("stdio answers an over-long line with error 12 and goes on") {
  TempDir work;
  std::string huge =
      R"({"type":"put","msg_id":1,"key":"k","value":")" + std::string(2 << 20, 'x') + "\"}\n";
  WriteInput(work.File("long.in"), huge + R"({"type":"get","msg_id":2,"key":"k"})" + "\n");
  StdioRun run = RunStdio(work, work.File("long.in"), work.File("data"), 20s);
  REQUIRE(run.exit_code == std::optional<int>(0));
  REQUIRE(run.stdout_lines.size() == 2);
  CHECK(IntField(ReplyBody(run.stdout_lines[0]), "code") == 12);
  boost::json::object get = ReplyBody(run.stdout_lines[1]);
  CHECK(IntField(get, "in_reply_to") == 2);
  CHECK(get["found"] == false);
}

}  // namespace
}  // namespace lsmd::test
