// RESP2 request parsing; the semantics and the differences from Redis are in
// the header.
#include "proto/resp/resp_parser.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>

namespace lsmd::proto::resp {
namespace {

ParseResult Error(std::string_view text) {
  ParseResult result;
  result.status = ParseStatus::kProtocolError;
  result.error = std::string(text);
  return result;
}

ParseResult NeedMore() { return ParseResult{}; }

ParseResult Complete(size_t consumed) {
  ParseResult result;
  result.status = ParseStatus::kComplete;
  result.consumed = consumed;
  return result;
}

// util.c string2ll: an optional '-', then "0" alone or a digit 1-9 followed by
// digits, all of `text`, within int64_t. Everything else is not a number.
std::optional<int64_t> ParseNumber(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text == "0") return 0;
  size_t i = 0;
  const bool negative = text[0] == '-';
  if (negative) ++i;
  if (i == text.size() || text[i] < '1' || text[i] > '9') return std::nullopt;
  // The magnitude, up to 2^63 (INT64_MIN's).
  constexpr uint64_t kMaxMagnitude = uint64_t{1} << 63;
  uint64_t value = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = uint64_t(c - '0');
    if (value > (kMaxMagnitude - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  if (negative) {
    return value == kMaxMagnitude ? std::numeric_limits<int64_t>::min() : -int64_t(value);
  }
  if (value > uint64_t(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return int64_t(value);
}

// One '*' or '$' header line starting at input[pos] (the type byte).
struct Header {
  ParseStatus status = ParseStatus::kNeedMore;  // kComplete: cr is set
  size_t cr = 0;                                // position of the '\r'
};

// Finds the header line's '\r', which must lie within its first `max_bytes`
// bytes, and the byte after it. kProtocolError: no '\r' there though the
// input is longer (the caller picks the text).
Header FindHeaderLine(std::string_view input, size_t pos, size_t max_bytes) {
  Header header;
  const size_t remaining = input.size() - pos;
  const size_t window = max_bytes < remaining ? max_bytes + 1 : remaining;
  const void* cr = std::memchr(input.data() + pos, '\r', window);
  if (cr == nullptr) {
    if (remaining > max_bytes) header.status = ParseStatus::kProtocolError;
    return header;
  }
  header.cr = size_t(static_cast<const char*>(cr) - input.data());
  if (header.cr + 1 < input.size()) header.status = ParseStatus::kComplete;
  return header;
}

// ---- Inline requests (sds.c sdssplitargs) ----

// isspace in the C locale: what separates words and may follow a closing
// quote.
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// What ends an unquoted part of a word. Not '\v' or '\f': sdssplitargs skips
// them between words but keeps them inside one.
bool EndsWord(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// The bytes of one word as it is built: a run of the line while every byte
// appended is the one right after the previous, else an owned copy.
class Word {
 public:
  Word(std::string_view line, size_t start) : line_(line), begin_(start), end_(start) {}

  // The line's byte at `pos`, as itself.
  void AppendFromLine(size_t pos) {
    if (!copied_ && begin_ == end_) begin_ = end_ = pos;  // the run starts anywhere
    if (!copied_ && pos == end_) {
      ++end_;
      return;
    }
    Append(line_[pos]);
  }
  // A byte an escape stands for.
  void Append(char c) {
    if (!copied_) {
      copy_.assign(line_.data() + begin_, end_ - begin_);
      copied_ = true;
    }
    copy_.push_back(c);
  }
  // Whether the word needed a copy; else it is in_line().
  bool copied() const { return copied_; }
  std::string_view in_line() const { return line_.substr(begin_, end_ - begin_); }
  std::string& copy() { return copy_; }

 private:
  std::string_view line_;
  size_t begin_;  // the run in the line, while !copied_
  size_t end_;
  bool copied_ = false;
  std::string copy_;
};

// Splits `line` (without its '\n' and a '\r' before it) into words. False:
// unbalanced quotes. `emit` gets each word: a view into line or an owned
// string to keep.
template <typename Emit>
bool SplitArgs(std::string_view line, Emit&& emit) {
  const size_t n = line.size();
  size_t p = 0;
  while (true) {
    while (p < n && IsSpace(line[p])) ++p;
    if (p == n) return true;
    // Unquoted bytes and quoted ones alternate until a separator or a closing
    // quote ends the word.
    Word word(line, p);
    bool in_double = false;
    bool in_single = false;
    bool done = false;
    while (!done) {
      if (in_double) {
        if (p == n) return false;  // unterminated quotes
        const char c = line[p];
        if (c == '\\' && p + 3 < n && line[p + 1] == 'x' && IsHexDigit(line[p + 2]) &&
            IsHexDigit(line[p + 3])) {
          word.Append(char(HexValue(line[p + 2]) * 16 + HexValue(line[p + 3])));
          p += 4;
        } else if (c == '\\' && p + 1 < n) {
          char escaped = line[p + 1];
          switch (escaped) {
            case 'n':
              escaped = '\n';
              break;
            case 'r':
              escaped = '\r';
              break;
            case 't':
              escaped = '\t';
              break;
            case 'b':
              escaped = '\b';
              break;
            case 'a':
              escaped = '\a';
              break;
            default:
              break;
          }
          // An escape standing for its own second byte (\\, \", \q) may still
          // continue a run of the line: Word decides by position.
          if (escaped == line[p + 1]) {
            word.AppendFromLine(p + 1);
          } else {
            word.Append(escaped);
          }
          p += 2;
        } else if (c == '"') {
          // A closing quote must be followed by a space or the end.
          if (p + 1 < n && !IsSpace(line[p + 1])) return false;
          done = true;
          ++p;
        } else {
          word.AppendFromLine(p);
          ++p;
        }
      } else if (in_single) {
        if (p == n) return false;  // unterminated quotes
        const char c = line[p];
        if (c == '\\' && p + 1 < n && line[p + 1] == '\'') {
          word.AppendFromLine(p + 1);
          p += 2;
        } else if (c == '\'') {
          if (p + 1 < n && !IsSpace(line[p + 1])) return false;
          done = true;
          ++p;
        } else {
          word.AppendFromLine(p);
          ++p;
        }
      } else if (p == n) {
        done = true;
      } else {
        const char c = line[p];
        if (EndsWord(c)) {
          done = true;
        } else if (c == '"') {
          in_double = true;
        } else if (c == '\'') {
          in_single = true;
        } else {
          word.AppendFromLine(p);
        }
        ++p;
      }
    }
    emit(word);
  }
}

}  // namespace

std::string ExpectedDollarError(char got) {
  std::string text = "ERR Protocol error: expected '$', got '";
  text.push_back(got == '\r' || got == '\n' ? ' ' : got);
  text.push_back('\'');
  return text;
}

bool RequestParser::Owns(std::string_view view) const {
  const std::less<const char*> before;
  for (const std::string& s : owned_) {
    const char* begin = s.data();
    const char* end = s.data() + s.size();
    if (!before(view.data(), begin) && !before(end, view.data() + view.size())) return true;
  }
  return false;
}

ParseResult RequestParser::Parse(std::string_view input, std::vector<std::string_view>* args) {
  args->clear();
  if (input.empty()) return NeedMore();
  ParseResult result = input[0] == '*' ? ParseMultibulk(input, args) : ParseInline(input, args);
  if (result.status != ParseStatus::kComplete) args->clear();
  return result;
}

ParseResult RequestParser::ParseMultibulk(std::string_view input,
                                          std::vector<std::string_view>* args) {
  const size_t max_line = limits_.max_inline_bytes;
  const Header count_line = FindHeaderLine(input, 0, max_line);
  if (count_line.status == ParseStatus::kNeedMore) return NeedMore();
  if (count_line.status == ParseStatus::kProtocolError) return Error(kErrTooBigMultibulkCount);
  if (input[count_line.cr + 1] != '\n') return Error(kErrInvalidMultibulkLength);
  const std::optional<int64_t> count = ParseNumber(input.substr(1, count_line.cr - 1));
  if (!count || (*count > 0 && uint64_t(*count) > limits_.max_multibulk_len)) {
    return Error(kErrInvalidMultibulkLength);
  }
  size_t pos = count_line.cr + 2;
  if (*count <= 0) return Complete(pos);  // ignored, as in Redis

  const size_t n = size_t(*count);
  // Not n at once: a header alone must not cost n views of memory.
  args->reserve(std::min<size_t>(n, 1024));
  for (size_t i = 0; i < n; ++i) {
    const Header bulk_line = FindHeaderLine(input, pos, max_line);
    if (bulk_line.status == ParseStatus::kNeedMore) return NeedMore();
    if (bulk_line.status == ParseStatus::kProtocolError) return Error(kErrTooBigBulkCount);
    if (input[pos] != '$') return Error(ExpectedDollarError(input[pos]));
    if (input[bulk_line.cr + 1] != '\n') return Error(kErrInvalidBulkLength);
    const std::optional<int64_t> length =
        ParseNumber(input.substr(pos + 1, bulk_line.cr - pos - 1));
    if (!length || *length < 0 || uint64_t(*length) > limits_.max_bulk_bytes) {
      return Error(kErrInvalidBulkLength);
    }
    const size_t data = bulk_line.cr + 2;
    const size_t len = size_t(*length);
    const size_t available = input.size() - data;
    // The CRLF after the data, each byte checked as soon as it is there.
    if (available > len && input[data + len] != '\r') return Error(kErrExpectedCrlfAfterBulk);
    if (available > len + 1 && input[data + len + 1] != '\n') {
      return Error(kErrExpectedCrlfAfterBulk);
    }
    if (available < len + 2) return NeedMore();
    args->push_back(input.substr(data, len));
    pos = data + len + 2;
  }
  return Complete(pos);
}

ParseResult RequestParser::ParseInline(std::string_view input,
                                       std::vector<std::string_view>* args) {
  const size_t max_line = limits_.max_inline_bytes;
  // At most max_line bytes before the '\n'.
  const size_t window = max_line < input.size() ? max_line + 1 : input.size();
  const void* found = std::memchr(input.data(), '\n', window);
  if (found == nullptr) {
    if (input.size() > max_line) return Error(kErrTooBigInline);
    return NeedMore();
  }
  const size_t newline = size_t(static_cast<const char*>(found) - input.data());
  std::string_view line = input.substr(0, newline);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

  // Owned words go to owned_ only once the whole line split cleanly, so a
  // refused line leaves nothing behind.
  const size_t owned_before = owned_.size();
  const bool balanced = SplitArgs(line, [&](Word& word) {
    if (word.copied()) {
      owned_.push_back(std::move(word.copy()));
      args->push_back(owned_.back());
    } else {
      args->push_back(word.in_line());
    }
  });
  if (!balanced) {
    owned_.resize(owned_before);
    return Error(kErrUnbalancedQuotes);
  }
  return Complete(newline + 1);
}

}  // namespace lsmd::proto::resp
