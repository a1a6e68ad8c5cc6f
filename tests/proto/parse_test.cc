// Request parsing: every message in both forms, and every malformed line
// getting the right error code with a text naming what is wrong.
#include "proto/parse.h"

#include <doctest/doctest.h>

#include <string>
#include <variant>

namespace lsmd::proto {
namespace {

std::string Envelope(const std::string& body) {
  return R"({"src":"c1","dest":"n1","body":)" + body + "}";
}

// Checks a line is refused with `code` and a text containing `mention`.
void ExpectError(const std::string& line, ErrorCode code, const std::string& mention) {
  CAPTURE(line);
  RequestParser parser;
  ParsedRequest parsed = parser.Parse(line);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.error->code == code);
  CAPTURE(parsed.error->text);
  CHECK(parsed.error->text.find(mention) != std::string::npos);
}

// Checks `body` parses, bare and in an envelope, as a T with msg_id 7, and
// runs check on the request.
template <typename T, typename Check>
void ExpectBothForms(const std::string& body, Check check) {
  for (const std::string& line : {body, Envelope(body)}) {
    CAPTURE(line);
    RequestParser parser;
    ParsedRequest parsed = parser.Parse(line);
    REQUIRE(parsed.ok());
    CHECK(parsed.route.in_reply_to == 7u);
    const bool envelope = line != body;
    CHECK(parsed.route.envelope == envelope);
    CHECK(parsed.route.client == (envelope ? "c1" : ""));
    const T* request = std::get_if<T>(&parsed.request);
    REQUIRE(request != nullptr);
    check(*request);
  }
}

TEST_CASE("every message type parses in bare and envelope form") {
  ExpectBothForms<InitRequest>(
      R"({"type":"init","msg_id":7,"node_id":"n1","node_ids":["n1","n2"]})",
      [](const InitRequest& r) {
        CHECK(r.node_id == "n1");
        REQUIRE(r.node_ids.size() == 2);
        CHECK(r.node_ids[1] == "n2");
      });
  ExpectBothForms<PutRequest>(R"({"type":"put","msg_id":7,"key":"a","value":"1"})",
                              [](const PutRequest& r) {
                                CHECK(r.key == "a");
                                CHECK(r.value == "1");
                              });
  ExpectBothForms<GetRequest>(R"({"type":"get","msg_id":7,"key":"user:42"})",
                              [](const GetRequest& r) { CHECK(r.key == "user:42"); });
  ExpectBothForms<DeleteRequest>(R"({"type":"delete","msg_id":7,"key":"a"})",
                                 [](const DeleteRequest& r) { CHECK(r.key == "a"); });
  ExpectBothForms<ScanRequest>(R"({"type":"scan","msg_id":7,"start":"a","end":"m","limit":5})",
                               [](const ScanRequest& r) {
                                 CHECK(r.start == "a");
                                 CHECK(r.end == std::optional<std::string_view>("m"));
                                 CHECK(r.limit == 5);
                               });
  ExpectBothForms<ScanRequest>(R"({"type":"scan","msg_id":7})", [](const ScanRequest& r) {
    CHECK(r.start.empty());
    CHECK_FALSE(r.end.has_value());
    CHECK(r.limit == kDefaultScanLimit);
  });
  ExpectBothForms<SSTableFlushRequest>(
      R"({"type":"sstable_flush","msg_id":7,"memtable_size_bytes":4194304})",
      [](const SSTableFlushRequest& r) { CHECK(r.memtable_size_bytes == 4194304u); });
  ExpectBothForms<SSTableFlushRequest>(
      R"({"type":"sstable_flush","msg_id":7})",
      [](const SSTableFlushRequest& r) { CHECK_FALSE(r.memtable_size_bytes.has_value()); });
  ExpectBothForms<SSTableLookupRequest>(
      R"({"type":"sstable_lookup","msg_id":7,"sstable":"L0_001.sst","key":"user:42"})",
      [](const SSTableLookupRequest& r) {
        CHECK(r.sstable == "L0_001.sst");
        CHECK(r.key == "user:42");
      });
  ExpectBothForms<CompactRequest>(R"({"type":"compact","msg_id":7})", [](const CompactRequest&) {});
  ExpectBothForms<StatsRequest>(R"({"type":"stats","msg_id":7})", [](const StatsRequest&) {});
}

TEST_CASE("the seed's lines parse") {
  RequestParser init_parser;
  ParsedRequest init = init_parser.Parse(
      R"({"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}})");
  REQUIRE(init.ok());
  CHECK(init.route.client == "c0");
  CHECK(init.route.in_reply_to == 1u);
  CHECK(std::get<InitRequest>(init.request).node_id == "n1");

  RequestParser flush_parser;
  ParsedRequest flush = flush_parser.Parse(
      R"({"src":"c1","dest":"n1","body":{"type":"sstable_flush","msg_id":2,"memtable_size_bytes":1024}})");
  REQUIRE(flush.ok());
  CHECK(std::get<SSTableFlushRequest>(flush.request).memtable_size_bytes == 1024u);
}

TEST_CASE("a request without msg_id has no in_reply_to") {
  RequestParser parser;
  ParsedRequest parsed = parser.Parse(R"({"type":"get","key":"a"})");
  REQUIRE(parsed.ok());
  CHECK_FALSE(parsed.route.in_reply_to.has_value());
  CHECK_FALSE(parsed.route.envelope);
}

TEST_CASE("msg_id accepts any non-negative JSON integer") {
  RequestParser parser;
  ParsedRequest parsed = parser.Parse(R"({"type":"stats","msg_id":18446744073709551615})");
  REQUIRE(parsed.ok());
  CHECK(parsed.route.in_reply_to == 18446744073709551615u);
}

TEST_CASE("keys and values are any UTF-8, \\u0000 included") {
  RequestParser parser;
  ParsedRequest parsed =
      parser.Parse(R"({"type":"put","key":"a\u0000b\"\\\n","value":"h\u00e9\u6f22 \ud83d\ude00"})");
  REQUIRE(parsed.ok());
  const auto& put = std::get<PutRequest>(parsed.request);
  CHECK(put.key == std::string_view("a\0b\"\\\n", 6));
  CHECK(put.value == "h\xC3\xA9\xE6\xBC\xA2 \xF0\x9F\x98\x80");
}

TEST_CASE("a key of exactly 16 KiB is accepted, one byte more is not") {
  const std::string max_key(kMaxKeyBytes, 'k');
  RequestParser parser;
  ParsedRequest parsed = parser.Parse(R"({"type":"get","key":")" + max_key + R"("})");
  REQUIRE(parsed.ok());
  CHECK(std::get<GetRequest>(parsed.request).key.size() == kMaxKeyBytes);

  ExpectError(R"({"type":"get","key":")" + max_key + R"(k"})", ErrorCode::kMalformedRequest,
              "field 'key' must be at most 16384 bytes");
}

TEST_CASE("malformed fields are refused with code 12 and the field's name") {
  const ErrorCode bad = ErrorCode::kMalformedRequest;
  ExpectError(R"({"type":"get","msg_id":1})", bad, "field 'key' must be a string");
  ExpectError(R"({"type":"get","key":5})", bad, "field 'key' must be a string");
  ExpectError(R"({"type":"put","key":"","value":"v"})", bad, "field 'key' must not be empty");
  ExpectError(R"({"type":"put","key":"a","value":1})", bad, "field 'value' must be a string");
  ExpectError(R"({"type":"put","key":"a"})", bad, "field 'value' must be a string");
  ExpectError(R"({"type":"delete","key":null})", bad, "field 'key' must be a string");
  ExpectError(R"({"type":"sstable_lookup","key":"a"})", bad, "field 'sstable' must be a string");
  ExpectError(R"({"type":"sstable_lookup","sstable":"L0_001.sst"})", bad, "field 'key'");
  ExpectError(R"({"type":"init","node_ids":["n1"]})", bad, "field 'node_id' must be a string");
  ExpectError(R"({"type":"init","node_id":"n1","node_ids":["n1",2]})", bad,
              "field 'node_ids' must be an array of strings");
  ExpectError(R"({"type":"scan","start":1})", bad, "field 'start' must be a string");
  ExpectError(R"({"type":"scan","end":[]})", bad, "field 'end' must be a string");
}

TEST_CASE("msg_id must be a non-negative integer") {
  for (const char* msg_id : {"-1", "1.5", "1.0", "1e2", "\"7\"", "null", "true"}) {
    std::string line = std::string(R"({"type":"get","key":"a","msg_id":)") + msg_id + "}";
    ExpectError(line, ErrorCode::kMalformedRequest,
                "field 'msg_id' must be a non-negative integer");
    RequestParser parser;
    CHECK_FALSE(parser.Parse(line).route.in_reply_to.has_value());
  }
}

TEST_CASE("scan limit must be an integer from 1 to 10000") {
  for (const char* limit : {"0", "10001", "\"5\"", "-3", "2.0"}) {
    ExpectError(std::string(R"({"type":"scan","limit":)") + limit + "}",
                ErrorCode::kMalformedRequest, "field 'limit' must be an integer from 1 to 10000");
  }
  RequestParser parser;
  ParsedRequest parsed = parser.Parse(R"({"type":"scan","limit":10000})");
  REQUIRE(parsed.ok());
  CHECK(std::get<ScanRequest>(parsed.request).limit == 10000);
}

TEST_CASE("memtable_size_bytes must be an integer from 1 to 1 GiB") {
  for (const char* size : {"0", "1073741825", "\"1024\"", "-1", "1024.5"}) {
    ExpectError(std::string(R"({"type":"sstable_flush","memtable_size_bytes":)") + size + "}",
                ErrorCode::kMalformedRequest,
                "field 'memtable_size_bytes' must be an integer from 1 to 1073741824");
  }
  RequestParser parser;
  ParsedRequest parsed =
      parser.Parse(R"({"type":"sstable_flush","memtable_size_bytes":1073741824})");
  REQUIRE(parsed.ok());
}

TEST_CASE("an unknown type is code 10, a missing type code 12") {
  ExpectError(R"({"type":"frobnicate","msg_id":3})", ErrorCode::kNotSupported,
              "message type 'frobnicate' is not supported");
  ExpectError(R"({"type":"init_ok","msg_id":3})", ErrorCode::kNotSupported, "'init_ok'");
  ExpectError(R"({"msg_id":3,"key":"a"})", ErrorCode::kMalformedRequest,
              "field 'type' must be a string");
  ExpectError(R"({"type":5})", ErrorCode::kMalformedRequest, "field 'type' must be a string");
  // The msg_id is still answered.
  RequestParser parser;
  CHECK(parser.Parse(R"({"type":"nope","msg_id":3})").route.in_reply_to == 3u);
}

TEST_CASE("lines that are not a JSON object are refused without a route") {
  const ErrorCode bad = ErrorCode::kMalformedRequest;
  const std::string garbage("\xff\xfe\x00\x01\x80{\"", 7);
  struct Case {
    std::string line;
    const char* mention;
  };
  for (const Case& c :
       {Case{"not json", "not valid JSON"}, Case{"{\"type\":\"get\"", "not valid JSON"},
        Case{"[1,2]", "must be a JSON object"}, Case{"42", "must be a JSON object"},
        Case{"\"get\"", "must be a JSON object"}, Case{"", "empty"}, Case{" \r", "empty"},
        Case{garbage, "not valid JSON"},
        Case{"{\"type\":\"get\",\"key\":\"\xff\"}", "not valid JSON"},
        Case{"{} {}", "not valid JSON"}}) {
    ExpectError(c.line, bad, c.mention);
    RequestParser parser;
    ParsedRequest parsed = parser.Parse(c.line);
    CHECK_FALSE(parsed.route.envelope);
    CHECK_FALSE(parsed.route.in_reply_to.has_value());
  }
}

TEST_CASE("nesting deeper than the limit is refused") {
  std::string deep =
      R"({"type":"get","key":"a","x":)" + std::string(40, '[') + std::string(40, ']') + "}";
  ExpectError(deep, ErrorCode::kMalformedRequest, "not valid JSON");
}

TEST_CASE("an envelope with a bad body is still routed to its src") {
  for (const char* body : {"5", "\"get\"", "[]", "null"}) {
    std::string line = std::string(R"({"src":"c9","dest":"n1","body":)") + body + "}";
    ExpectError(line, ErrorCode::kMalformedRequest, "field 'body' must be an object");
    RequestParser parser;
    ParsedRequest parsed = parser.Parse(line);
    CHECK(parsed.route.envelope);
    CHECK(parsed.route.client == "c9");
  }
  RequestParser parser;
  ParsedRequest parsed =
      parser.Parse(R"({"src":"c9","dest":"n1","body":{"type":"get","msg_id":4,"key":""}})");
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.route.envelope);
  CHECK(parsed.route.client == "c9");
  CHECK(parsed.route.in_reply_to == 4u);
}

TEST_CASE("an envelope without a string src is answered bare") {
  ExpectError(R"({"dest":"n1","body":{"type":"get","msg_id":4,"key":"a"}})",
              ErrorCode::kMalformedRequest, "field 'src' must be a string");
  RequestParser parser;
  ParsedRequest parsed = parser.Parse(R"({"src":1,"body":{"type":"get","msg_id":4,"key":"a"}})");
  REQUIRE_FALSE(parsed.ok());
  CHECK_FALSE(parsed.route.envelope);
  CHECK(parsed.route.in_reply_to == 4u);
}

}  // namespace
}  // namespace lsmd::proto
