// RESP2 requests: bytes -> argument vectors. A pure codec: no sockets, no
// engine, no commands; nothing here throws for any input (only std::bad_alloc
// can escape).
//
// A request is either
//   multibulk  *<n>\r\n then n times $<len>\r\n<len bytes>\r\n   (binary safe)
//   inline     any other line up to '\n' (a '\r' before it is dropped), split
//              into words like Redis's sdssplitargs (what telnet/nc send)
// and the first byte decides which: '*' is multibulk, anything else inline.
//
// The semantics are Redis 7's (networking.c processMultibulkBuffer and
// processInlineBuffer, sds.c sdssplitargs, util.c string2ll), including its
// error texts, with these deliberate differences:
//  - The 2 bytes after a bulk's data must be "\r\n" ("ERR Protocol error:
//    expected CRLF after bulk data"); Redis skips them unread. A byte that
//    cannot be CRLF is refused as soon as it arrives.
//  - A '*' or '$' header line ends at its first '\r', which must be followed by
//    '\n'; Redis skips the byte after the '\r' unread. Here a header "*3\rX" is
//    "invalid multibulk length" ("invalid bulk length" for '$').
//  - The limits do not depend on how the bytes arrive: a header line must have
//    its '\r' within its first max_inline_bytes bytes, and an inline request
//    its '\n' within its first max_inline_bytes + 1 bytes (i.e. at most
//    max_inline_bytes bytes before the '\n', a dropped '\r' included), whether
//    the line comes in one read or byte by byte. Redis checks only while the
//    terminator is still missing, so a longer line that happens to arrive in
//    one read passes there.
//  - NUL is an ordinary byte everywhere. Redis searches lines with strchr and
//    splits inline requests as C strings, so a NUL there makes it wait for a
//    terminator it cannot see until "too big ..."; here "GET a\0b\n" is the
//    words "GET" and "a\0b", and "*1\0\r\n" is "invalid multibulk length".
//  - The count limit is ParserLimits::max_multibulk_len (Redis 7 allows up to
//    INT_MAX arguments; Redis 6 and older had 1024 * 1024, the default here).
//  - No AUTH-dependent limits ("unauthenticated multibulk length"): pass
//    tighter ParserLimits to an unauthenticated connection if wanted.
// Numbers (the n of '*' and the len of '$') are read like string2ll: an
// optional '-', then "0" or a digit 1-9 followed by digits, fitting int64_t;
// "+5", " 5", "5 ", "", "05", "-0" and overflow are not numbers.
//
// Usage, one parser per connection:
//   RequestParser parser(limits);
//   std::vector<std::string_view> args;
//   while (true) {
//     ParseResult r = parser.Parse(std::string_view(buf).substr(pos), &args);
//     if (r.status == ParseStatus::kNeedMore) break;              // read more
//     if (r.status == ParseStatus::kProtocolError) { send "-" + r.error + "\r\n"; close; }
//     pos += r.consumed;
//     if (!args.empty()) Execute(args);                  // empty: ignored request
//   }
//   ... once nothing refers to args any more: buf.erase(0, pos); parser.Clear();
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace lsmd::proto::resp {

struct ParserLimits {
  size_t max_bulk_bytes = size_t{512} << 20;  // Redis proto-max-bulk-len
  size_t max_multibulk_len = 1024 * 1024;     // arguments per request
  size_t max_inline_bytes = 64 * 1024;        // an inline line, and a '*'/'$' header line
};

enum class ParseStatus { kComplete, kNeedMore, kProtocolError };

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  // kComplete: bytes of input this request used (including an ignored empty
  // request); always > 0 then. 0 otherwise.
  size_t consumed = 0;
  // kProtocolError: the reply text WITHOUT the leading '-' and the CRLF, e.g.
  // "ERR Protocol error: invalid bulk length". Never contains CR or LF.
  std::string error;
};

// Error texts, exactly as Redis sends them (without '-' and CRLF). The one of
// "expected '$', got 'X'" is built per byte; see ExpectedDollarError.
inline constexpr std::string_view kErrInvalidMultibulkLength =
    "ERR Protocol error: invalid multibulk length";
inline constexpr std::string_view kErrTooBigMultibulkCount =
    "ERR Protocol error: too big mbulk count string";
inline constexpr std::string_view kErrTooBigBulkCount =
    "ERR Protocol error: too big bulk count string";
inline constexpr std::string_view kErrInvalidBulkLength = "ERR Protocol error: invalid bulk length";
inline constexpr std::string_view kErrExpectedCrlfAfterBulk =
    "ERR Protocol error: expected CRLF after bulk data";  // not in Redis: see above
inline constexpr std::string_view kErrTooBigInline = "ERR Protocol error: too big inline request";
inline constexpr std::string_view kErrUnbalancedQuotes =
    "ERR Protocol error: unbalanced quotes in request";

// "ERR Protocol error: expected '$', got 'X'" with X the byte as Redis prints
// it: the raw byte, except that CR and LF become a space (Redis maps them so
// that the reply stays one line).
std::string ExpectedDollarError(char got);

// Parses requests one at a time from the front of a buffer.
//
// Where the argument views point: into `input` (every multibulk argument, and
// every inline word written without quotes or escapes, or quoted without
// escapes), or into strings the parser owns (an inline word whose bytes are
// not one contiguous run of the input: escapes, or quotes inside a word as in
// a"b c"). Owned strings are kept across Parse calls until Clear(), so the
// arguments of several pipelined requests can be held at once: a view is valid
// as long as the input bytes it came from are, and until Clear() or the
// parser's destruction. Call Clear() when you drop the parsed input bytes
// (the owned strings are never larger than the inline lines they came from).
//
// Cost: stateless between calls (the only state is the owned strings). A call
// on a partial multibulk request reads its header lines again, never the bulk
// data: O(number of arguments) per call, so a 500 MB bulk arriving in 64 KiB
// chunks costs O(1) per chunk. A partial header or inline line is searched for
// its terminator again (at most max_inline_bytes + 1 bytes per call).
//
// Thread safety: none; one parser per connection, on one thread.
class RequestParser {
 public:
  RequestParser() = default;
  explicit RequestParser(const ParserLimits& limits) : limits_(limits) {}

  // Parses one request from the front of `input`, which must begin at a
  // request boundary.
  //   kComplete:  *args holds the arguments. It is EMPTY for a request Redis
  //               ignores (an empty or blank inline line, "*0\r\n", "*-1\r\n"):
  //               the caller just skips `consumed` bytes.
  //   kNeedMore:  the input ends inside a request (or is empty); call again
  //               with more bytes appended. *args is empty.
  //   kProtocolError: the client broke the protocol; send
  //               "-" + error + "\r\n" and close the connection. *args is
  //               empty. The same bytes always give the same error, however
  //               they are split across calls.
  // The result for a given stream of bytes never depends on how it was split.
  ParseResult Parse(std::string_view input, std::vector<std::string_view>* args);

  // Drops the owned strings: every view into them is invalid afterwards.
  void Clear() { owned_.clear(); }

  // Whether `view` lies inside one of the owned strings (for tests and for a
  // caller deciding what it must copy before Clear()).
  bool Owns(std::string_view view) const;

  const ParserLimits& limits() const { return limits_; }
  void set_limits(const ParserLimits& limits) { limits_ = limits; }

 private:
  ParseResult ParseMultibulk(std::string_view input, std::vector<std::string_view>* args);
  ParseResult ParseInline(std::string_view input, std::vector<std::string_view>* args);

  ParserLimits limits_;
  // A deque: appending never moves the strings already handed out.
  std::deque<std::string> owned_;
};

}  // namespace lsmd::proto::resp
