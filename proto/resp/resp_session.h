// RespSession: the RESP2 protocol as a Session (proto/session.h). Frames
// requests with the RESP parser, looks each command up in the command table
// (resp_commands.h), runs key commands through the CommandExecutor shared
// with the JSON port, and keeps the connection's own state: its client id
// and name, and a MULTI queue.
//
// RespShared holds what every RESP connection shares: the executor, SCAN's
// cursor table and the facts INFO, CONFIG GET and HELLO report.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proto/access.h"
#include "proto/executor.h"
#include "proto/resp/cursor_table.h"
#include "proto/resp/resp_commands.h"
#include "proto/resp/resp_parser.h"
#include "proto/session.h"

namespace lsmd::proto::resp {

// Connection counts, kept by the server (server/tcp_server.cc) and read by
// INFO. Relaxed atomics: figures for people, not for decisions.
struct ClientCounters {
  std::atomic<uint64_t> connected{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> rejected{0};
};

// Fixed at start: what INFO, CONFIG GET and HELLO tell a client.
struct ServerFacts {
  std::string lsmd_version;
  uint16_t tcp_port = 0;  // the RESP port
  int io_threads = 1;
  std::string executable;
  // CONFIG GET's parameters, name -> value, in the order CONFIG GET * lists.
  std::vector<std::pair<std::string, std::string>> config;
};

struct RespShared {
  // policy: the passwords every request is checked against (proto/access.h);
  // nullptr trusts every client (tests).
  RespShared(CommandExecutor& executor, ServerFacts facts, const ClientCounters& clients,
             ParserLimits limits, const AccessPolicy* policy = nullptr);

  CommandExecutor& executor;
  const AccessPolicy* const policy;
  const ServerFacts facts;
  const ClientCounters& clients;
  const ParserLimits limits;
  CursorTable cursors;
  std::atomic<uint64_t> next_client_id{1};
  // RESP requests handled, whether or not they reached the executor (PING,
  // INFO, SCAN ... do not): INFO's total_commands_processed.
  std::atomic<uint64_t> session_commands{0};
  const std::chrono::steady_clock::time_point started;
  const std::string run_id;  // 40 hex digits, new for each process, as Redis's
};

class RespSession final : public Session {
 public:
  explicit RespSession(RespShared& shared);

  Step HandleNext(std::string_view input, bool input_closed, std::string* out,
                  ReplyFn later) override;
  std::string RefusalReply(std::string_view reason) override;
  std::string DeniedReply(std::string_view reason) override;

  uint64_t id() const { return id_; }

 private:
  // One request, parsed. Returns the outcome; a reply for an answered
  // request is appended to *out.
  Outcome Handle(Args args, std::string* out, ReplyFn& later);
  Outcome HandleKeyCommand(const CommandSpec& spec, Args args, std::string* out, ReplyFn& later);
  Outcome Queue(const CommandSpec* spec, Args args, std::string* out);
  Outcome Exec(std::string* out, ReplyFn& later);
  Outcome Scan(Args args, std::string* out);
  Outcome Keys(Args args, std::string* out);
  Outcome Dbsize(std::string* out);
  Outcome Hello(Args args, std::string* out);
  Outcome Auth(Args args, std::string* out);
  // Logs in with user (may be empty) and password; on failure appends the
  // error. kAnswered either way, kClose once the attempts are used up.
  Outcome Login(std::string_view user, std::string_view password, bool* ok, std::string* out);
  Outcome Client(Args args, std::string* out);
  Outcome Deferred(Command command, ReplyFn& later, std::string* out,
                   void (*render)(CommandResult result, std::string* out));
  void ResetState();

  RespShared& shared_;
  RequestParser parser_;
  const uint64_t id_;
  std::string name_;  // CLIENT SETNAME
  std::optional<ClientAccess> access_;  // none: every client trusted

  // MULTI: the queued requests' arguments, owned (the input they came in is
  // consumed long before EXEC), bounded by kMaxQueuedBytes.
  struct Queued {
    const CommandSpec* spec;
    std::vector<std::string> args;
  };
  bool in_multi_ = false;
  bool multi_failed_ = false;  // a queued command was refused: EXEC aborts
  std::vector<Queued> queued_;
  size_t queued_bytes_ = 0;
};

}  // namespace lsmd::proto::resp
