#include "proto/executor.h"

#include <deque>
#include <memory>
#include <type_traits>
#include <utility>
#include <variant>

#include "proto/key_commands.h"

namespace lsmd::proto {

CommandError ErrorFromStatus(const Status& status) {
  switch (status.code()) {
    // Commands are fully validated before they reach the engine, so an
    // InvalidArgument from it is a refusal of the moment ("engine is
    // closed" during shutdown), not a malformed request.
    case Status::Code::kBusy:
    case Status::Code::kInvalidArgument:
      return {CommandErrorKind::kUnavailable, status.message()};
    case Status::Code::kNotFound:
      return {CommandErrorKind::kNotFound, status.message()};
    default:  // IOError, NoSpace, Corruption: the kind matters to an operator.
      return {CommandErrorKind::kEngine, status.ToString()};
  }
}

namespace {

using Done = CommandExecutor::Done;

CommandResult ToCommandResult(KeyResult result) {
  return std::visit([](auto&& r) -> CommandResult { return std::move(r); }, std::move(result));
}

DB::WriteCallback ReplyOkWhenWritten(Done done) {
  return [done = std::move(done)](Status s) {
    done(s.ok() ? CommandResult(OkResult{}) : CommandResult(ErrorFromStatus(s)));
  };
}

// A read-modify-write decided on the engine's committer. decide(state) runs
// there and returns the result to deliver once its writes are durable; a
// CommandError result fails the commit and nothing of it is written.
template <typename Result, typename Decide>
void CommitDecision(DB* db, Decide decide, Done done) {
  auto result = std::make_shared<Result>();
  db->ConditionalWriteAsync(
      [result, decide = std::move(decide)](const DB::ReadFn& read, WriteBatch* batch) {
        BatchKeyState state(read, batch);
        *result = decide(state);
        if constexpr (std::is_same_v<Result, KeyResult>) {
          if (auto* error = std::get_if<CommandError>(result.get())) {
            batch->Clear();
            return Status::Busy(error->text);  // not written; the result says why
          }
        }
        return Status::OK();
      },
      [result, done = std::move(done)](Status s) {
        if (s.ok()) {
          if constexpr (std::is_same_v<Result, KeyResult>) {
            return done(ToCommandResult(std::move(*result)));
          } else {
            return done(std::move(*result));
          }
        }
        if constexpr (std::is_same_v<Result, KeyResult>) {
          if (std::holds_alternative<CommandError>(*result)) {
            return done(std::get<CommandError>(std::move(*result)));
          }
        }
        done(ErrorFromStatus(s));
      });
}

struct Runner {
  DB* db;
  size_t max_reply_bytes;
  Done& later;

  // Key commands: reads inline, blind writes to the commit queue, the rest
  // decided on the committer.
  std::optional<CommandResult> operator()(const GetCommand& c) { return Read(c); }
  std::optional<CommandResult> operator()(const MultiGetCommand& c) { return Read(c); }
  std::optional<CommandResult> operator()(const StrlenCommand& c) { return Read(c); }
  std::optional<CommandResult> operator()(const CountKeysCommand& c) {
    if (!c.remove) return Read(c);
    return Decide(c);
  }
  std::optional<CommandResult> operator()(const SetCommand& c) {
    if (c.condition == SetCommand::Condition::kAlways && !c.return_old) {
      return (*this)(PutCommand{c.key, c.value});
    }
    return Decide(c);
  }
  std::optional<CommandResult> operator()(const GetDeleteCommand& c) { return Decide(c); }
  std::optional<CommandResult> operator()(const IncrementCommand& c) { return Decide(c); }
  std::optional<CommandResult> operator()(const IncrementFloatCommand& c) { return Decide(c); }
  std::optional<CommandResult> operator()(const AppendCommand& c) { return Decide(c); }

  std::optional<CommandResult> operator()(const PutCommand& c) {
    db->PutAsync(c.key, c.value, ReplyOkWhenWritten(std::move(later)));
    return std::nullopt;
  }
  std::optional<CommandResult> operator()(const DeleteCommand& c) {
    db->DeleteAsync(c.key, ReplyOkWhenWritten(std::move(later)));
    return std::nullopt;
  }
  std::optional<CommandResult> operator()(const MultiPutCommand& c) {
    WriteBatch batch;
    for (const auto& [key, value] : c.pairs) batch.Put(key, value);
    db->WriteAsync(std::move(batch), ReplyOkWhenWritten(std::move(later)));
    return std::nullopt;
  }

  std::optional<CommandResult> operator()(const TransactionCommand& c) {
    if (c.commands.empty()) return TransactionResult{};
    // The queued commands must outlive the codec's request: copy their
    // bytes into the decision. (The views in `owned` point into `storage`.)
    struct Owned {
      std::deque<std::string> storage;  // stable addresses as it grows
      std::vector<KeyCommand> commands;
    };
    auto owned = std::make_shared<Owned>();
    owned->commands = c.commands;
    for (KeyCommand& command : owned->commands) Rebind(command, owned->storage);
    // One budget for every result: EXEC's reply carries them all. A result
    // past it is that command's error; the others (and every write) stand.
    CommitDecision<TransactionResult>(
        db,
        [owned, max = max_reply_bytes](KeyState& state) {
          ReplyBudget budget(max);
          TransactionResult result;
          result.results.reserve(owned->commands.size());
          for (const KeyCommand& command : owned->commands) {
            result.results.push_back(RunKeyCommand(command, state, budget));
          }
          return result;
        },
        std::move(later));
    return std::nullopt;
  }

  std::optional<CommandResult> operator()(const ScanCommand& c) {
    ScanResult result;
    // The engine reads an empty end as "no upper bound"; a given end at or
    // before start (end "" included) is an empty range.
    if (c.end && *c.end <= c.start) return result;
    const std::string_view end = c.end.value_or(std::string_view());
    ReplyBudget budget(max_reply_bytes);
    bool over_budget = false;
    std::string last;  // whole_range: the last key examined, where the next page starts
    // Entries go from the engine's views straight to the sink (or, without
    // one, into result.entries): the budget is checked before each is taken.
    auto visit = [&](std::string_view key, std::string_view value) {
      if (c.whole_range) last.assign(key);
      if (c.sink != nullptr && !c.sink->Wants(key)) return true;
      const size_t cost =
          key.size() + (c.carries == ScanCommand::Carries::kEntries ? value.size() : 0);
      if (!budget.Take(cost)) {
        over_budget = true;
        return false;  // the engine reports more = true: this entry remains
      }
      if (c.sink != nullptr) {
        c.sink->Add(key, value);
      } else {
        result.entries.emplace_back(key, value);
      }
      return true;
    };
    if (!c.whole_range) {
      Status s = db->ScanWhile(c.start, end, c.limit, visit, &result.more);
      if (!s.ok()) return ErrorFromStatus(s);
      return result;
    }
    // The whole range in pages, each on a fresh view of the engine, so a
    // long walk does not hold every table file it started with.
    std::string start(c.start);
    for (bool more = true; more;) {
      Status s = db->ScanWhile(start, end, kMaxScanLimit, visit, &more);
      if (!s.ok()) return ErrorFromStatus(s);
      if (over_budget) {
        return CommandError{CommandErrorKind::kInvalidArgument,
                            ReplyTooLargeText(budget) + ": use SCAN to page through the keys"};
      }
      start = last;
      start.push_back('\0');  // the smallest key after the last one examined
    }
    return result;
  }
  std::optional<CommandResult> operator()(const FlushCommand& c) {
    if (c.memtable_size_bytes) {
      Status s = db->SetMemTableThreshold(static_cast<size_t>(*c.memtable_size_bytes));
      if (!s.ok()) return ErrorFromStatus(s);
    }
    db->FlushAsync([done = std::move(later)](Result<FlushResult> flush) {
      done(flush.ok() ? CommandResult(std::move(*flush)) : ErrorFromStatus(flush.status()));
    });
    return std::nullopt;
  }
  std::optional<CommandResult> operator()(const LookupCommand& c) {
    // The engine matches the name against live tables only and never turns
    // it into a path, so "../x" or "/etc/passwd" are just names it does not
    // know.
    Result<SSTableLookupResult> lookup = db->LookupInSSTable(c.sstable, c.key);
    if (!lookup.ok()) return ErrorFromStatus(lookup.status());
    return std::move(*lookup);
  }
  std::optional<CommandResult> operator()(const CompactCommand&) {
    db->CompactAllAsync([done = std::move(later)](Result<CompactResult> compact) {
      done(compact.ok() ? CommandResult(std::move(*compact)) : ErrorFromStatus(compact.status()));
    });
    return std::nullopt;
  }
  std::optional<CommandResult> operator()(const StatsCommand&) { return db->GetStats(); }

 private:
  template <typename C>
  std::optional<CommandResult> Read(const C& c) {
    EngineKeyState state(db);
    ReplyBudget budget(max_reply_bytes);
    return ToCommandResult(RunKeyCommand(c, state, budget));
  }

  template <typename C>
  std::optional<CommandResult> Decide(const C& c) {
    // Copy the arguments: the decision runs after the codec's request is gone.
    auto storage = std::make_shared<std::deque<std::string>>();
    KeyCommand command = c;
    Rebind(command, *storage);
    CommitDecision<KeyResult>(
        db,
        [storage, command = std::move(command), max = max_reply_bytes](KeyState& state) {
          ReplyBudget budget(max);
          return RunKeyCommand(command, state, budget);
        },
        std::move(later));
    return std::nullopt;
  }

  // Points every view of command at a copy in storage.
  static void Rebind(KeyCommand& command, std::deque<std::string>& storage) {
    auto own = [&storage](std::string_view& view) {
      storage.emplace_back(view);
      view = storage.back();
    };
    std::visit(
        [&](auto& c) {
          using T = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<T, MultiGetCommand> || std::is_same_v<T, CountKeysCommand>) {
            for (auto& key : c.keys) own(key);
          } else if constexpr (std::is_same_v<T, MultiPutCommand>) {
            for (auto& [key, value] : c.pairs) {
              own(key);
              own(value);
            }
          } else if constexpr (std::is_same_v<T, PutCommand> || std::is_same_v<T, SetCommand>) {
            own(c.key);
            own(c.value);
          } else if constexpr (std::is_same_v<T, AppendCommand>) {
            own(c.key);
            own(c.suffix);
          } else {
            own(c.key);
          }
        },
        command);
  }
};

}  // namespace

std::optional<CommandResult> CommandExecutor::Execute(const Command& command, Done later) {
  processed_.fetch_add(1, std::memory_order_relaxed);
  if (auto error = ValidateCommand(command)) return std::move(*error);
  Runner runner{db_, max_reply_bytes_, later};
  return std::visit(runner, command);
}

}  // namespace lsmd::proto
