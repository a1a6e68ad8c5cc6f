// UTF-8 validation and base64: how the JSON codec carries any bytes.
#include "proto/byte_strings.h"

#include <doctest/doctest.h>

#include <random>
#include <string>

#include "proto/reply_writer.h"

namespace lsmd::proto {
namespace {

TEST_CASE("UTF-8: well-formed text passes, every kind of malformed byte sequence fails") {
  CHECK(IsValidUtf8(""));
  CHECK(IsValidUtf8("plain ASCII, long enough to take the eight-byte road"));
  CHECK(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
  CHECK(IsValidUtf8(std::string("\0", 1)));
  CHECK_FALSE(IsValidUtf8("\xff"));
  CHECK_FALSE(IsValidUtf8("\x80"));              // a lone continuation byte
  CHECK_FALSE(IsValidUtf8("\xc3"));              // truncated
  CHECK_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong, three bytes
  CHECK_FALSE(IsValidUtf8("\xed\xa0\x80"));      // a UTF-16 surrogate
  CHECK_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(IsValidUtf8("abcdefgh\xe2\x82"));  // truncated after an ASCII run
}

TEST_CASE("base64 round-trips every byte string and refuses non-canonical text") {
  CHECK(Base64Encode("") == "");
  CHECK(Base64Encode("f") == "Zg==");
  CHECK(Base64Encode("fo") == "Zm8=");
  CHECK(Base64Encode("foo") == "Zm9v");
  CHECK(Base64Encode(std::string("\xff\x00\xfe", 3)) == "/wD+");
  std::mt19937 rng(7);
  for (int n = 0; n < 200; ++n) {
    std::string bytes(n, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    auto decoded = Base64Decode(Base64Encode(bytes));
    REQUIRE(decoded.has_value());
    CHECK(*decoded == bytes);
  }
  CHECK_FALSE(Base64Decode("Zg=").has_value());   // not a multiple of 4
  CHECK_FALSE(Base64Decode("Zh==").has_value());  // unused bits set
  CHECK_FALSE(Base64Decode("Z=g=").has_value());  // padding in the middle
  CHECK_FALSE(Base64Decode("Zm9v!A==").has_value());
}

TEST_CASE("a JSON reply carries bytes that are not UTF-8 as {\"base64\": ...}") {
  ReplyHeader header;
  GetOk text;
  text.found = true;
  text.value = "caf\xc3\xa9";
  CHECK(WriteReply(header, text) ==
        "{\"type\": \"get_ok\", \"msg_id\": 0, \"found\": true, \"value\": \"caf\xc3\xa9\"}");
  GetOk binary;
  binary.found = true;
  binary.value = std::string("\xff\x00\x01", 3);
  CHECK(
      WriteReply(header, binary) ==
      "{\"type\": \"get_ok\", \"msg_id\": 0, \"found\": true, \"value\": {\"base64\": \"/wAB\"}}");
  ScanOk scan;
  scan.result.entries = {{"a", "1"}, {std::string("\xfe", 1), std::string("\x80", 1)}};
  CHECK(WriteReply(header, scan) ==
        "{\"type\": \"scan_ok\", \"msg_id\": 0, \"entries\": [[\"a\", \"1\"], "
        "[{\"base64\": \"/g==\"}, {\"base64\": \"gA==\"}]], \"more\": false}");
  ErrorReply error{ErrorCode::kMalformedRequest, "bad key \xff!"};
  CHECK(WriteReply(header, error) ==
        "{\"type\": \"error\", \"msg_id\": 0, \"code\": 12, \"text\": \"bad key ?!\"}");
}

}  // namespace
}  // namespace lsmd::proto
