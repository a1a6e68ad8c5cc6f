// The RESP command table: every command the RESP port knows, with Redis's
// arity rule and metadata (for COMMAND), and for the key commands the
// translation into command.h's model and the rendering of its result in the
// reply type Redis uses. docs/RESP.md lists the same table for people.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "proto/access.h"
#include "proto/command.h"

namespace lsmd::proto::resp {

// A request's arguments; [0] is the command name as the client spelled it.
using Args = std::span<const std::string_view>;

// What the session does for commands that are not key commands.
enum class SessionOp {
  kKey,  // a key command: translate, execute, render
  kPing,
  kEcho,
  kQuit,
  kSelect,
  kHello,
  kClient,
  kReset,
  kAuth,
  kMulti,
  kExec,
  kDiscard,
  kWatch,
  kUnwatch,
  kScan,
  kKeys,
  kDbsize,
  kInfo,
  kConfig,
  kCommand,
  kTime,
  kFlush,
  kLookup,
  kCompact,
  kStats,
};

struct KeyTranslation {
  std::optional<KeyCommand> command;
  std::string error;  // the reply's error text (after '-') when there is no command
};

struct CommandSpec {
  std::string_view name;   // lower case, as COMMAND lists it
  int arity;               // Redis's rule: n means exactly n, -n at least n (name included)
  std::string_view flags;  // COMMAND's flags, space separated
  int first_key, last_key, key_step;
  std::string_view group;
  std::string_view summary;
  SessionOp op = SessionOp::kKey;
  // Key commands only: args -> command, and result -> reply bytes.
  KeyTranslation (*translate)(Args args) = nullptr;
  void (*render)(const KeyResult& result, std::string* out) = nullptr;
};

// The command named (ASCII case-insensitively), or nullptr.
const CommandSpec* FindCommand(std::string_view name);
std::span<const CommandSpec> AllCommands();

// What running the request needs (proto/access.h): PING, QUIT, HELLO, AUTH
// and RESET are open; the commands built on engine commands need what the
// command does; every other command needs data rights.
Privilege RequiredPrivilege(const CommandSpec& spec, Args args);

// Whether args has the arity spec demands.
bool ArityOk(const CommandSpec& spec, size_t argc);

// Redis's error texts, shared by the session.
std::string WrongArity(std::string_view name);  // "ERR wrong number of arguments for 'x' command"
std::string UnknownCommand(Args args);  // "ERR unknown command 'x', with args beginning with: ..."

// A CommandError as a RESP error reply.
void AppendCommandError(const CommandError& error, std::string* out);

}  // namespace lsmd::proto::resp
