// Running the key commands of command.h (GET, SET NX, DEL, MGET, ...) over a
// KeyState: the same code answers them alone and inside a transaction, where
// reads must see the transaction's own earlier writes.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/db.h"
#include "core/write_batch.h"
#include "proto/command.h"

namespace lsmd::proto {

// The store as a key command sees it.
class KeyState {
 public:
  virtual ~KeyState() = default;
  // OK and *value, NotFound when absent, or the engine's error.
  virtual Status Read(std::string_view key, std::string* value) = 0;
  virtual void Write(std::string_view key, std::string_view value) = 0;
  virtual void Remove(std::string_view key) = 0;
};

// True if the command only reads: it can be answered without a commit.
bool IsReadOnly(const KeyCommand& command);

// Runs one command. An engine error while reading becomes a CommandError
// result; the caller decides whether that fails more than this command. The
// values the result carries are taken from budget: a result they do not fit
// is a CommandError (MGET stops reading at the first value that does not
// fit), and its bytes are not counted.
KeyResult RunKeyCommand(const KeyCommand& command, KeyState& state, ReplyBudget& budget);

// The text of the error a result over the reply budget gets.
std::string ReplyTooLargeText(const ReplyBudget& budget);

// Reads straight from the engine; a read-only command never writes.
class EngineKeyState final : public KeyState {
 public:
  explicit EngineKeyState(DB* db) : db_(db) {}
  Status Read(std::string_view key, std::string* value) override { return db_->Get(key, value); }
  void Write(std::string_view, std::string_view) override {}
  void Remove(std::string_view) override {}

 private:
  DB* const db_;
};

// Inside a conditional write's decision: reads go through the writes made so
// far (newest first), then to the engine's committed state; writes collect
// into the batch that commits them all at once.
class BatchKeyState final : public KeyState {
 public:
  BatchKeyState(const DB::ReadFn& read, WriteBatch* batch) : read_(read), batch_(batch) {}
  Status Read(std::string_view key, std::string* value) override;
  void Write(std::string_view key, std::string_view value) override;
  void Remove(std::string_view key) override;

 private:
  const DB::ReadFn& read_;
  WriteBatch* const batch_;
  // The latest write of each key in batch_: a value, or nullopt for a delete.
  std::map<std::string, std::optional<std::string>, std::less<>> written_;
};

}  // namespace lsmd::proto
