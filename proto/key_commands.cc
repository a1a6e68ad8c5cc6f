#include "proto/key_commands.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <utility>

#include "proto/executor.h"

namespace lsmd::proto {
namespace {

// The value at key (nullopt when absent), or the engine's error.
Result<std::optional<std::string>> ReadValue(KeyState& state, std::string_view key) {
  std::string value;
  Status s = state.Read(key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return s;
  return std::optional<std::string>(std::move(value));
}

KeyResult Run(const GetCommand& c, KeyState& state) {
  auto value = ReadValue(state, c.key);
  if (!value.ok()) return ErrorFromStatus(value.status());
  return ValueResult{std::move(*value)};
}

// MGET: the values must fit the reply budget together; the first value that
// does not fails the command before another value is read, and none of its
// bytes stay counted.
KeyResult Run(const MultiGetCommand& c, KeyState& state, ReplyBudget& budget) {
  const ReplyBudget before = budget;
  ValuesResult result;
  result.values.reserve(c.keys.size());
  for (std::string_view key : c.keys) {
    auto value = ReadValue(state, key);
    if (!value.ok()) return ErrorFromStatus(value.status());
    if (value->has_value() && !budget.Take((*value)->size())) {
      budget = before;
      return CommandError{CommandErrorKind::kInvalidArgument, ReplyTooLargeText(budget)};
    }
    result.values.push_back(std::move(*value));
  }
  return result;
}

// The value bytes a result carries (MGET's are counted as it reads).
size_t ValueBytes(const KeyResult& result) {
  if (const auto* value = std::get_if<ValueResult>(&result)) {
    return value->value ? value->value->size() : 0;
  }
  if (const auto* set = std::get_if<SetResult>(&result)) {
    return set->old_value ? set->old_value->size() : 0;
  }
  return 0;
}

KeyResult Run(const PutCommand& c, KeyState& state) {
  state.Write(c.key, c.value);
  return OkResult{};
}

KeyResult Run(const DeleteCommand& c, KeyState& state) {
  state.Remove(c.key);
  return OkResult{};
}

KeyResult Run(const SetCommand& c, KeyState& state) {
  SetResult result;
  result.return_old = c.return_old;
  bool exists = false;
  if (c.condition != SetCommand::Condition::kAlways || c.return_old) {
    auto old = ReadValue(state, c.key);
    if (!old.ok()) return ErrorFromStatus(old.status());
    exists = old->has_value();
    if (c.return_old) result.old_value = std::move(*old);
  }
  const bool write = c.condition == SetCommand::Condition::kAlways ||
                     (c.condition == SetCommand::Condition::kIfAbsent && !exists) ||
                     (c.condition == SetCommand::Condition::kIfPresent && exists);
  if (write) state.Write(c.key, c.value);
  result.written = write;
  return result;
}

KeyResult Run(const CountKeysCommand& c, KeyState& state) {
  CountResult result;
  std::string ignored;
  for (std::string_view key : c.keys) {
    Status s = state.Read(key, &ignored);
    if (s.IsNotFound()) continue;
    if (!s.ok()) return ErrorFromStatus(s);
    ++result.count;
    if (c.remove) state.Remove(key);
  }
  return result;
}

KeyResult Run(const MultiPutCommand& c, KeyState& state) {
  for (const auto& [key, value] : c.pairs) state.Write(key, value);
  return OkResult{};
}

KeyResult Run(const GetDeleteCommand& c, KeyState& state) {
  auto value = ReadValue(state, c.key);
  if (!value.ok()) return ErrorFromStatus(value.status());
  if (value->has_value()) state.Remove(c.key);
  return ValueResult{std::move(*value)};
}

KeyResult Run(const StrlenCommand& c, KeyState& state) {
  auto value = ReadValue(state, c.key);
  if (!value.ok()) return ErrorFromStatus(value.status());
  return CountResult{value->has_value() ? static_cast<int64_t>((*value)->size()) : 0};
}

CommandError NotAnInteger() {
  return {CommandErrorKind::kInvalidArgument, "value is not an integer or out of range"};
}

KeyResult Run(const IncrementCommand& c, KeyState& state) {
  auto value = ReadValue(state, c.key);
  if (!value.ok()) return ErrorFromStatus(value.status());
  int64_t current = 0;
  if (value->has_value()) {
    auto parsed = ParseCanonicalInt64(**value);
    if (!parsed) return NotAnInteger();
    current = *parsed;
  }
  int64_t next;
  if (__builtin_add_overflow(current, c.by, &next)) {
    return CommandError{CommandErrorKind::kInvalidArgument,
                        "increment or decrement would overflow"};
  }
  state.Write(c.key, std::to_string(next));
  return CountResult{next};
}

// Redis's humanfriendly long double format: fixed point with 17 digits,
// trailing zeros (and a bare '.') removed.
std::string FormatLongDouble(long double value) {
  char buf[5 * 1024];
  int n = std::snprintf(buf, sizeof(buf), "%.17Lf", value);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof(buf)) return "0";
  std::string text(buf, n);
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  if (text == "-0") text = "0";
  return text;
}

KeyResult Run(const IncrementFloatCommand& c, KeyState& state) {
  auto value = ReadValue(state, c.key);
  if (!value.ok()) return ErrorFromStatus(value.status());
  long double current = 0;
  if (value->has_value()) {
    const std::string& text = **value;
    char* end = nullptr;
    errno = 0;
    current = text.empty() ? 0 : std::strtold(text.c_str(), &end);
    if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])) ||
        end != text.c_str() + text.size() || errno == ERANGE || std::isnan(current)) {
      return CommandError{CommandErrorKind::kInvalidArgument, "value is not a valid float"};
    }
  }
  const long double next = current + c.by;
  if (std::isnan(next) || std::isinf(next)) {
    return CommandError{CommandErrorKind::kInvalidArgument,
                        "increment would produce NaN or Infinity"};
  }
  std::string text = FormatLongDouble(next);
  state.Write(c.key, text);
  return ValueResult{std::move(text)};
}

KeyResult Run(const AppendCommand& c, KeyState& state) {
  auto value = ReadValue(state, c.key);
  if (!value.ok()) return ErrorFromStatus(value.status());
  std::string next = value->has_value() ? std::move(**value) : std::string();
  if (next.size() + c.suffix.size() > kMaxValueBytes) {
    return CommandError{CommandErrorKind::kInvalidArgument,
                        "string exceeds maximum allowed size (512 MiB)"};
  }
  next.append(c.suffix);
  state.Write(c.key, next);
  return CountResult{static_cast<int64_t>(next.size())};
}

}  // namespace

bool IsReadOnly(const KeyCommand& command) {
  return std::visit(
      [](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, CountKeysCommand>) {
          return !c.remove;
        } else {
          return std::is_same_v<T, GetCommand> || std::is_same_v<T, MultiGetCommand> ||
                 std::is_same_v<T, StrlenCommand>;
        }
      },
      command);
}

std::string ReplyTooLargeText(const ReplyBudget& budget) {
  return "reply larger than max-reply-bytes (" + std::to_string(budget.max_bytes()) +
         " bytes of keys and values)";
}

KeyResult RunKeyCommand(const KeyCommand& command, KeyState& state, ReplyBudget& budget) {
  KeyResult result = std::visit(
      [&](const auto& c) -> KeyResult {
        if constexpr (std::is_same_v<std::decay_t<decltype(c)>, MultiGetCommand>) {
          return Run(c, state, budget);
        } else {
          return Run(c, state);
        }
      },
      command);
  if (!budget.Take(ValueBytes(result))) {
    return CommandError{CommandErrorKind::kInvalidArgument, ReplyTooLargeText(budget)};
  }
  return result;
}

Status BatchKeyState::Read(std::string_view key, std::string* value) {
  auto it = written_.find(key);
  if (it == written_.end()) return read_(key, value);
  if (!it->second) return Status::NotFound(key);
  *value = *it->second;
  return Status::OK();
}

void BatchKeyState::Write(std::string_view key, std::string_view value) {
  batch_->Put(key, value);
  written_.insert_or_assign(std::string(key), std::optional<std::string>(value));
}

void BatchKeyState::Remove(std::string_view key) {
  batch_->Delete(key);
  written_.insert_or_assign(std::string(key), std::nullopt);
}

}  // namespace lsmd::proto
