// The command model: what a client asks for, whichever port and codec it
// came through. The JSON codec (parse.cc, dispatcher.cc) and the RESP codec
// (resp/) only translate bytes into these commands and results back into
// bytes; CommandExecutor (executor.h) is the one place that runs them
// against the engine. Limits on keys and values are decided here, once.
//
// Commands hold string_views into the codec's request buffer: valid while the
// codec's request lives. The executor copies what it keeps (the engine copies
// keys and values into its write batch before a deferred command returns).
// Results own their data: they may be delivered later, on an engine thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/db.h"

namespace lsmd::proto {

// A key is 1 .. 16 KiB of bytes (the engine's own limit).
inline constexpr size_t kMaxKeyBytes = 16 * 1024;
// A value is at most 512 MiB: the engine's limit for one value, and Redis's
// default proto-max-bulk-len. The JSON port's line limit is smaller still.
inline constexpr size_t kMaxValueBytes = size_t{512} << 20;
// SCAN's and scan's page size: the default, and the largest accepted.
inline constexpr uint64_t kDefaultScanLimit = 100;
inline constexpr uint64_t kMaxScanLimit = 10'000;
// sstable_flush's memtable_size_bytes: 1 byte .. 1 GiB.
inline constexpr uint64_t kMaxMemTableThresholdBytes = uint64_t{1} << 30;
// Writes of one MSET or one EXEC: keys plus values, at most this many bytes,
// so one atomic write stays one bounded log record.
inline constexpr size_t kMaxBatchBytes = size_t{64} << 20;
// The keys and values one reply may carry, by default (lsmd --max-reply-bytes,
// the CommandExecutor's max_reply_bytes): a scan stops early past it, and
// KEYS, MGET and a transaction's results fail past it. See ReplyBudget.
inline constexpr size_t kDefaultMaxReplyBytes = size_t{64} << 20;
// The most --max-reply-bytes may be: the largest value (so one value always
// fits anyway) times two.
inline constexpr size_t kMaxMaxReplyBytes = size_t{1} << 30;

// The bytes of keys and values a reply may still take, counted as stored
// (before a codec adds quotes, escapes, base64 or RESP lengths). The first
// bytes taken always fit, however many, so any single entry or value can be
// read and a paging client always makes progress; after that, Take refuses
// whatever would pass max_bytes.
class ReplyBudget {
 public:
  explicit ReplyBudget(size_t max_bytes) : max_bytes_(max_bytes) {}

  // True, and the bytes counted, if n more bytes fit; false (and nothing
  // counted) otherwise. Taking 0 bytes always succeeds and uses nothing.
  bool Take(size_t n) {
    if (n == 0) return true;
    if (used_ > 0 && (used_ > max_bytes_ || n > max_bytes_ - used_)) return false;
    used_ += n;
    return true;
  }
  size_t used() const { return used_; }
  size_t max_bytes() const { return max_bytes_; }

 private:
  size_t max_bytes_;
  size_t used_ = 0;
};

// ---- Key commands: the ones a transaction (MULTI/EXEC) may queue ----

struct GetCommand {
  std::string_view key;
};

struct MultiGetCommand {
  std::vector<std::string_view> keys;
};

// A blind write: JSON put, RESP SET without options.
struct PutCommand {
  std::string_view key;
  std::string_view value;
};

// A blind delete: JSON delete (no count wanted, so no read).
struct DeleteCommand {
  std::string_view key;
};

// SET with NX / XX / GET, SETNX: reads the key, then maybe writes it.
struct SetCommand {
  enum class Condition { kAlways, kIfAbsent, kIfPresent };
  std::string_view key;
  std::string_view value;
  Condition condition = Condition::kAlways;
  bool return_old = false;  // reply with the previous value (SET ... GET)
};

// EXISTS (remove false) and DEL / UNLINK (remove true): counts the keys that
// exist, a key named twice counted twice, as Redis does.
struct CountKeysCommand {
  std::vector<std::string_view> keys;
  bool remove = false;
};

// MSET: every pair in one atomic write.
struct MultiPutCommand {
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
};

// GETDEL: the value, and the key deleted in the same atomic step.
struct GetDeleteCommand {
  std::string_view key;
};

// STRLEN: the value's length, 0 when absent.
struct StrlenCommand {
  std::string_view key;
};

// INCR, INCRBY, DECR, DECRBY: the value read as a base-10 int64 (absent is
// 0), plus `by`, written back; the result is the new value.
struct IncrementCommand {
  std::string_view key;
  int64_t by = 1;
};

// INCRBYFLOAT: the same for a long double; the result is the new value as
// Redis formats it (no exponent, no trailing zeros).
struct IncrementFloatCommand {
  std::string_view key;
  long double by = 0;
};

// APPEND: the value with `suffix` added (absent is ""); the result is the
// new length.
struct AppendCommand {
  std::string_view key;
  std::string_view suffix;
};

using KeyCommand = std::variant<GetCommand, MultiGetCommand, PutCommand, DeleteCommand, SetCommand,
                                CountKeysCommand, MultiPutCommand, GetDeleteCommand, StrlenCommand,
                                IncrementCommand, IncrementFloatCommand, AppendCommand>;

// ---- Other commands ----

// MULTI ... EXEC: the queued key commands run in order as one atomic
// read-modify-write (reads see the transaction's own earlier writes), and
// their writes commit as one atomic write.
struct TransactionCommand {
  std::vector<KeyCommand> commands;
};

// Where a scan's entries go, straight from the engine (no copy in between):
// the codec renders each one into its reply. The views are valid only during
// the call. Used on the thread that runs the scan, before Execute returns.
class ScanSink {
 public:
  virtual ~ScanSink() = default;
  // Called for every entry examined, in key order. False leaves it out of
  // the reply (RESP SCAN's MATCH): it counts against the command's limit but
  // not against the reply budget.
  virtual bool Wants(std::string_view /*key*/) { return true; }
  // An entry the reply takes (it fits the budget).
  virtual void Add(std::string_view key, std::string_view value) = 0;
};

// JSON scan, RESP SCAN and KEYS: [start, end) in key order. The reply is
// bounded by the executor's ReplyBudget as well as by limit: past the budget
// the result stops early with more = true (the first entry always fits), or,
// for a walk of the whole range (KEYS), the command fails.
struct ScanCommand {
  std::string_view start;               // inclusive; "" = from the first key
  std::optional<std::string_view> end;  // exclusive; absent = no upper bound
  uint64_t limit = kDefaultScanLimit;   // entries examined: 1 .. kMaxScanLimit
  // What the reply carries of each entry: the budget counts those bytes.
  enum class Carries { kEntries, kKeys };
  Carries carries = Carries::kEntries;
  // Every entry of the range in one reply (KEYS): limit is not used, and a
  // reply over the budget is an error instead of a short page.
  bool whole_range = false;
  // Where the entries go; nullptr: copied into the ScanResult.
  ScanSink* sink = nullptr;
};

struct FlushCommand {
  // The automatic flush threshold from now on, when given.
  std::optional<uint64_t> memtable_size_bytes;
};

struct LookupCommand {
  std::string_view sstable;  // a live table's file name, e.g. "L0_001.sst"
  std::string_view key;
};

struct CompactCommand {};

struct StatsCommand {};

using Command =
    std::variant<GetCommand, MultiGetCommand, PutCommand, DeleteCommand, SetCommand,
                 CountKeysCommand, MultiPutCommand, GetDeleteCommand, StrlenCommand,
                 IncrementCommand, IncrementFloatCommand, AppendCommand, TransactionCommand,
                 ScanCommand, FlushCommand, LookupCommand, CompactCommand, StatsCommand>;

// ---- Results ----

// Why a command failed, in terms every codec can render (JSON error codes,
// RESP "-ERR ..." lines).
enum class CommandErrorKind {
  kInvalidArgument,  // the client's fault: a bad key, value or argument
  kUnavailable,      // try again later: a stalled write, an engine shutting down
  kNotFound,         // a named thing does not exist (an SSTable name)
  kEngine,           // the engine failed: I/O error, full disk, corruption
};

struct CommandError {
  CommandErrorKind kind = CommandErrorKind::kInvalidArgument;
  std::string text;
};

struct OkResult {};

// GET, GETDEL: the value, or nothing when the key is absent.
struct ValueResult {
  std::optional<std::string> value;
};

// MGET: one entry per key asked for.
struct ValuesResult {
  std::vector<std::optional<std::string>> values;
};

// SET with options.
struct SetResult {
  bool written = false;
  bool return_old = false;               // the command asked for the old value
  std::optional<std::string> old_value;  // then: the old value, if there was one
};

// EXISTS, DEL, UNLINK, STRLEN.
struct CountResult {
  int64_t count = 0;
};

using KeyResult =
    std::variant<OkResult, ValueResult, ValuesResult, SetResult, CountResult, CommandError>;

struct TransactionResult {
  std::vector<KeyResult> results;  // one per queued command, in order
};

using CommandResult = std::variant<OkResult, ValueResult, ValuesResult, SetResult, CountResult,
                                   CommandError, TransactionResult, ScanResult, FlushResult,
                                   SSTableLookupResult, CompactResult, DBStats>;

// A base-10 int64 as Redis's string2ll reads one: an optional '-', digits,
// no '+', no spaces, no leading zeros (so the text round-trips). Used for
// stored counters (INCR) and for integer arguments (RESP).
std::optional<int64_t> ParseCanonicalInt64(std::string_view text);

// The error a command's arguments earn before any engine call (an empty or
// over-long key, an over-long value, a bad limit, an over-large batch), or
// nullopt if it may run. The executor checks every command with it.
std::optional<CommandError> ValidateCommand(const Command& command);

}  // namespace lsmd::proto
