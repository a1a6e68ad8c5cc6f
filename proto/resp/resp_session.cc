#include "proto/resp/resp_session.h"

#include <random>
#include <utility>

#include "proto/key_commands.h"
#include "proto/resp/resp_server_commands.h"
#include "proto/resp/resp_writer.h"

namespace lsmd::proto::resp {
namespace {

// A MULTI queue holds at most this many bytes of arguments (the writes of an
// EXEC are one atomic write, bounded by kMaxBatchBytes) and this many
// commands.
constexpr size_t kMaxQueuedBytes = kMaxBatchBytes;
constexpr size_t kMaxQueuedCommands = 100'000;

std::string NewRunId() {
  std::random_device device;
  std::mt19937_64 rng((uint64_t{device()} << 32) ^ device());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(40, '0');
  for (char& c : id) c = kHex[rng() & 15];
  return id;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x += 32;
    if (y >= 'A' && y <= 'Z') y += 32;
    if (x != y) return false;
  }
  return true;
}

// The key results a key command can produce, from the executor's result.
KeyResult ToKeyResult(CommandResult result) {
  return std::visit(
      [](auto&& r) -> KeyResult {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, OkResult> || std::is_same_v<T, ValueResult> ||
                      std::is_same_v<T, ValuesResult> || std::is_same_v<T, SetResult> ||
                      std::is_same_v<T, CountResult> || std::is_same_v<T, CommandError>) {
          return std::move(r);
        } else {
          return CommandError{CommandErrorKind::kEngine, "unexpected result for a key command"};
        }
      },
      std::move(result));
}

}  // namespace

RespShared::RespShared(CommandExecutor& executor, ServerFacts facts, const ClientCounters& clients,
                       ParserLimits limits, const AccessPolicy* policy)
    : executor(executor),
      policy(policy),
      facts(std::move(facts)),
      clients(clients),
      limits(limits),
      started(std::chrono::steady_clock::now()),
      run_id(NewRunId()) {}

RespSession::RespSession(RespShared& shared)
    : shared_(shared),
      parser_(shared.limits),
      id_(shared.next_client_id.fetch_add(1, std::memory_order_relaxed)) {
  if (shared.policy != nullptr) access_.emplace(*shared.policy);
}

std::string RespSession::DeniedReply(std::string_view reason) {
  std::string out;
  AppendError(&out, "DENIED " + std::string(reason));
  return out;
}

std::string RespSession::RefusalReply(std::string_view reason) {
  std::string out;
  AppendError(&out, "ERR max number of clients reached (" + std::string(reason) + ")");
  return out;
}

Session::Step RespSession::HandleNext(std::string_view input, bool input_closed, std::string* out,
                                      ReplyFn later) {
  parser_.Clear();  // the previous request's inline arguments are done with
  std::vector<std::string_view> args;
  ParseResult parsed = parser_.Parse(input, &args);
  switch (parsed.status) {
    case ParseStatus::kNeedMore:
      return {Outcome::kNeedMore, 0};
    case ParseStatus::kProtocolError:
      AppendError(out, parsed.error);
      return {Outcome::kFatal, input.size()};
    case ParseStatus::kComplete:
      break;
  }
  if (args.empty()) return {Outcome::kAnswered, parsed.consumed};  // ignored, as Redis does
  Step step{Handle(args, out, later), parsed.consumed};
  if (access_) step.delay = access_->TakeDelay();
  return step;
}

Session::Outcome RespSession::Handle(Args args, std::string* out, ReplyFn& later) {
  shared_.session_commands.fetch_add(1, std::memory_order_relaxed);
  const CommandSpec* spec = FindCommand(args[0]);
  if (in_multi_) {
    const bool runs_now =
        spec != nullptr && (spec->op == SessionOp::kExec || spec->op == SessionOp::kDiscard ||
                            spec->op == SessionOp::kMulti || spec->op == SessionOp::kWatch ||
                            spec->op == SessionOp::kQuit || spec->op == SessionOp::kReset);
    if (!runs_now) return Queue(spec, args, out);
  }
  if (spec == nullptr) {
    AppendError(out, UnknownCommand(args));
    return Outcome::kAnswered;
  }
  if (!ArityOk(*spec, args.size())) {
    // As Redis: any refused command inside MULTI dooms the transaction.
    if (in_multi_) multi_failed_ = true;
    AppendError(out, WrongArity(spec->name));
    return Outcome::kAnswered;
  }
  if (access_ && !access_->Permits(RequiredPrivilege(*spec, args))) {
    if (in_multi_) multi_failed_ = true;
    if (access_->privilege() == Privilege::kOpen) {
      AppendError(out, "NOAUTH Authentication required.");
    } else {
      AppendError(out, "NOPERM this command needs the admin password: AUTH admin <password>");
    }
    return Outcome::kAnswered;
  }
  switch (spec->op) {
    case SessionOp::kKey:
      return HandleKeyCommand(*spec, args, out, later);
    case SessionOp::kPing:
      if (args.size() > 2) {
        AppendError(out, WrongArity("ping"));
      } else if (args.size() == 2) {
        AppendBulk(out, args[1]);
      } else {
        AppendSimpleString(out, "PONG");
      }
      return Outcome::kAnswered;
    case SessionOp::kEcho:
      AppendBulk(out, args[1]);
      return Outcome::kAnswered;
    case SessionOp::kQuit:
      AppendSimpleString(out, "OK");
      return Outcome::kClose;
    case SessionOp::kSelect: {
      auto index = ParseCanonicalInt64(args[1]);
      if (!index) {
        AppendError(out, "ERR value is not an integer or out of range");
      } else if (*index != 0) {
        AppendError(out, "ERR DB index is out of range");
      } else {
        AppendSimpleString(out, "OK");
      }
      return Outcome::kAnswered;
    }
    case SessionOp::kHello:
      return Hello(args, out);
    case SessionOp::kAuth:
      return Auth(args, out);
    case SessionOp::kClient:
      return Client(args, out);
    case SessionOp::kReset:
      ResetState();
      name_.clear();
      if (access_) access_->Reset();
      AppendSimpleString(out, "RESET");
      return Outcome::kAnswered;
    case SessionOp::kMulti:
      if (in_multi_) {
        AppendError(out, "ERR MULTI calls can not be nested");
      } else {
        in_multi_ = true;
        AppendSimpleString(out, "OK");
      }
      return Outcome::kAnswered;
    case SessionOp::kExec:
      return Exec(out, later);
    case SessionOp::kDiscard:
      if (!in_multi_) {
        AppendError(out, "ERR DISCARD without MULTI");
      } else {
        ResetState();
        AppendSimpleString(out, "OK");
      }
      return Outcome::kAnswered;
    case SessionOp::kWatch:
      if (in_multi_) {
        AppendError(out, "ERR WATCH inside MULTI is not allowed");
      } else {
        AppendError(out,
                    "ERR WATCH is not supported yet: lsmd has no conditional writes across "
                    "requests (MULTI/EXEC alone is atomic)");
      }
      return Outcome::kAnswered;
    case SessionOp::kUnwatch:
      AppendSimpleString(out, "OK");
      return Outcome::kAnswered;
    case SessionOp::kScan:
      return Scan(args, out);
    case SessionOp::kKeys:
      return Keys(args, out);
    case SessionOp::kDbsize:
      return Dbsize(out);
    case SessionOp::kInfo:
      AppendInfo(shared_, args, out);
      return Outcome::kAnswered;
    case SessionOp::kConfig:
      AppendConfig(shared_, args, out);
      return Outcome::kAnswered;
    case SessionOp::kCommand:
      AppendCommandReply(args, out);
      return Outcome::kAnswered;
    case SessionOp::kTime:
      AppendTime(out);
      return Outcome::kAnswered;
    case SessionOp::kFlush: {
      if (args.size() > 2) {
        AppendError(out, WrongArity("sstable.flush"));
        return Outcome::kAnswered;
      }
      FlushCommand flush;
      if (args.size() == 2) {
        auto bytes = ParseCanonicalInt64(args[1]);
        if (!bytes || *bytes < 1) {
          AppendError(out, "ERR memtable_size_bytes must be an integer from 1 to " +
                               std::to_string(kMaxMemTableThresholdBytes));
          return Outcome::kAnswered;
        }
        flush.memtable_size_bytes = static_cast<uint64_t>(*bytes);
      }
      return Deferred(flush, later, out, AppendFlushResult);
    }
    case SessionOp::kLookup:
      return Deferred(LookupCommand{args[1], args[2]}, later, out, AppendLookupResult);
    case SessionOp::kCompact:
      return Deferred(CompactCommand{}, later, out, AppendCompactResult);
    case SessionOp::kStats:
      return Deferred(StatsCommand{}, later, out, AppendStatsResult);
  }
  AppendError(out, "ERR internal error: unhandled command");
  return Outcome::kAnswered;
}

Session::Outcome RespSession::Deferred(Command command, ReplyFn& later, std::string* out,
                                       void (*render)(CommandResult, std::string*)) {
  std::optional<CommandResult> result =
      shared_.executor.Execute(command, [render, later = std::move(later)](CommandResult r) {
        std::string reply;
        render(std::move(r), &reply);
        later(std::move(reply));
      });
  if (!result) return Outcome::kDeferred;
  render(std::move(*result), out);
  return Outcome::kAnswered;
}

Session::Outcome RespSession::HandleKeyCommand(const CommandSpec& spec, Args args, std::string* out,
                                               ReplyFn& later) {
  KeyTranslation translated = spec.translate(args);
  if (!translated.command) {
    AppendError(out, translated.error);
    return Outcome::kAnswered;
  }
  auto render = spec.render;
  // Reads answer inline: only writes need the callback (and its allocation).
  CommandExecutor::Done done;
  if (!IsReadOnly(*translated.command)) {
    done = [render, later = std::move(later)](CommandResult r) {
      std::string reply;
      render(ToKeyResult(std::move(r)), &reply);
      later(std::move(reply));
    };
  }
  Command command =
      std::visit([](auto&& c) -> Command { return std::move(c); }, std::move(*translated.command));
  std::optional<CommandResult> result = shared_.executor.Execute(command, std::move(done));
  if (!result) return Outcome::kDeferred;
  render(ToKeyResult(std::move(*result)), out);
  return Outcome::kAnswered;
}

Session::Outcome RespSession::Queue(const CommandSpec* spec, Args args, std::string* out) {
  auto refuse = [&](std::string text) {
    multi_failed_ = true;
    AppendError(out, text);
    return Outcome::kAnswered;
  };
  if (spec == nullptr) return refuse(UnknownCommand(args));
  if (!ArityOk(*spec, args.size())) return refuse(WrongArity(spec->name));
  if (spec->op != SessionOp::kKey) {
    return refuse("ERR '" + std::string(spec->name) +
                  "' cannot be queued in a transaction in lsmd (only key commands can)");
  }
  KeyTranslation translated = spec->translate(args);
  if (!translated.command) return refuse(translated.error);
  size_t bytes = 0;
  for (std::string_view arg : args) bytes += arg.size();
  if (queued_.size() >= kMaxQueuedCommands || queued_bytes_ + bytes > kMaxQueuedBytes) {
    return refuse("ERR transaction too large: at most " + std::to_string(kMaxQueuedCommands) +
                  " commands and 64 MiB of arguments");
  }
  queued_bytes_ += bytes;
  queued_.push_back({spec, std::vector<std::string>(args.begin(), args.end())});
  AppendSimpleString(out, "QUEUED");
  return Outcome::kAnswered;
}

Session::Outcome RespSession::Exec(std::string* out, ReplyFn& later) {
  if (!in_multi_) {
    AppendError(out, "ERR EXEC without MULTI");
    return Outcome::kAnswered;
  }
  if (multi_failed_) {
    ResetState();
    AppendError(out, "EXECABORT Transaction discarded because of previous errors.");
    return Outcome::kAnswered;
  }
  TransactionCommand transaction;
  std::vector<void (*)(const KeyResult&, std::string*)> renders;
  transaction.commands.reserve(queued_.size());
  renders.reserve(queued_.size());
  for (const Queued& q : queued_) {
    std::vector<std::string_view> views(q.args.begin(), q.args.end());
    // Translated once already, when queued: it cannot fail now.
    transaction.commands.push_back(std::move(*q.spec->translate(views).command));
    renders.push_back(q.spec->render);
  }
  auto render = [renders = std::move(renders)](CommandResult r, std::string* reply) {
    if (auto* error = std::get_if<CommandError>(&r)) return AppendCommandError(*error, reply);
    auto& results = std::get<TransactionResult>(r).results;
    AppendArrayHeader(reply, results.size());
    for (size_t i = 0; i < results.size(); ++i) renders[i](results[i], reply);
  };
  // The executor copies every argument before Execute returns; the queue can
  // go right after.
  auto shared_render = std::make_shared<decltype(render)>(std::move(render));
  std::optional<CommandResult> result = shared_.executor.Execute(
      std::move(transaction), [shared_render, later = std::move(later)](CommandResult r) {
        std::string reply;
        (*shared_render)(std::move(r), &reply);
        later(std::move(reply));
      });
  ResetState();
  if (!result) return Outcome::kDeferred;
  (*shared_render)(std::move(*result), out);
  return Outcome::kAnswered;
}

void RespSession::ResetState() {
  in_multi_ = false;
  multi_failed_ = false;
  queued_.clear();
  queued_bytes_ = 0;
}

Session::Outcome RespSession::Hello(Args args, std::string* out) {
  size_t i = 1;
  if (args.size() > 1) {
    auto version = ParseCanonicalInt64(args[1]);
    if (!version) {
      AppendError(out, "ERR Protocol version is not an integer or out of range");
      return Outcome::kAnswered;
    }
    if (*version != 2) {
      AppendError(out, "NOPROTO unsupported protocol version");  // RESP2 only
      return Outcome::kAnswered;
    }
    i = 2;
  }
  std::optional<std::string_view> new_name;
  for (; i < args.size(); ++i) {
    if (EqualsIgnoreCase(args[i], "AUTH") && i + 2 < args.size()) {
      bool ok = false;
      const Outcome login = Login(args[i + 1], args[i + 2], &ok, out);
      if (!ok) return login;
      i += 2;
    } else if (EqualsIgnoreCase(args[i], "SETNAME") && i + 1 < args.size()) {
      new_name = args[++i];
      for (char c : *new_name) {
        if (c < '!' || c > '~') {
          AppendError(out,
                      "ERR Client names cannot contain spaces, newlines or special characters.");
          return Outcome::kAnswered;
        }
      }
    } else {
      AppendError(out, "ERR Syntax error in HELLO option '" + std::string(args[i]) + "'");
      return Outcome::kAnswered;
    }
  }
  if (access_ && !access_->Permits(Privilege::kData)) {
    AppendError(out,
                "NOAUTH HELLO must be called with the client already authenticated, otherwise "
                "the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the "
                "client and select the RESP protocol version at the same time");
    return Outcome::kAnswered;
  }
  if (new_name) name_.assign(*new_name);
  AppendHelloReply(shared_, id_, out);
  return Outcome::kAnswered;
}

Session::Outcome RespSession::Auth(Args args, std::string* out) {
  if (args.size() > 3) {
    AppendError(out, "ERR syntax error");
    return Outcome::kAnswered;
  }
  const std::string_view user = args.size() == 3 ? args[1] : std::string_view();
  bool ok = false;
  const Outcome outcome = Login(user, args.back(), &ok, out);
  if (ok) AppendSimpleString(out, "OK");
  return outcome;
}

Session::Outcome RespSession::Login(std::string_view user, std::string_view password, bool* ok,
                                    std::string* out) {
  using Login = ClientAccess::Login;
  *ok = false;
  const Login login = access_ ? access_->Authenticate(user, password) : Login::kNoPassword;
  switch (login) {
    case Login::kOk:
      *ok = true;
      return Outcome::kAnswered;
    case Login::kNoPassword:
      // As Redis's default user without a password: any password will do
      // when a user is named, none may be given alone.
      if (user.empty()) {
        AppendError(out,
                    "ERR AUTH <password> called without any password configured for the default "
                    "user. Are you sure your configuration is correct?");
      } else if (user == "default") {
        *ok = true;
      } else {
        AppendError(out, "WRONGPASS invalid username-password pair or user is disabled.");
      }
      return Outcome::kAnswered;
    case Login::kWrong:
      AppendError(out, "WRONGPASS invalid username-password pair or user is disabled.");
      return Outcome::kAnswered;
    case Login::kTooMany:
      AppendError(out,
                  "WRONGPASS invalid username-password pair or user is disabled; too many "
                  "failed attempts, closing the connection");
      return Outcome::kClose;
  }
  return Outcome::kAnswered;
}

Session::Outcome RespSession::Client(Args args, std::string* out) {
  const std::string_view sub = args[1];
  if (EqualsIgnoreCase(sub, "SETNAME") && args.size() == 3) {
    for (char c : args[2]) {
      if (c < '!' || c > '~') {
        AppendError(out, "ERR Client names cannot contain spaces, newlines or special characters.");
        return Outcome::kAnswered;
      }
    }
    name_.assign(args[2]);
    AppendSimpleString(out, "OK");
  } else if (EqualsIgnoreCase(sub, "GETNAME") && args.size() == 2) {
    if (name_.empty()) {
      AppendNullBulk(out);
    } else {
      AppendBulk(out, name_);
    }
  } else if (EqualsIgnoreCase(sub, "ID") && args.size() == 2) {
    AppendInteger(out, static_cast<int64_t>(id_));
  } else if (EqualsIgnoreCase(sub, "SETINFO") && args.size() == 4) {
    AppendSimpleString(out, "OK");  // library name and version: accepted, not kept
  } else if (EqualsIgnoreCase(sub, "SETNAME") || EqualsIgnoreCase(sub, "GETNAME") ||
             EqualsIgnoreCase(sub, "ID") || EqualsIgnoreCase(sub, "SETINFO")) {
    std::string lower(sub);
    for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? c + 32 : c;
    AppendError(out, WrongArity("client|" + lower));
  } else {
    AppendError(
        out, "ERR unknown subcommand '" + std::string(sub.substr(0, 128)) + "'. Try CLIENT HELP.");
  }
  return Outcome::kAnswered;
}

}  // namespace lsmd::proto::resp
