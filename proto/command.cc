#include "proto/command.h"

#include <charconv>
#include <type_traits>

namespace lsmd::proto {
namespace {

CommandError Invalid(std::string text) {
  return {CommandErrorKind::kInvalidArgument, std::move(text)};
}

std::optional<CommandError> CheckKey(std::string_view key) {
  if (key.empty()) return Invalid("empty keys are not supported");
  if (key.size() > kMaxKeyBytes) return Invalid("key longer than 16 KiB (16384 bytes)");
  return std::nullopt;
}

std::optional<CommandError> CheckValue(std::string_view value) {
  if (value.size() > kMaxValueBytes) return Invalid("value longer than 512 MiB");
  return std::nullopt;
}

// Keys, values and, for the commands that write several keys at once (MSET,
// a transaction), the bytes of their writes, for the batch bound.
struct Checker {
  size_t write_bytes = 0;
  bool batch = false;  // inside MSET or a transaction

  std::optional<CommandError> Key(std::string_view key) { return CheckKey(key); }
  std::optional<CommandError> Write(std::string_view key, std::string_view value) {
    if (auto e = CheckKey(key)) return e;
    if (auto e = CheckValue(value)) return e;
    write_bytes += key.size() + value.size();
    if (batch && write_bytes > kMaxBatchBytes) {
      return Invalid("one atomic write (MSET or EXEC) may hold at most 64 MiB of keys and values");
    }
    return std::nullopt;
  }

  std::optional<CommandError> operator()(const GetCommand& c) { return Key(c.key); }
  std::optional<CommandError> operator()(const StrlenCommand& c) { return Key(c.key); }
  std::optional<CommandError> operator()(const GetDeleteCommand& c) { return Key(c.key); }
  std::optional<CommandError> operator()(const DeleteCommand& c) { return Key(c.key); }
  std::optional<CommandError> operator()(const IncrementCommand& c) { return Key(c.key); }
  std::optional<CommandError> operator()(const IncrementFloatCommand& c) { return Key(c.key); }
  std::optional<CommandError> operator()(const AppendCommand& c) { return Write(c.key, c.suffix); }
  std::optional<CommandError> operator()(const PutCommand& c) { return Write(c.key, c.value); }
  std::optional<CommandError> operator()(const SetCommand& c) { return Write(c.key, c.value); }
  std::optional<CommandError> operator()(const MultiGetCommand& c) {
    for (std::string_view key : c.keys) {
      if (auto e = Key(key)) return e;
    }
    return std::nullopt;
  }
  std::optional<CommandError> operator()(const CountKeysCommand& c) {
    for (std::string_view key : c.keys) {
      if (auto e = Key(key)) return e;
    }
    return std::nullopt;
  }
  std::optional<CommandError> operator()(const MultiPutCommand& c) {
    batch = true;
    for (const auto& [key, value] : c.pairs) {
      if (auto e = Write(key, value)) return e;
    }
    return std::nullopt;
  }
  std::optional<CommandError> operator()(const TransactionCommand& c) {
    batch = true;
    for (const KeyCommand& command : c.commands) {
      if (auto e = std::visit(*this, command)) return e;
    }
    return std::nullopt;
  }
  std::optional<CommandError> operator()(const ScanCommand& c) {
    if (c.whole_range) return std::nullopt;
    if (c.limit < 1 || c.limit > kMaxScanLimit) {
      return Invalid("limit must be from 1 to " + std::to_string(kMaxScanLimit));
    }
    return std::nullopt;
  }
  std::optional<CommandError> operator()(const FlushCommand& c) {
    if (c.memtable_size_bytes &&
        (*c.memtable_size_bytes < 1 || *c.memtable_size_bytes > kMaxMemTableThresholdBytes)) {
      return Invalid("memtable_size_bytes must be from 1 to " +
                     std::to_string(kMaxMemTableThresholdBytes));
    }
    return std::nullopt;
  }
  std::optional<CommandError> operator()(const LookupCommand& c) { return Key(c.key); }
  std::optional<CommandError> operator()(const CompactCommand&) { return std::nullopt; }
  std::optional<CommandError> operator()(const StatsCommand&) { return std::nullopt; }
};

}  // namespace

std::optional<int64_t> ParseCanonicalInt64(std::string_view text) {
  if (text.empty() || text.size() > 20 || text[0] == '+') return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (text.size() > 1 && (text[0] == '0' || (text[0] == '-' && text[1] == '0'))) {
    return std::nullopt;
  }
  return value;
}

std::optional<CommandError> ValidateCommand(const Command& command) {
  Checker checker;
  return std::visit(checker, command);
}

}  // namespace lsmd::proto
