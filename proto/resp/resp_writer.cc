// RESP2 reply bytes; the formats are in the header. No reserve() calls: with
// some standard libraries reserve() allocates exactly what is asked, which
// would make many small appends quadratic; append() grows geometrically.
#include "proto/resp/resp_writer.h"

#include <algorithm>
#include <charconv>

namespace lsmd::proto::resp {
namespace {

constexpr std::string_view kCrlf = "\r\n";

// A type byte, a number and CRLF: ":-3\r\n", "$4\r\n", "*2\r\n".
template <typename Int>
void AppendNumberLine(std::string* out, char type, Int value) {
  char line[24];  // type byte, up to 20 digits or '-' + 19, CRLF
  line[0] = type;
  char* end = std::to_chars(line + 1, line + sizeof(line) - 2, value).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out->append(line, size_t(end - line));
}

// type byte, the text with CR and LF as spaces, CRLF.
void AppendLine(std::string* out, char type, std::string_view text) {
  const size_t start = out->size() + 1;
  out->push_back(type);
  out->append(text);
  if (text.find_first_of(kCrlf) != std::string_view::npos) {
    std::replace_if(
        out->begin() + std::ptrdiff_t(start), out->end(),
        [](char c) { return c == '\r' || c == '\n'; }, ' ');
  }
  out->append(kCrlf);
}

}  // namespace

void AppendSimpleString(std::string* out, std::string_view text) { AppendLine(out, '+', text); }

void AppendError(std::string* out, std::string_view text) { AppendLine(out, '-', text); }

void AppendInteger(std::string* out, int64_t value) { AppendNumberLine(out, ':', value); }

void AppendBulk(std::string* out, std::string_view data) {
  AppendNumberLine(out, '$', data.size());
  out->append(data);
  out->append(kCrlf);
}

void AppendNullBulk(std::string* out) { out->append("$-1\r\n"); }

void AppendArrayHeader(std::string* out, size_t count) { AppendNumberLine(out, '*', count); }

void AppendNullArray(std::string* out) { out->append("*-1\r\n"); }

void AppendBulkArray(std::string* out, const std::vector<std::string_view>& items) {
  AppendArrayHeader(out, items.size());
  for (std::string_view item : items) AppendBulk(out, item);
}

}  // namespace lsmd::proto::resp
