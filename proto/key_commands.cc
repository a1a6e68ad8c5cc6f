#include "proto/key_commands.h"

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

KeyResult Run(const MultiGetCommand& c, KeyState& state) {
  ValuesResult result;
  result.values.reserve(c.keys.size());
  for (std::string_view key : c.keys) {
    auto value = ReadValue(state, key);
    if (!value.ok()) return ErrorFromStatus(value.status());
    result.values.push_back(std::move(*value));
  }
  return result;
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

KeyResult RunKeyCommand(const KeyCommand& command, KeyState& state) {
  return std::visit([&](const auto& c) { return Run(c, state); }, command);
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
