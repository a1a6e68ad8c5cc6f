// RESP2 reply bytes: every reply type byte for byte as Redis writes it, CR and
// LF kept out of one-line replies, binary-safe bulks, and replies appended
// after what the buffer already holds.
#include "proto/resp/resp_writer.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "proto/resp/resp_parser.h"

namespace lsmd::proto::resp {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

template <typename Append>
std::string Written(Append append) {
  std::string out;
  append(&out);
  return out;
}

TEST_CASE("simple strings") {
  CHECK(Written([](std::string* o) { AppendSimpleString(o, "OK"); }) == "+OK\r\n");
  CHECK(Written([](std::string* o) { AppendSimpleString(o, "PONG"); }) == "+PONG\r\n");
  CHECK(Written([](std::string* o) { AppendSimpleString(o, ""); }) == "+\r\n");
  CHECK(Written([](std::string* o) { AppendSimpleString(o, "a\r\nb\nc\rd"); }) == "+a  b c d\r\n");
  // Other bytes, NUL included, are written as they are.
  CHECK(Written([](std::string* o) { AppendSimpleString(o, "a\0\tb"s); }) == "+a\0\tb\r\n"s);
}

TEST_CASE("errors") {
  CHECK(Written([](std::string* o) {
          AppendError(o, "ERR wrong number of arguments for 'get' command");
        }) == "-ERR wrong number of arguments for 'get' command\r\n");
  CHECK(Written([](std::string* o) {
          AppendError(o, "WRONGTYPE Operation against a key holding the wrong kind of value");
        }) == "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  CHECK(Written([](std::string* o) { AppendError(o, "ERR bad\r\nline\n"); }) ==
        "-ERR bad  line \r\n");
  // What the parser reports goes out unchanged.
  CHECK(Written([](std::string* o) { AppendError(o, ExpectedDollarError('\n')); }) ==
        "-ERR Protocol error: expected '$', got ' '\r\n");
}

TEST_CASE("integers, the extremes included") {
  CHECK(Written([](std::string* o) { AppendInteger(o, 0); }) == ":0\r\n");
  CHECK(Written([](std::string* o) { AppendInteger(o, 1); }) == ":1\r\n");
  CHECK(Written([](std::string* o) { AppendInteger(o, -1); }) == ":-1\r\n");
  CHECK(Written([](std::string* o) { AppendInteger(o, 1234567890); }) == ":1234567890\r\n");
  CHECK(Written([](std::string* o) { AppendInteger(o, std::numeric_limits<int64_t>::max()); }) ==
        ":9223372036854775807\r\n");
  CHECK(Written([](std::string* o) { AppendInteger(o, std::numeric_limits<int64_t>::min()); }) ==
        ":-9223372036854775808\r\n");
}

TEST_CASE("bulk strings are binary safe") {
  CHECK(Written([](std::string* o) { AppendBulk(o, "foobar"); }) == "$6\r\nfoobar\r\n");
  CHECK(Written([](std::string* o) { AppendBulk(o, ""); }) == "$0\r\n\r\n");
  CHECK(Written([](std::string* o) { AppendBulk(o, "a\r\n\0b"s); }) == "$5\r\na\r\n\0b\r\n"s);
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes.push_back(char(c));
  CHECK(Written([&](std::string* o) { AppendBulk(o, all_bytes); }) ==
        "$256\r\n" + all_bytes + "\r\n");
  const std::string big(100000, 'x');
  CHECK(Written([&](std::string* o) { AppendBulk(o, big); }) == "$100000\r\n" + big + "\r\n");
}

TEST_CASE("nulls and arrays") {
  CHECK(Written([](std::string* o) { AppendNullBulk(o); }) == "$-1\r\n");
  CHECK(Written([](std::string* o) { AppendNullArray(o); }) == "*-1\r\n");
  CHECK(Written([](std::string* o) { AppendArrayHeader(o, 0); }) == "*0\r\n");
  CHECK(Written([](std::string* o) { AppendArrayHeader(o, 3); }) == "*3\r\n");
  CHECK(Written([](std::string* o) { AppendArrayHeader(o, std::numeric_limits<size_t>::max()); }) ==
        "*18446744073709551615\r\n");
  // A mixed array: SCAN-like [cursor, [keys...]] with a null inside.
  CHECK(Written([](std::string* o) {
          AppendArrayHeader(o, 3);
          AppendBulk(o, "0");
          AppendArrayHeader(o, 2);
          AppendBulk(o, "k1");
          AppendNullBulk(o);
          AppendInteger(o, 7);
        }) == "*3\r\n$1\r\n0\r\n*2\r\n$2\r\nk1\r\n$-1\r\n:7\r\n");
  CHECK(Written([](std::string* o) {
          AppendBulkArray(o, {"SET", "k", "v"});
        }) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
  CHECK(Written([](std::string* o) { AppendBulkArray(o, {}); }) == "*0\r\n");
}

TEST_CASE("replies append to what is there") {
  std::string out = "+OK\r\n";
  AppendInteger(&out, 42);
  AppendSimpleString(&out, "x\ny");  // only the new reply's LF becomes a space
  AppendError(&out, "ERR e");
  CHECK(out == "+OK\r\n:42\r\n+x y\r\n-ERR e\r\n");
}

TEST_CASE("a command written as a bulk array parses back to its arguments") {
  const std::vector<std::string_view> args = {"SET", "key\r\n", "", "v\0v"sv};
  std::string wire;
  AppendBulkArray(&wire, args);
  RequestParser parser;
  std::vector<std::string_view> parsed;
  const ParseResult result = parser.Parse(wire, &parsed);
  REQUIRE(result.status == ParseStatus::kComplete);
  CHECK(result.consumed == wire.size());
  REQUIRE(parsed.size() == 4);
  CHECK(parsed[0] == "SET");
  CHECK(parsed[1] == "key\r\n");
  CHECK(parsed[2] == "");
  CHECK(parsed[3] == "v\0v"sv);
}

}  // namespace
}  // namespace lsmd::proto::resp
