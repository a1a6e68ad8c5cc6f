// fuzz_resp_codec: the RESP2 codec (proto/resp) on arbitrary bytes. The input
// is a request stream, parsed request after request until the parser needs
// more or reports a protocol error, once with small limits (so every limit
// error is within reach of a 4 KB input) and once with the default ones.
//
// Properties checked:
//  - no crash, no out-of-bounds read, no UB (ASan + UBSan); nothing throws;
//  - kComplete: 0 < consumed <= the bytes remaining; kNeedMore and
//    kProtocolError: consumed == 0 and no arguments; an error text is one of
//    the protocol errors the header lists, without CR or LF;
//  - every argument view lies inside the input given to that call or inside
//    the parser's own strings (RequestParser::Owns);
//  - writing the arguments as a multibulk request (AppendBulkArray) and
//    parsing that gives the same arguments, using all of it;
//  - the results do not depend on how the bytes arrive: the stream fed in two
//    reads split at a point chosen from the input, and fed in many small
//    reads (sizes drawn from a generator seeded by the input), gives the same
//    sequence of results as one read;
//  - the writer: each argument written as a simple string and as an error is
//    one line (type byte, the text with CR/LF as spaces, CRLF), and as an
//    integer (from its first 8 bytes) reads back as the same number.
#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "proto/resp/resp_parser.h"
#include "proto/resp/resp_writer.h"

namespace {

using lsmd::proto::resp::ParseResult;
using lsmd::proto::resp::ParserLimits;
using lsmd::proto::resp::ParseStatus;
using lsmd::proto::resp::RequestParser;

void Require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "fuzz_resp_codec: property violated: %s\n", what);
  std::abort();
}

ParserLimits SmallLimits() {
  ParserLimits limits;
  limits.max_bulk_bytes = 64;
  limits.max_multibulk_len = 8;
  limits.max_inline_bytes = 48;
  return limits;
}

struct Outcome {
  ParseStatus status;
  size_t consumed;
  std::string error;
  std::vector<std::string> args;
  bool operator==(const Outcome&) const = default;
};

bool Inside(std::string_view outer, std::string_view inner) {
  // Compared as addresses: the views may point anywhere.
  const auto outer_begin = reinterpret_cast<uintptr_t>(outer.data());
  const auto inner_begin = reinterpret_cast<uintptr_t>(inner.data());
  return inner_begin >= outer_begin && inner.size() <= outer.size() &&
         inner_begin - outer_begin <= outer.size() - inner.size();
}

bool KnownError(const std::string& error) {
  using namespace lsmd::proto::resp;
  for (std::string_view known :
       {kErrInvalidMultibulkLength, kErrTooBigMultibulkCount, kErrTooBigBulkCount,
        kErrInvalidBulkLength, kErrExpectedCrlfAfterBulk, kErrTooBigInline, kErrUnbalancedQuotes}) {
    if (error == known) return true;
  }
  const std::string dollar = ExpectedDollarError('?');
  return error.size() == dollar.size() &&
         error.compare(0, dollar.size() - 2, dollar, 0, dollar.size() - 2) == 0 &&
         error.back() == '\'' && error[error.size() - 2] != '\r' &&
         error[error.size() - 2] != '\n' && error[error.size() - 2] != '$';
}

// Writing the arguments as a multibulk request and parsing it gives them back.
void CheckReencoding(const std::vector<std::string_view>& args, const ParserLimits& limits) {
  std::string wire;
  lsmd::proto::resp::AppendBulkArray(&wire, args);
  ParserLimits roomy = limits;  // an inline request may have more words than max_multibulk_len
  if (roomy.max_multibulk_len < args.size()) roomy.max_multibulk_len = args.size();
  for (std::string_view arg : args)
    roomy.max_bulk_bytes = std::max(roomy.max_bulk_bytes, arg.size());
  RequestParser parser(roomy);
  std::vector<std::string_view> again;
  const ParseResult result = parser.Parse(wire, &again);
  Require(result.status == ParseStatus::kComplete, "a re-encoded request parses");
  Require(result.consumed == wire.size(), "a re-encoded request is used whole");
  Require(again == args, "a re-encoded request gives the same arguments");
}

// Checks one Parse call on `input` and returns its outcome.
Outcome Checked(RequestParser& parser, std::string_view input, const ParseResult& result,
                const std::vector<std::string_view>& args) {
  switch (result.status) {
    case ParseStatus::kComplete:
      Require(result.consumed > 0, "a complete request consumes bytes");
      Require(result.consumed <= input.size(), "a request consumes at most its input");
      Require(result.error.empty(), "a complete request has no error");
      for (std::string_view arg : args) {
        Require(Inside(input.substr(0, result.consumed), arg) || parser.Owns(arg),
                "an argument lies inside its request's bytes or the parser's strings");
      }
      CheckReencoding(args, parser.limits());
      break;
    case ParseStatus::kNeedMore:
      Require(result.consumed == 0 && args.empty() && result.error.empty(),
              "kNeedMore: nothing consumed, no arguments, no error");
      break;
    case ParseStatus::kProtocolError:
      Require(result.consumed == 0 && args.empty(), "an error: nothing consumed, no arguments");
      Require(result.error.find_first_of("\r\n") == std::string::npos, "an error is one line");
      Require(KnownError(result.error), "an error is one of the protocol errors");
      break;
  }
  return Outcome{result.status, result.consumed, result.error,
                 std::vector<std::string>(args.begin(), args.end())};
}

// The stream fed in reads of the given sizes (the last read brings the rest):
// every result up to the final kNeedMore or the first error. The bytes arrive
// in a growing buffer, as on a connection.
std::vector<Outcome> ParseInReads(std::string_view stream, const std::vector<size_t>& reads,
                                  const ParserLimits& limits) {
  RequestParser parser(limits);
  std::vector<std::string_view> args;
  std::vector<Outcome> outcomes;
  std::string buffer;
  size_t pos = 0;  // where the next request starts in buffer
  size_t fed = 0;
  for (size_t i = 0; i <= reads.size(); ++i) {
    const size_t n =
        i < reads.size() ? std::min(reads[i], stream.size() - fed) : stream.size() - fed;
    buffer.append(stream.substr(fed, n));
    fed += n;
    // Owned strings from earlier reads may be dropped once their requests are
    // checked: the outcomes hold copies.
    parser.Clear();
    while (true) {
      const std::string_view input = std::string_view(buffer).substr(pos);
      const ParseResult result = parser.Parse(input, &args);
      if (result.status == ParseStatus::kNeedMore && fed < stream.size()) {
        Checked(parser, input, result, args);
        break;
      }
      outcomes.push_back(Checked(parser, input, result, args));
      if (result.status != ParseStatus::kComplete) return outcomes;
      pos += result.consumed;
    }
  }
  return outcomes;
}

// A small generator for read sizes, seeded by the input.
uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

void CheckStream(std::string_view stream, const ParserLimits& limits, uint64_t seed) {
  const std::vector<Outcome> whole = ParseInReads(stream, {}, limits);
  Require(!whole.empty() && whole.back().status != ParseStatus::kComplete,
          "a stream ends in kNeedMore or an error");
  size_t used = 0;
  for (const Outcome& o : whole) used += o.consumed;
  Require(used <= stream.size(), "the requests use at most the stream");

  const size_t split = size_t(Mix(seed) % (stream.size() + 1));
  Require(ParseInReads(stream, {split}, limits) == whole,
          "two reads split anywhere give the results of one");

  std::vector<size_t> reads;
  uint64_t state = seed;
  for (size_t fed = 0; fed < stream.size();) {
    state = Mix(state + 1);
    // Mostly tiny reads, sometimes a larger one.
    const size_t n = (state & 7) == 0 ? size_t(state >> 8) % 512 : size_t(state >> 8) % 8;
    reads.push_back(n);
    fed += n;
  }
  Require(ParseInReads(stream, reads, limits) == whole, "many small reads give the results of one");
}

void CheckWriter(std::string_view text) {
  std::string out;
  lsmd::proto::resp::AppendSimpleString(&out, text);
  Require(out.size() == text.size() + 3 && out[0] == '+' && out.ends_with("\r\n") &&
              out.find_first_of("\r\n", 1) == out.size() - 2,
          "a simple string is one line");
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    Require(out[1 + i] == (c == '\r' || c == '\n' ? ' ' : c),
            "a simple string keeps its bytes, CR/LF as spaces");
  }
  out.clear();
  lsmd::proto::resp::AppendError(&out, text);
  Require(out.size() == text.size() + 3 && out[0] == '-' &&
              out.find_first_of("\r\n", 1) == out.size() - 2,
          "an error is one line");

  int64_t value = 0;
  std::memcpy(&value, text.data(), std::min(text.size(), sizeof(value)));
  out.clear();
  lsmd::proto::resp::AppendInteger(&out, value);
  int64_t read_back = 0;
  const auto [end, ec] = std::from_chars(out.data() + 1, out.data() + out.size(), read_back);
  Require(out[0] == ':' && ec == std::errc() && read_back == value &&
              std::string_view(end, out.data() + out.size() - end) == "\r\n",
          "an integer reads back");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view stream(reinterpret_cast<const char*>(data), size);
  uint64_t seed = size;
  for (size_t i = 0; i < size; ++i) seed = seed * 1099511628211ULL + data[i];
  CheckStream(stream, SmallLimits(), seed);
  CheckStream(stream, ParserLimits{}, seed + 1);

  // The writer, on the arguments the small limits found (a handful).
  RequestParser parser(SmallLimits());
  std::vector<std::string_view> args;
  const ParseResult result = parser.Parse(stream, &args);
  if (result.status == ParseStatus::kComplete) {
    for (std::string_view arg : args) CheckWriter(arg);
  }
  CheckWriter(stream.substr(0, 64));
  return 0;
}
