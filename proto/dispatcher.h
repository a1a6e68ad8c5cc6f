// Dispatcher: the JSON codec's entry point, one request line in, one reply
// line out. Parses the line (parse.cc), turns the request into a Command
// (command.h) run by the CommandExecutor shared with the RESP port, and
// renders the result (reply_writer.cc). Only init, which names this node, is
// answered here without the executor.
//
// Thread safety: Handle() may be called from many threads at once; the node's
// identity is guarded by node_mu_, reply msg_ids come from an atomic counter.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/db.h"
#include "core/mutex.h"
#include "proto/access.h"
#include "proto/errors.h"
#include "proto/executor.h"

namespace lsmd::proto {

class Dispatcher {
 public:
  // Called exactly once per request with the reply line, without a trailing
  // newline. It may run inline (reads; writes the engine commits on the
  // calling thread) or later on an engine thread (writes, flushes,
  // compactions): callers must not assume either.
  using ReplyFn = std::function<void(std::string reply_line)>;

  // default_node_id answers as "src" until an init message names the node.
  // The first form runs commands through an executor of its own; the second
  // through one shared with other ports.
  Dispatcher(DB* db, std::string default_node_id);
  Dispatcher(CommandExecutor& executor, std::string default_node_id);
  ~Dispatcher();

  // Handle() trusts its caller (stdio: whoever runs the process owns the
  // data directory already): no login is asked for.
  void Handle(std::string_view line, ReplyFn done);

  // Handle() for callers that can use an answer at once without a callback
  // round trip. A request answered inline (a get, a scan, stats, any error)
  // returns its reply line and `later` is never called; one the engine
  // completes later (put, delete, flush, compact) returns std::nullopt and
  // `later` is called exactly once: on an engine thread, or inline before
  // HandleOrDefer returns when the engine commits the write at once.
  // access: the connection's login, checked against every request
  // (proto/access.h); nullptr trusts the caller as Handle() does.
  std::optional<std::string> HandleOrDefer(std::string_view line, ClientAccess* access,
                                           ReplyFn later);

  std::string node_id() const;

  // A bare error reply (no request to answer) with this node's next msg_id,
  // for errors a transport raises before a line is parsed: a line too long,
  // too many connections.
  std::string ErrorLine(ErrorCode code, std::string_view text);

 private:
  // Returns the reply line, or "" once `done` has been handed to the engine
  // (which then answers through it).
  std::string Dispatch(std::string_view line, ClientAccess* access, ReplyFn& done);

  std::unique_ptr<CommandExecutor> owned_executor_;  // the first constructor's
  CommandExecutor& executor_;
  mutable Mutex node_mu_;
  std::string node_id_ GUARDED_BY(node_mu_);
  std::vector<std::string> node_ids_ GUARDED_BY(node_mu_);
  std::atomic<uint64_t> next_msg_id_{0};  // reply msg_ids, from 0 per process
};

}  // namespace lsmd::proto
