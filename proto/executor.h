// CommandExecutor: runs a Command (command.h) against the engine and hands
// back its CommandResult. Every read and write of keys goes through it, from
// both codecs, so a command means the same on every port. (RESP's
// DBSIZE and INFO read the engine directly: they count keys and return none.)
//
// How each kind of command runs:
// - reads (GET, MGET, EXISTS, STRLEN, scan, SCAN, KEYS, stats, sstable
//   lookups) are answered inline, on the caller's thread;
// - blind writes (put, delete, MSET) go to the engine's commit queue and are
//   answered once durable;
// - read-modify-writes (SET NX/XX/GET, DEL's count, GETDEL, a transaction)
//   are decided on the engine's committer (DB::ConditionalWriteAsync), so
//   they are atomic against every other write without a lock on requests;
// - flush and compact are answered when the background work is done.
//
// Every reply is bounded by max_reply_bytes (a ReplyBudget per command,
// command.h): scans stop early, KEYS and MGET fail, and a transaction's
// results past it become errors. Decided here, once, for every codec.
//
// Thread safety: Execute may be called from any number of threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>

#include "core/db.h"
#include "proto/command.h"

namespace lsmd::proto {

class CommandExecutor {
 public:
  using Done = std::function<void(CommandResult)>;

  // max_reply_bytes: the keys and values one reply may carry (ReplyBudget,
  // lsmd --max-reply-bytes), for every command of every port.
  explicit CommandExecutor(DB* db, size_t max_reply_bytes = kDefaultMaxReplyBytes)
      : db_(db), max_reply_bytes_(max_reply_bytes) {}

  // Returns the result when it is known at once (every read, every error);
  // otherwise returns std::nullopt and `later` runs exactly once: on an
  // engine thread, or inline before Execute returns when the engine commits
  // the write at once. Callers must handle both.
  std::optional<CommandResult> Execute(const Command& command, Done later);

  DB* db() const { return db_; }
  size_t max_reply_bytes() const { return max_reply_bytes_; }

  // Commands executed so far, both ports.
  uint64_t commands_processed() const { return processed_.load(std::memory_order_relaxed); }

 private:
  DB* const db_;
  const size_t max_reply_bytes_;
  std::atomic<uint64_t> processed_{0};
};

// An engine Status as the error a client sees.
CommandError ErrorFromStatus(const Status& status);

}  // namespace lsmd::proto
