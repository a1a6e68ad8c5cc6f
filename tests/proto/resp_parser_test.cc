// RESP2 request parsing: multibulk and inline requests as Redis 7 reads them,
// every protocol error with its exact text, binary bytes, pipelines, the
// limits at and one past their value, every split point of representative
// streams giving the same results, and a pending bulk costing nothing per
// call.
#include "proto/resp/resp_parser.h"

#include <doctest/doctest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "proto/resp/resp_writer.h"

namespace lsmd::proto::resp {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

using Args = std::vector<std::string>;

// One Parse result with copied arguments.
struct Outcome {
  ParseStatus status = ParseStatus::kNeedMore;
  size_t consumed = 0;
  std::string error;
  Args args;
  bool operator==(const Outcome&) const = default;
};

Outcome ToOutcome(const ParseResult& result, const std::vector<std::string_view>& args) {
  return Outcome{result.status, result.consumed, result.error, Args(args.begin(), args.end())};
}

const char* StatusName(ParseStatus status) {
  switch (status) {
    case ParseStatus::kComplete:
      return "complete";
    case ParseStatus::kNeedMore:
      return "need more";
    case ParseStatus::kProtocolError:
      return "protocol error";
  }
  return "?";
}

std::string Describe(const std::vector<Outcome>& outcomes) {
  std::string text;
  for (const Outcome& o : outcomes) {
    text += StatusName(o.status);
    if (o.status == ParseStatus::kComplete) {
      text += " " + std::to_string(o.consumed) + " [";
      for (const std::string& a : o.args) text += "<" + a + ">";
      text += "]";
    }
    if (!o.error.empty()) text += " '" + o.error + "'";
    text += "; ";
  }
  return text;
}

// One request parsed from the front of `input` by a fresh parser.
Outcome ParseOnce(std::string_view input, const ParserLimits& limits = {}) {
  RequestParser parser(limits);
  std::vector<std::string_view> args;
  const ParseResult result = parser.Parse(input, &args);
  return ToOutcome(result, args);
}

// `stream` as a connection sees it when the first read ends at `split` and
// the second brings the rest: every result up to the final kNeedMore or the
// first error. `completed_first` gets how many requests the first read
// completed.
std::vector<Outcome> ParseInTwoReads(std::string_view stream, size_t split,
                                     const ParserLimits& limits, size_t* completed_first) {
  RequestParser parser(limits);
  std::vector<std::string_view> args;
  std::vector<Outcome> outcomes;
  size_t pos = 0;
  *completed_first = 0;
  while (true) {
    const ParseResult r = parser.Parse(stream.substr(pos, split - pos), &args);
    if (r.status == ParseStatus::kNeedMore) break;
    outcomes.push_back(ToOutcome(r, args));
    if (r.status == ParseStatus::kProtocolError) return outcomes;
    REQUIRE(r.consumed > 0);
    REQUIRE(r.consumed <= split - pos);
    pos += r.consumed;
    ++*completed_first;
  }
  while (true) {
    const ParseResult r = parser.Parse(stream.substr(pos), &args);
    outcomes.push_back(ToOutcome(r, args));
    if (r.status != ParseStatus::kComplete) return outcomes;
    REQUIRE(r.consumed > 0);
    pos += r.consumed;
  }
}

// The whole stream in one read.
std::vector<Outcome> ParseStream(std::string_view stream, const ParserLimits& limits = {}) {
  size_t ignored;
  return ParseInTwoReads(stream, stream.size(), limits, &ignored);
}

// Every split point gives the results of one read; for a stream of complete
// requests, the first read completes exactly the requests it holds whole.
void CheckEverySplit(std::string_view stream, const ParserLimits& limits = {}) {
  const std::vector<Outcome> whole = ParseStream(stream, limits);
  std::vector<size_t> ends;  // where each completed request ends
  size_t end = 0;
  for (const Outcome& o : whole) {
    if (o.status != ParseStatus::kComplete) break;
    end += o.consumed;
    ends.push_back(end);
  }
  const bool all_valid = whole.back().status == ParseStatus::kNeedMore;
  for (size_t split = 0; split <= stream.size(); ++split) {
    CAPTURE(split);
    size_t completed_first = 0;
    const std::vector<Outcome> two = ParseInTwoReads(stream, split, limits, &completed_first);
    CHECK_MESSAGE(two == whole, Describe(two), " vs ", Describe(whole));
    if (all_valid) {
      size_t held = 0;
      while (held < ends.size() && ends[held] <= split) ++held;
      CHECK(completed_first == held);
    }
  }
}

// `input` is one request with these arguments using all of it, however it is
// split.
void ExpectRequest(std::string_view input, const Args& expected, const ParserLimits& limits = {}) {
  CAPTURE(input);
  const Outcome o = ParseOnce(input, limits);
  CHECK_MESSAGE(o.status == ParseStatus::kComplete, o.error);
  CHECK(o.consumed == input.size());
  CHECK(o.args == expected);
  CheckEverySplit(input, limits);
}

// `input` is refused with exactly `error`; each of its prefixes either needs
// more or gives the same error.
void ExpectError(std::string_view input, std::string_view error, const ParserLimits& limits = {}) {
  CAPTURE(input);
  const Outcome o = ParseOnce(input, limits);
  CHECK(o.status == ParseStatus::kProtocolError);
  CHECK(o.error == error);
  CHECK(o.consumed == 0);
  CHECK(o.args.empty());
  CHECK(o.error.find_first_of("\r\n") == std::string::npos);
  if (input.size() <= 4096) CheckEverySplit(input, limits);
}

void ExpectNeedMore(std::string_view input, const ParserLimits& limits = {}) {
  CAPTURE(input);
  const Outcome o = ParseOnce(input, limits);
  CHECK(o.status == ParseStatus::kNeedMore);
  CHECK(o.consumed == 0);
  CHECK(o.args.empty());
  CHECK(o.error.empty());
}

bool Inside(std::string_view outer, std::string_view inner) {
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

ParserLimits SmallLimits() {
  ParserLimits limits;
  limits.max_bulk_bytes = 5;
  limits.max_multibulk_len = 3;
  limits.max_inline_bytes = 8;
  return limits;
}

// ---- Multibulk ----

TEST_CASE("multibulk requests") {
  ExpectRequest("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n", {"SET", "k", "value"});
  ExpectRequest("*1\r\n$4\r\nPING\r\n", {"PING"});
  ExpectRequest("*2\r\n$0\r\n\r\n$0\r\n\r\n", {"", ""});
  // Binary bytes, protocol bytes included, are data inside a bulk.
  ExpectRequest("*2\r\n$3\r\nGET\r\n$9\r\n\0\r\n*1\r\n$\xff\r\n"s, {"GET", "\0\r\n*1\r\n$\xff"s});
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes.push_back(char(c));
  ExpectRequest("*1\r\n$256\r\n" + all_bytes + "\r\n", {all_bytes});
  // Leading zeros are not numbers in Redis, but a lone 0 is.
  ExpectRequest("*1\r\n$0\r\n\r\n", {""});
}

TEST_CASE("multibulk arguments are views into the input") {
  const std::string input = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
  RequestParser parser;
  std::vector<std::string_view> args;
  REQUIRE(parser.Parse(input, &args).status == ParseStatus::kComplete);
  REQUIRE(args.size() == 2);
  CHECK(args[0].data() == input.data() + 8);
  CHECK(args[1].data() == input.data() + 17);
  CHECK_FALSE(parser.Owns(args[0]));
}

TEST_CASE("a multibulk count of zero or below is an ignored request") {
  for (std::string_view input :
       {"*0\r\n"sv, "*-1\r\n"sv, "*-5\r\n"sv, "*-9223372036854775808\r\n"sv}) {
    CAPTURE(input);
    const Outcome o = ParseOnce(input);
    CHECK(o.status == ParseStatus::kComplete);
    CHECK(o.consumed == input.size());
    CHECK(o.args.empty());
    CheckEverySplit(input);
  }
  // It consumes only its own line.
  const Outcome o = ParseOnce("*0\r\n*1\r\n$1\r\na\r\n");
  CHECK(o.status == ParseStatus::kComplete);
  CHECK(o.consumed == 4);
}

TEST_CASE("an incomplete multibulk request needs more") {
  for (std::string_view input :
       {""sv, "*"sv, "*3"sv, "*3\r"sv, "*3\r\n"sv, "*3\r\n$"sv, "*3\r\n$3"sv, "*3\r\n$3\r"sv,
        "*3\r\n$3\r\n"sv, "*3\r\n$3\r\nSE"sv, "*3\r\n$3\r\nSET"sv, "*3\r\n$3\r\nSET\r"sv,
        "*3\r\n$3\r\nSET\r\n"sv, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r"sv,
        // No '\r' yet: Redis waits for one (a bare '\n' is part of the number).
        "*1\n"sv, "*1\r\nfoo"sv, "*1\r\n$1\n"sv}) {
    ExpectNeedMore(input);
  }
}

TEST_CASE("multibulk count errors") {
  const std::string_view invalid = kErrInvalidMultibulkLength;
  CHECK(invalid == "ERR Protocol error: invalid multibulk length");
  for (std::string_view input :
       {"*\r\n"sv, "*abc\r\n"sv, "*+5\r\n"sv, "* 5\r\n"sv, "*5 \r\n"sv, "*05\r\n"sv, "*00\r\n"sv,
        "*-0\r\n"sv, "*-\r\n"sv, "*1x\r\n"sv, "*0x1\r\n"sv, "*1.0\r\n"sv,
        "*99999999999999999999\r\n"sv, "*9223372036854775808\r\n"sv, "*-9223372036854775809\r\n"sv,
        "*9223372036854775807\r\n"sv,
        "*1048577\r\n"sv,  // one more than the default limit
        // A bare '\n' makes the rest up to the next '\r' part of the number.
        "*1\n$3\r\nfoo\r\n"sv,
        // Not in Redis (it skips the byte after '\r' unread): the header ends in CRLF.
        "*1\rX$3\r\nfoo\r\n"sv, "*1\r\r\n"sv,
        // NUL is an ordinary byte, so it is part of the number.
        "*1\0\r\n"sv}) {
    ExpectError(input, invalid);
  }
}

TEST_CASE("bulk header errors") {
  CHECK(kErrInvalidBulkLength == "ERR Protocol error: invalid bulk length");
  for (std::string_view input :
       {"*1\r\n$\r\n"sv, "*1\r\n$-1\r\n"sv, "*1\r\n$-2\r\n"sv, "*1\r\n$abc\r\n"sv,
        "*1\r\n$+1\r\n"sv, "*1\r\n$ 1\r\n"sv, "*1\r\n$1 \r\n"sv, "*1\r\n$01\r\n"sv,
        "*1\r\n$-0\r\n"sv, "*1\r\n$99999999999999999999\r\n"sv, "*1\r\n$9223372036854775808\r\n"sv,
        "*1\r\n$9223372036854775807\r\n"sv,
        "*1\r\n$536870913\r\n"sv,  // one past the default proto-max-bulk-len
        "*1\r\n$3\nfoo\r\n"sv, "*1\r\n$3\rXfoo\r\n"sv, "*2\r\n$1\r\na\r\n$x\r\n"sv}) {
    ExpectError(input, kErrInvalidBulkLength);
  }
  // The default limit itself is accepted: the request waits for its data.
  ExpectNeedMore("*1\r\n$536870912\r\n"sv);
}

TEST_CASE("an argument that is not a bulk string") {
  CHECK(ExpectedDollarError('f') == "ERR Protocol error: expected '$', got 'f'");
  ExpectError("*1\r\nfoo\r\n", "ERR Protocol error: expected '$', got 'f'");
  ExpectError("*2\r\n$1\r\na\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'");
  ExpectError("*1\r\n*1\r\n", "ERR Protocol error: expected '$', got '*'");
  // CR and LF print as a space, as Redis maps them; other bytes as they are.
  ExpectError("*1\r\n\r\n", "ERR Protocol error: expected '$', got ' '");
  ExpectError("*1\r\n\n\r\n", "ERR Protocol error: expected '$', got ' '");
  ExpectError("*1\r\n\0\r\n"s, "ERR Protocol error: expected '$', got '\0'"s);
  ExpectError("*1\r\n\xff\r\n"s, "ERR Protocol error: expected '$', got '\xff'"s);
  for (int byte = 0; byte < 256; ++byte) {
    if (byte == '$') continue;
    const char c = char(byte);
    ExpectError("*1\r\n"s + c + "1\r\n", ExpectedDollarError(c));
  }
}

TEST_CASE("the bytes after a bulk's data must be CRLF (not checked by Redis)") {
  CHECK(kErrExpectedCrlfAfterBulk == "ERR Protocol error: expected CRLF after bulk data");
  for (std::string_view input :
       {"*1\r\n$3\r\nfooX"sv, "*1\r\n$3\r\nfooXY"sv, "*1\r\n$3\r\nfoo\rX"sv,
        "*1\r\n$3\r\nfoo\n\r"sv, "*1\r\n$3\r\nfoo\r\r\n"sv, "*1\r\n$3\r\nfoobar\r\n"sv,
        "*2\r\n$1\r\na\r\n$0\r\nb\r\n"sv, "*1\r\n$2\r\nfoo\r\n"sv}) {
    ExpectError(input, kErrExpectedCrlfAfterBulk);
  }
}

TEST_CASE("header lines longer than max_inline_bytes") {
  CHECK(kErrTooBigMultibulkCount == "ERR Protocol error: too big mbulk count string");
  CHECK(kErrTooBigBulkCount == "ERR Protocol error: too big bulk count string");
  const ParserLimits limits = SmallLimits();  // max_inline_bytes = 8
  // The '\r' may sit at offset 8 of the line, not 9.
  ExpectRequest("*-1234567\r\n", {}, [] {
    ParserLimits l;
    l.max_inline_bytes = 9;
    return l;
  }());
  ExpectError("*-1234567\r\n", kErrTooBigMultibulkCount, limits);
  ExpectError("*-1234567", kErrTooBigMultibulkCount, limits);
  ExpectNeedMore("*-123456", limits);
  ExpectRequest("*-123456\r\n", {}, limits);
  // Found in time but not a number: that error.
  ExpectError("*1234567\r\n", kErrInvalidMultibulkLength, limits);

  ParserLimits bulk_limits = limits;
  bulk_limits.max_bulk_bytes = 10000000;
  ExpectNeedMore("*1\r\n$1234567\r\n", bulk_limits);
  ExpectError("*1\r\n$12345678\r\n", kErrTooBigBulkCount, bulk_limits);
  ExpectError("*1\r\n$12345678", kErrTooBigBulkCount, bulk_limits);
  ExpectNeedMore("*1\r\n$1234567", bulk_limits);
  // The line length counts from the '$', whatever came before.
  ExpectNeedMore("*2\r\n$5\r\nabcde\r\n$1234567\r\n", bulk_limits);

  // The default limit, 64 KiB, as Redis.
  for (const std::string& prefix : {"*"s, "*1\r\n$"s}) {
    const bool bulk = prefix.size() > 1;
    const std::string large = prefix + std::string(65535, '0');  // the line's first 65536 bytes
    ExpectNeedMore(large);
    ExpectNeedMore(large + "\r");
    ExpectError(large + "0", bulk ? kErrTooBigBulkCount : kErrTooBigMultibulkCount);
    ExpectError(large + "\r\n", bulk ? kErrInvalidBulkLength : kErrInvalidMultibulkLength);
  }
}

TEST_CASE("max_bulk_bytes: exactly the limit is accepted, one more is refused") {
  const ParserLimits limits = SmallLimits();  // max_bulk_bytes = 5
  ExpectRequest("*1\r\n$5\r\nabcde\r\n", {"abcde"}, limits);
  ExpectError("*1\r\n$6\r\nabcdef\r\n", kErrInvalidBulkLength, limits);
  // Refused at its header, before any data.
  ExpectError("*1\r\n$6\r\n", kErrInvalidBulkLength, limits);
}

TEST_CASE("max_multibulk_len: exactly the limit is accepted, one more is refused") {
  const ParserLimits limits = SmallLimits();  // max_multibulk_len = 3
  ExpectRequest("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", {"a", "b", "c"}, limits);
  ExpectError("*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n", kErrInvalidMultibulkLength,
              limits);
  ExpectError("*4\r\n", kErrInvalidMultibulkLength, limits);
  // The default.
  ExpectNeedMore("*1048576\r\n");
  ExpectError("*1048577\r\n", kErrInvalidMultibulkLength);
}

// ---- Inline ----

TEST_CASE("inline requests") {
  ExpectRequest("PING\r\n", {"PING"});
  ExpectRequest("PING\n", {"PING"});
  ExpectRequest(" PING\t\r\n", {"PING"});
  ExpectRequest("SET k v\n", {"SET", "k", "v"});
  ExpectRequest("  SET \t k   v  \r\n", {"SET", "k", "v"});
  // A '\r' inside the line separates words; only the one before '\n' is dropped.
  ExpectRequest("a\rb\r\n", {"a", "b"});
  ExpectRequest("a\r\r\n", {"a"});
  // Any first byte but '*' starts an inline request.
  ExpectRequest("$3\r\n", {"$3"});
  ExpectRequest(":1 +2 -3\n", {":1", "+2", "-3"});
  // Bytes above 0x7f are ordinary.
  ExpectRequest("GET \xc3\xa9t\xe9\n"s, {"GET", "\xc3\xa9t\xe9"s});
  // '\v' and '\f' are skipped between words but kept inside one (sdssplitargs).
  ExpectRequest("\v\fa\vb c\f\n", {"a\vb", "c\f"});
}

TEST_CASE("inline NUL bytes are ordinary (Redis would wait for a newline it cannot see)") {
  ExpectRequest("GET a\0b\n"s, {"GET", "a\0b"s});
  ExpectRequest("\0\n"s, {"\0"s});
  ExpectRequest("\"a\0b\"\n"s, {"a\0b"s});
}

TEST_CASE("an empty or blank inline line is an ignored request") {
  for (std::string_view input :
       {"\n"sv, "\r\n"sv, " \t\n"sv, "   \t \r\n"sv, "\r\r\n"sv, "\v\f\n"sv}) {
    CAPTURE(input);
    const Outcome o = ParseOnce(input);
    CHECK(o.status == ParseStatus::kComplete);
    CHECK(o.consumed == input.size());
    CHECK(o.args.empty());
  }
  // An empty line before a request is skipped on its own.
  const Outcome o = ParseOnce("\r\n*1\r\n$1\r\na\r\n");
  CHECK(o.status == ParseStatus::kComplete);
  CHECK(o.consumed == 2);
  CHECK(o.args.empty());
}

TEST_CASE("an inline request without its newline needs more") {
  for (std::string_view input : {"P"sv, "PING"sv, "PING\r"sv, "SET \"a b"sv, " "sv, "\r"sv}) {
    ExpectNeedMore(input);
  }
}

TEST_CASE("inline double quotes and their escapes") {
  ExpectRequest("SET \"a b\" \"\"\n", {"SET", "a b", ""});
  ExpectRequest(R"("\n\r\t\b\a\\\"")"s + "\n", {"\n\r\t\b\a\\\""});
  ExpectRequest(R"("\x41\x4a\x4A\x00\xff")"s + "\n", {"AJJ\0\xff"s});
  // \x without two hex digits is an ordinary escape: the 'x' itself.
  ExpectRequest(R"("\xZZ" "\x4" "\x")"s + "\n", {"xZZ", "x4", "x"});
  ExpectRequest(R"("\q\'" "a'b")"s + "\n", {"q'", "a'b"});
  // Quotes may begin inside a word, which then ends at the closing quote.
  ExpectRequest(R"(a"b c" x"")"s + "\n", {"ab c", "x"});
  // A closing quote followed by any isspace byte.
  ExpectRequest("\"a\"\tb\n", {"a", "b"});
  ExpectRequest("\"a\"\vb\n", {"a", "b"});
  ExpectRequest("\"a\"\r\n", {"a"});
  ExpectRequest("\"a\"\r\r\n", {"a"});
}

TEST_CASE("inline single quotes: only \\' is an escape") {
  ExpectRequest(R"(SET 'a b' '')"s + "\n", {"SET", "a b", ""});
  ExpectRequest(R"('a\'b' 'a\nb' 'a"b' 'a\\b')"s + "\n", {"a'b", R"(a\nb)", "a\"b", R"(a\\b)"});
  ExpectRequest(R"(a'b c')"s + "\n", {"ab c"});
}

TEST_CASE("unbalanced quotes") {
  CHECK(kErrUnbalancedQuotes == "ERR Protocol error: unbalanced quotes in request");
  for (std::string_view input :
       {"ECHO \"a\n"sv, "ECHO 'a\r\n"sv, "ECHO \"a\"x\n"sv, "ECHO 'a'x\n"sv, "ECHO \"a\\\"\n"sv,
        "ECHO 'a\\'\n"sv, "ECHO \"a\\\n"sv, "\"\n"sv, "'\n"sv, "\"\"\"\n"sv, "a\"b\"c\n"sv,
        "\"a\"\"b\"\n"sv, "\"a\"\0\n"sv,
        "ECHO 'a\\\\'\n"sv,  // 'a\\' : the second backslash escapes the quote
        "\"a\nb\"\n"sv}) {   // the line ends inside the quotes
    ExpectError(input, kErrUnbalancedQuotes);
  }
}

TEST_CASE("max_inline_bytes: a line of exactly the limit is accepted, one more is refused") {
  CHECK(kErrTooBigInline == "ERR Protocol error: too big inline request");
  const ParserLimits limits = SmallLimits();  // max_inline_bytes = 8
  ExpectRequest("12345678\n", {"12345678"}, limits);
  ExpectRequest("1234567\r\n", {"1234567"}, limits);  // the '\r' counts
  ExpectNeedMore("12345678", limits);
  ExpectError("123456789", kErrTooBigInline, limits);
  ExpectError("123456789\n", kErrTooBigInline, limits);
  ExpectError("12345678\r\n", kErrTooBigInline, limits);
  // The default, 64 KiB, as Redis.
  ExpectNeedMore(std::string(65536, 'x'));
  ExpectError(std::string(65537, 'x'), kErrTooBigInline);
  const Outcome o = ParseOnce(std::string(65536, 'x') + "\n");
  CHECK(o.status == ParseStatus::kComplete);
  ExpectError(std::string(65537, 'x') + "\n", kErrTooBigInline);
}

TEST_CASE("inline words: views into the input where possible, owned strings otherwise") {
  const std::string input = "SET \"plain\" 'also' \"esc\\n\" a\"b\" \"\" x\n";
  RequestParser parser;
  std::vector<std::string_view> args;
  REQUIRE(parser.Parse(input, &args).status == ParseStatus::kComplete);
  REQUIRE(args == std::vector<std::string_view>{"SET", "plain", "also", "esc\n", "ab", "", "x"});
  for (size_t i : {0, 1, 2, 5, 6}) {
    CAPTURE(i);
    CHECK(Inside(input, args[i]));
    CHECK_FALSE(parser.Owns(args[i]));
  }
  for (size_t i : {3, 4}) {
    CAPTURE(i);
    CHECK(parser.Owns(args[i]));
    CHECK_FALSE(Inside(input, args[i]));
  }
}

TEST_CASE("owned words stay valid across Parse calls until Clear") {
  const std::string input = "ECHO \"first\\x21\"\nECHO \"second\\x21\"\n*1\r\n$1\r\nz\r\n";
  RequestParser parser;
  std::vector<std::string_view> first;
  std::vector<std::string_view> second;
  std::vector<std::string_view> third;
  const ParseResult r1 = parser.Parse(input, &first);
  REQUIRE(r1.status == ParseStatus::kComplete);
  const ParseResult r2 = parser.Parse(std::string_view(input).substr(r1.consumed), &second);
  REQUIRE(r2.status == ParseStatus::kComplete);
  // A refused line leaves no owned strings behind.
  std::vector<std::string_view> refused;
  REQUIRE(parser.Parse("\"a\\x21\" \"b\n", &refused).status == ParseStatus::kProtocolError);
  CHECK(refused.empty());
  const ParseResult r3 =
      parser.Parse(std::string_view(input).substr(r1.consumed + r2.consumed), &third);
  REQUIRE(r3.status == ParseStatus::kComplete);
  CHECK(r1.consumed + r2.consumed + r3.consumed == input.size());
  CHECK(first == std::vector<std::string_view>{"ECHO", "first!"});
  CHECK(second == std::vector<std::string_view>{"ECHO", "second!"});
  CHECK(third == std::vector<std::string_view>{"z"});
  CHECK(parser.Owns(first[1]));
  CHECK(parser.Owns(second[1]));
  parser.Clear();
  CHECK_FALSE(parser.Owns(second[1]));
}

// ---- Pipelines and splits ----

TEST_CASE("pipelined requests are consumed one at a time") {
  const std::string stream =
      "*2\r\n$3\r\nGET\r\n$1\r\na\r\n"
      "SET b \"x y\"\r\n"
      "\r\n"
      "*0\r\n"
      "*1\r\n$4\r\nPING\r\n"
      "PING\n"
      "*1\r\n$2\r\nPI";  // the start of one more
  const std::vector<Outcome> outcomes = ParseStream(stream);
  REQUIRE(outcomes.size() == 7);
  CHECK(outcomes[0] == Outcome{ParseStatus::kComplete, 20, "", {"GET", "a"}});
  CHECK(outcomes[1] == Outcome{ParseStatus::kComplete, 13, "", {"SET", "b", "x y"}});
  CHECK(outcomes[2] == Outcome{ParseStatus::kComplete, 2, "", {}});
  CHECK(outcomes[3] == Outcome{ParseStatus::kComplete, 4, "", {}});
  CHECK(outcomes[4] == Outcome{ParseStatus::kComplete, 14, "", {"PING"}});
  CHECK(outcomes[5] == Outcome{ParseStatus::kComplete, 5, "", {"PING"}});
  CHECK(outcomes[6] == Outcome{ParseStatus::kNeedMore, 0, "", {}});
  CheckEverySplit(stream);
}

TEST_CASE("a pipeline stops at its first protocol error") {
  const std::string stream = "PING\n*1\r\n$1\r\na\r\n*1\r\n$x\r\nPING\n";
  const std::vector<Outcome> outcomes = ParseStream(stream);
  REQUIRE(outcomes.size() == 3);
  CHECK(outcomes[0].args == Args{"PING"});
  CHECK(outcomes[1].args == Args{"a"});
  CHECK(outcomes[2] ==
        Outcome{ParseStatus::kProtocolError, 0, std::string(kErrInvalidBulkLength), {}});
  CheckEverySplit(stream);
}

TEST_CASE("every split point of representative streams") {
  CheckEverySplit("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$7\r\nva\r\nlue\r\n");
  CheckEverySplit("SET \"a \\\"b\\\"\" 'c d' \"\\x41\"\r\n");
  CheckEverySplit(
      "*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
  CheckEverySplit("*1\r\n$3\r\nfoo\r\n*1\r\n$3\r\nfooXX", SmallLimits());
  CheckEverySplit("PING\n123456789", SmallLimits());
  CheckEverySplit("*1\r\n$1\r\na\r\n*1\r\n$123456789", SmallLimits());
}

TEST_CASE("random commands survive writing, parsing and any split") {
  std::mt19937 rng(20240611);
  for (int round = 0; round < 200; ++round) {
    std::vector<Args> commands(1 + rng() % 4);
    std::string stream;
    for (Args& command : commands) {
      command.resize(1 + rng() % 4);
      for (std::string& arg : command) {
        arg.resize(rng() % 12);
        for (char& c : arg) c = char(rng() % 4 == 0 ? "\r\n\0*$ \"'"[rng() % 8] : rng());
      }
      AppendBulkArray(&stream, std::vector<std::string_view>(command.begin(), command.end()));
    }
    const std::vector<Outcome> outcomes = ParseStream(stream);
    REQUIRE(outcomes.size() == commands.size() + 1);
    for (size_t i = 0; i < commands.size(); ++i) CHECK(outcomes[i].args == commands[i]);
    CHECK(outcomes.back().status == ParseStatus::kNeedMore);
    if (round % 20 == 0) CheckEverySplit(stream);
  }
}

// ---- Cost ----

TEST_CASE("a large bulk arriving in 64 KiB chunks") {
  constexpr size_t kBulk = 10 << 20;
  ParserLimits limits;
  limits.max_bulk_bytes = 16 << 20;
  const std::string header = "*2\r\n$3\r\nSET\r\n$" + std::to_string(kBulk) + "\r\n";
  std::string buffer = header;
  RequestParser parser(limits);
  std::vector<std::string_view> args;
  size_t calls = 0;
  while (buffer.size() < header.size() + kBulk) {
    const size_t chunk = std::min<size_t>(64 << 10, header.size() + kBulk - buffer.size());
    buffer.append(chunk, char('a' + calls % 26));
    ++calls;
    const ParseResult r = parser.Parse(buffer, &args);
    REQUIRE(r.status == ParseStatus::kNeedMore);
    REQUIRE(args.empty());
  }
  buffer += "\r";
  REQUIRE(parser.Parse(buffer, &args).status == ParseStatus::kNeedMore);
  buffer += "\n";
  const ParseResult r = parser.Parse(buffer, &args);
  REQUIRE(r.status == ParseStatus::kComplete);
  CHECK(r.consumed == buffer.size());
  REQUIRE(args.size() == 2);
  CHECK(args[1].size() == kBulk);
  CHECK(args[1].data() == buffer.data() + header.size());
  CHECK(calls == 160);
}

// The cost claim made checkable: the pending bulk's bytes live on pages that
// cannot be read, so a parser that looked at them would crash.
TEST_CASE("a pending bulk's data is never read") {
  const size_t page = size_t(::sysconf(_SC_PAGESIZE));
  constexpr size_t kBulk = 10 << 20;
  const size_t data_pages = (kBulk + page - 1) / page;
  const size_t mapping = (1 + data_pages) * page;
  void* memory =
      ::mmap(nullptr, mapping, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(memory != MAP_FAILED);
  char* base = static_cast<char*>(memory);
  const std::string header = "*2\r\n$3\r\nSET\r\n$" + std::to_string(kBulk) + "\r\n";
  char* start = base + page - header.size();  // the header ends where the first page ends
  std::memcpy(start, header.data(), header.size());
  REQUIRE(::mprotect(base + page, data_pages * page, PROT_NONE) == 0);

  ParserLimits limits;
  limits.max_bulk_bytes = kBulk;
  RequestParser parser(limits);
  std::vector<std::string_view> args;
  for (size_t arrived = 0; arrived <= kBulk; arrived += 64 << 10) {
    const ParseResult r = parser.Parse(std::string_view(start, header.size() + arrived), &args);
    REQUIRE(r.status == ParseStatus::kNeedMore);
  }
  // All of the data but no CRLF yet: still nothing to read.
  REQUIRE(parser.Parse(std::string_view(start, header.size() + kBulk), &args).status ==
          ParseStatus::kNeedMore);
  REQUIRE(::munmap(memory, mapping) == 0);
}

}  // namespace
}  // namespace lsmd::proto::resp
