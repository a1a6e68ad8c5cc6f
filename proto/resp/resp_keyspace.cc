// RespSession's walks of the keyspace: SCAN and KEYS (as ScanCommands run
// by the executor, which stops them at the reply budget) and DBSIZE.
#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "proto/resp/glob.h"
#include "proto/resp/resp_session.h"
#include "proto/resp/resp_writer.h"

namespace lsmd::proto::resp {
namespace {

// SCAN examines at most this many keys a call, whatever COUNT says.
constexpr uint64_t kMaxScanCount = kMaxScanLimit;
constexpr uint64_t kDefaultScanCount = 10;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x + 32 : x) == (y >= 'A' && y <= 'Z' ? y + 32 : y);
         });
}

// The smallest key greater than every key starting with prefix, or "" if
// there is none (the prefix is all 0xff bytes): a scan's end bound.
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

std::optional<uint64_t> ParseCursor(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// SCAN's and KEYS's sink: the keys that match, rendered as bulk strings as
// the engine yields them (the array header is written once their number is
// known), and the key the next SCAN page starts at.
class KeyReplySink final : public ScanSink {
 public:
  // pattern: MATCH (none: every key); none_wanted: TYPE other than string.
  KeyReplySink(std::optional<std::string_view> pattern, bool none_wanted)
      : pattern_(pattern), none_wanted_(none_wanted) {}

  bool Wants(std::string_view key) override {
    last_examined_.assign(key);
    declined_ = !none_wanted_ && (!pattern_ || GlobMatch(*pattern_, key));
    return declined_;  // until Add takes it
  }
  void Add(std::string_view key, std::string_view) override {
    AppendBulk(&keys_, key);
    ++count_;
    declined_ = false;
  }

  // Where the next page starts: at the last key examined if the reply
  // wanted it but the budget left it out (the first key not returned), else
  // just after it.
  std::string ResumeKey() {
    if (!declined_) last_examined_.push_back('\0');  // the smallest key after it
    return std::move(last_examined_);
  }

  void AppendArray(std::string* out) const {
    AppendArrayHeader(out, count_);
    out->append(keys_);
  }

 private:
  const std::optional<std::string_view> pattern_;
  const bool none_wanted_;
  std::string keys_;  // the bulk strings, without the array header
  size_t count_ = 0;
  std::string last_examined_;
  bool declined_ = false;  // the last key examined matched and was not taken
};

// A scan's failure (a scan is always answered inline: no result is a bug).
void AppendScanError(const std::optional<CommandResult>& result, std::string* out) {
  if (result) return AppendCommandError(std::get<CommandError>(*result), out);
  AppendError(out, "ERR internal error: scan was not answered");
}

}  // namespace

Session::Outcome RespSession::Scan(Args args, std::string* out) {
  auto cursor = ParseCursor(args[1]);
  if (!cursor) {
    AppendError(out, "ERR invalid cursor");
    return Outcome::kAnswered;
  }
  std::optional<std::string_view> pattern;
  uint64_t count = kDefaultScanCount;
  bool strings_only_wanted = true;  // TYPE string (or none): every lsmd key is a string
  for (size_t i = 2; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) {
      AppendError(out, "ERR syntax error");
      return Outcome::kAnswered;
    }
    if (EqualsIgnoreCase(args[i], "MATCH")) {
      pattern = args[i + 1];
    } else if (EqualsIgnoreCase(args[i], "COUNT")) {
      auto n = ParseCanonicalInt64(args[i + 1]);
      if (!n) {
        AppendError(out, "ERR value is not an integer or out of range");
        return Outcome::kAnswered;
      }
      if (*n < 1) {
        AppendError(out, "ERR syntax error");
        return Outcome::kAnswered;
      }
      count = std::min<uint64_t>(static_cast<uint64_t>(*n), kMaxScanCount);
    } else if (EqualsIgnoreCase(args[i], "TYPE")) {
      strings_only_wanted = EqualsIgnoreCase(args[i + 1], "string");
    } else {
      AppendError(out, "ERR syntax error");
      return Outcome::kAnswered;
    }
  }
  std::string start;
  if (*cursor != 0) {
    auto resume = shared_.cursors.Find(*cursor);
    if (!resume) {
      AppendError(out, "ERR invalid cursor");
      return Outcome::kAnswered;
    }
    start = std::move(*resume);
  }
  std::string end;
  if (pattern) {
    // Every match starts with the pattern's literal prefix: seek there and
    // stop past it instead of walking every key.
    std::string prefix = GlobLiteralPrefix(*pattern);
    if (start < prefix) start = prefix;
    end = PrefixEnd(std::move(prefix));
  }
  // Keys go from the engine straight into the reply's array; the executor
  // decides where the page stops (COUNT keys examined, or the reply budget).
  KeyReplySink sink(pattern, !strings_only_wanted);
  ScanResult page;
  if (end.empty() || start < end) {
    ScanCommand scan;
    scan.start = start;
    if (!end.empty()) scan.end = end;
    scan.limit = count;
    scan.carries = ScanCommand::Carries::kKeys;
    scan.sink = &sink;
    std::optional<CommandResult> result = shared_.executor.Execute(scan, nullptr);
    if (!result || std::holds_alternative<CommandError>(*result)) {
      AppendScanError(result, out);
      return Outcome::kAnswered;
    }
    page = std::get<ScanResult>(std::move(*result));
  }
  AppendArrayHeader(out, 2);
  if (page.more) {
    AppendBulk(out, std::to_string(shared_.cursors.Save(sink.ResumeKey())));
  } else {
    AppendBulk(out, "0");
  }
  sink.AppendArray(out);
  return Outcome::kAnswered;
}

Session::Outcome RespSession::Keys(Args args, std::string* out) {
  const std::string_view pattern = args[1];
  const std::string start = GlobLiteralPrefix(pattern);
  const std::string end = PrefixEnd(start);
  KeyReplySink sink(pattern, false);
  ScanCommand keys;
  keys.start = start;
  if (!end.empty()) keys.end = end;
  keys.carries = ScanCommand::Carries::kKeys;
  keys.whole_range = true;  // one reply; past the budget an error, not a short page
  keys.sink = &sink;
  std::optional<CommandResult> result = shared_.executor.Execute(keys, nullptr);
  if (!result || std::holds_alternative<CommandError>(*result)) {
    AppendScanError(result, out);
    return Outcome::kAnswered;
  }
  sink.AppendArray(out);
  return Outcome::kAnswered;
}

Session::Outcome RespSession::Dbsize(std::string* out) {
  int64_t count = 0;
  std::string start;
  bool more = true;
  while (more) {
    std::string last;
    Status s = shared_.executor.db()->Scan(
        start, "", kMaxScanLimit,
        [&](std::string_view key, std::string_view) {
          last.assign(key);
          ++count;
        },
        &more);
    if (!s.ok()) {
      AppendCommandError(ErrorFromStatus(s), out);
      return Outcome::kAnswered;
    }
    start = std::move(last);
    start.push_back('\0');
  }
  AppendInteger(out, count);
  return Outcome::kAnswered;
}

}  // namespace lsmd::proto::resp
