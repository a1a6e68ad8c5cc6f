#include "proto/dispatcher.h"

#include <exception>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "proto/access.h"
#include "proto/errors.h"
#include "proto/message.h"
#include "proto/parse.h"
#include "proto/reply_writer.h"

namespace lsmd::proto {
namespace {

using ReplyFn = Dispatcher::ReplyFn;

ErrorCode CodeFor(CommandErrorKind kind) {
  switch (kind) {
    case CommandErrorKind::kInvalidArgument:
      return ErrorCode::kMalformedRequest;
    case CommandErrorKind::kUnavailable:
      return ErrorCode::kTemporarilyUnavailable;
    case CommandErrorKind::kNotFound:
      return ErrorCode::kKeyDoesNotExist;
    case CommandErrorKind::kEngine:
      break;
  }
  return ErrorCode::kCrash;
}

// The command a JSON request asks for: the JSON codec only translates.
Command ToCommand(const PutRequest& r) { return PutCommand{r.key, r.value}; }
Command ToCommand(const GetRequest& r) { return GetCommand{r.key}; }
Command ToCommand(const DeleteRequest& r) { return DeleteCommand{r.key}; }
Command ToCommand(const ScanRequest& r) { return ScanCommand{r.start, r.end, r.limit}; }
Command ToCommand(const SSTableFlushRequest& r) { return FlushCommand{r.memtable_size_bytes}; }
Command ToCommand(const SSTableLookupRequest& r) { return LookupCommand{r.sstable, r.key}; }
Command ToCommand(const CompactRequest&) { return CompactCommand{}; }
Command ToCommand(const StatsRequest&) { return StatsCommand{}; }

// A command's result as the JSON reply to the request of type Request.
template <typename Request>
std::string Render(const ReplyHeader& header, CommandResult result) {
  if (auto* error = std::get_if<CommandError>(&result)) {
    return WriteReply(header, ErrorReply{CodeFor(error->kind), std::move(error->text)});
  }
  if constexpr (std::is_same_v<Request, PutRequest>) {
    return WriteReply(header, PutOk{});
  } else if constexpr (std::is_same_v<Request, DeleteRequest>) {
    return WriteReply(header, DeleteOk{});
  } else if constexpr (std::is_same_v<Request, GetRequest>) {
    GetOk reply;
    auto& value = std::get<ValueResult>(result).value;
    reply.found = value.has_value();
    if (value) reply.value = std::move(*value);
    return WriteReply(header, reply);
  } else if constexpr (std::is_same_v<Request, ScanRequest>) {
    return WriteReply(header, ScanOk{std::get<ScanResult>(std::move(result))});
  } else if constexpr (std::is_same_v<Request, SSTableFlushRequest>) {
    return WriteReply(header, SSTableFlushOk{std::get<FlushResult>(std::move(result))});
  } else if constexpr (std::is_same_v<Request, SSTableLookupRequest>) {
    return WriteReply(header, SSTableLookupOk{std::get<SSTableLookupResult>(std::move(result))});
  } else if constexpr (std::is_same_v<Request, CompactRequest>) {
    return WriteReply(header, CompactOk{std::get<CompactResult>(std::move(result))});
  } else {
    static_assert(std::is_same_v<Request, StatsRequest>);
    return WriteReply(header, StatsOk{std::get<DBStats>(std::move(result)), std::nullopt});
  }
}

// A scan: the executor hands each entry from the engine straight to the
// reply writer (no list of copied entries), and stops at the reply budget.
std::string ServeScan(CommandExecutor& executor, const ReplyHeader& header, ScanCommand scan) {
  ScanReplyWriter writer(header);
  scan.sink = &writer;
  std::optional<CommandResult> result = executor.Execute(scan, nullptr);
  if (result) {
    if (auto* error = std::get_if<CommandError>(&*result)) {
      return WriteReply(header, ErrorReply{CodeFor(error->kind), std::move(error->text)});
    }
    if (auto* page = std::get_if<ScanResult>(&*result)) return writer.Finish(page->more);
  }
  return WriteReply(header, ErrorReply{ErrorCode::kCrash, "internal error: scan was not answered"});
}

// Runs one request through the executor. Returns the reply line when the
// answer is known at once; otherwise "" once `done` went to the engine.
template <typename Request>
std::string Serve(CommandExecutor& executor, ReplyHeader& header, Command command,
                  ReplyFn& done) {
  if constexpr (std::is_same_v<Request, ScanRequest>) {
    return ServeScan(executor, header, std::get<ScanCommand>(std::move(command)));
  }
  // Reads are always answered inline: no callback to build (it would copy
  // the header onto the heap for nothing).
  constexpr bool kInline =
      std::is_same_v<Request, GetRequest> || std::is_same_v<Request, ScanRequest> ||
      std::is_same_v<Request, SSTableLookupRequest> || std::is_same_v<Request, StatsRequest>;
  CommandExecutor::Done later;
  if constexpr (!kInline) {
    later = [header = header, done = std::move(done)](CommandResult deferred) {
      done(Render<Request>(header, std::move(deferred)));
    };
  }
  std::optional<CommandResult> result = executor.Execute(command, std::move(later));
  if (!result) return {};
  return Render<Request>(header, std::move(*result));
}

// stats: the engine's figures, and where a password is set the failed logins.
std::string ServeStats(CommandExecutor& executor, const ReplyHeader& header, Command command,
                       const ClientAccess* access) {
  std::optional<CommandResult> result = executor.Execute(command, {});  // a read: inline
  if (!result || !std::holds_alternative<DBStats>(*result)) {
    return Render<StatsRequest>(header, result ? std::move(*result)
                                               : CommandResult{CommandError{
                                                     CommandErrorKind::kEngine,
                                                     "internal error: stats not answered"}});
  }
  StatsOk reply{std::get<DBStats>(std::move(*result)), std::nullopt};
  if (access != nullptr && access->policy().any_password()) {
    reply.auth_failures = access->policy().failed_attempts();
  }
  return WriteReply(header, reply);
}

// The refusal of a request the connection lacks the privilege for.
std::string Refused(const ReplyHeader& header, const ClientAccess& access) {
  if (access.privilege() == Privilege::kOpen) {
    return WriteReply(header, ErrorReply{ErrorCode::kAuthenticationRequired,
                                         "authentication required: send "
                                         "{\"type\":\"auth\",\"password\":\"...\"} first"});
  }
  return WriteReply(header, ErrorReply{ErrorCode::kAdminRequired,
                                       "this request needs the admin password: send "
                                       "{\"type\":\"auth\",\"user\":\"admin\",\"password\":"
                                       "\"...\"}"});
}

std::string Login(const ReplyHeader& header, ClientAccess* access, const AuthRequest& auth) {
  using Login = ClientAccess::Login;
  const Login login =
      access != nullptr ? access->Authenticate(auth.user, auth.password) : Login::kNoPassword;
  switch (login) {
    case Login::kOk:
      return WriteReply(header, AuthOk{access->privilege() == Privilege::kAdmin});
    case Login::kNoPassword:
      return WriteReply(header,
                        ErrorReply{ErrorCode::kWrongPassword, "no password is configured"});
    case Login::kWrong:
      break;
    case Login::kTooMany:
      return WriteReply(header, ErrorReply{ErrorCode::kWrongPassword,
                                           "invalid password; too many failed attempts, "
                                           "closing the connection"});
  }
  return WriteReply(header, ErrorReply{ErrorCode::kWrongPassword, "invalid password"});
}

}  // namespace

Dispatcher::Dispatcher(DB* db, std::string default_node_id)
    : owned_executor_(std::make_unique<CommandExecutor>(db)),
      executor_(*owned_executor_),
      node_id_(std::move(default_node_id)) {}

Dispatcher::Dispatcher(CommandExecutor& executor, std::string default_node_id)
    : executor_(executor), node_id_(std::move(default_node_id)) {}

Dispatcher::~Dispatcher() = default;

std::string Dispatcher::node_id() const {
  MutexLock lock(&node_mu_);
  return node_id_;
}

std::string Dispatcher::ErrorLine(ErrorCode code, std::string_view text) {
  ReplyHeader header;
  header.msg_id = next_msg_id_.fetch_add(1, std::memory_order_relaxed);
  return WriteReply(header, ErrorReply{code, std::string(text)});
}

std::string Dispatcher::Dispatch(std::string_view line, ClientAccess* access, ReplyFn& done) {
  std::string reply;
  ReplyHeader header;
  header.msg_id = next_msg_id_.fetch_add(1, std::memory_order_relaxed);
  try {
    RequestParser parser;
    ParsedRequest parsed = parser.Parse(line);
    header.envelope = parsed.route.envelope;
    header.in_reply_to = parsed.route.in_reply_to;
    if (header.envelope) header.dest = parsed.route.client;

    if (header.envelope) header.src = node_id();
    if (!parsed.ok()) {
      reply = WriteReply(header, *parsed.error);
    } else {
      reply = std::visit(
          [&](const auto& request) -> std::string {
            using R = std::decay_t<decltype(request)>;
            if constexpr (std::is_same_v<R, AuthRequest>) {
              return Login(header, access, request);
            } else if constexpr (std::is_same_v<R, InitRequest>) {
              if (access != nullptr && !access->Permits(Privilege::kData)) {
                return Refused(header, *access);
              }
              MutexLock lock(&node_mu_);
              node_id_ = request.node_id;
              node_ids_.assign(request.node_ids.begin(), request.node_ids.end());
              // init_ok already answers as the node init names.
              if (header.envelope) header.src = node_id_;
              return WriteReply(header, InitOk{});
            } else {
              Command command = ToCommand(request);
              if (access != nullptr && !access->Permits(RequiredPrivilege(command))) {
                return Refused(header, *access);
              }
              if constexpr (std::is_same_v<R, StatsRequest>) {
                return ServeStats(executor_, header, std::move(command), access);
              } else {
                return Serve<R>(executor_, header, std::move(command), done);
              }
            }
          },
          parsed.request);
    }
  } catch (const std::exception& e) {
    // Only allocation failures can get here; the client still gets an answer.
    reply = WriteReply(header,
                       ErrorReply{ErrorCode::kCrash, std::string("internal error: ") + e.what()});
  }
  return reply;  // every rendered reply is a non-empty JSON object
}

void Dispatcher::Handle(std::string_view line, ReplyFn done) {
  std::string reply = Dispatch(line, nullptr, done);
  // Empty: an engine callback owns `done` now and will answer.
  if (!reply.empty() && done) done(std::move(reply));
}

std::optional<std::string> Dispatcher::HandleOrDefer(std::string_view line, ClientAccess* access,
                                                     ReplyFn later) {
  std::string reply = Dispatch(line, access, later);
  if (reply.empty()) return std::nullopt;
  return reply;
}

}  // namespace lsmd::proto
