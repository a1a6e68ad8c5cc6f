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

struct ScanCommand {
  std::string_view start;               // inclusive; "" = from the first key
  std::optional<std::string_view> end;  // exclusive; absent = no upper bound
  uint64_t limit = kDefaultScanLimit;   // 1 .. kMaxScanLimit
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
