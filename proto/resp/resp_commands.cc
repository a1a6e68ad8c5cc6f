#include "proto/resp/resp_commands.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <variant>

#include "proto/resp/resp_writer.h"

namespace lsmd::proto::resp {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x + 32 : x) == (y >= 'A' && y <= 'Z' ? y + 32 : y);
         });
}

KeyTranslation Error(std::string text) { return {std::nullopt, std::move(text)}; }
KeyTranslation Ok(KeyCommand command) { return {std::move(command), {}}; }

std::vector<std::string_view> Keys(Args args) {
  return std::vector<std::string_view>(args.begin() + 1, args.end());
}

// ---- Translations ----

KeyTranslation Get(Args a) { return Ok(GetCommand{a[1]}); }
KeyTranslation Strlen(Args a) { return Ok(StrlenCommand{a[1]}); }
KeyTranslation GetDel(Args a) { return Ok(GetDeleteCommand{a[1]}); }
KeyTranslation MGet(Args a) { return Ok(MultiGetCommand{Keys(a)}); }
KeyTranslation Exists(Args a) { return Ok(CountKeysCommand{Keys(a), false}); }
KeyTranslation Del(Args a) { return Ok(CountKeysCommand{Keys(a), true}); }
KeyTranslation SetNx(Args a) {
  return Ok(SetCommand{a[1], a[2], SetCommand::Condition::kIfAbsent, false});
}

KeyTranslation GetSet(Args a) {
  return Ok(SetCommand{a[1], a[2], SetCommand::Condition::kAlways, true});
}
KeyTranslation Append(Args a) { return Ok(AppendCommand{a[1], a[2]}); }
KeyTranslation Incr(Args a) { return Ok(IncrementCommand{a[1], 1}); }
KeyTranslation Decr(Args a) { return Ok(IncrementCommand{a[1], -1}); }
KeyTranslation IncrBy(Args a) {
  auto by = ParseCanonicalInt64(a[2]);
  if (!by) return Error("ERR value is not an integer or out of range");
  return Ok(IncrementCommand{a[1], *by});
}
KeyTranslation DecrBy(Args a) {
  auto by = ParseCanonicalInt64(a[2]);
  if (!by) return Error("ERR value is not an integer or out of range");
  if (*by == INT64_MIN) return Error("ERR decrement would overflow");
  return Ok(IncrementCommand{a[1], -*by});
}
KeyTranslation IncrByFloat(Args a) {
  const std::string text(a[2]);
  char* end = nullptr;
  errno = 0;
  const long double by = text.empty() ? 0 : std::strtold(text.c_str(), &end);
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])) ||
      end != text.c_str() + text.size() || errno == ERANGE || std::isnan(by)) {
    return Error("ERR value is not a valid float");
  }
  if (std::isinf(by)) return Error("ERR increment would produce NaN or Infinity");
  return Ok(IncrementFloatCommand{a[1], by});
}

KeyTranslation Set(Args a) {
  SetCommand set{a[1], a[2], SetCommand::Condition::kAlways, false};
  for (size_t i = 3; i < a.size(); ++i) {
    const std::string_view option = a[i];
    if (EqualsIgnoreCase(option, "NX") && set.condition != SetCommand::Condition::kIfPresent) {
      set.condition = SetCommand::Condition::kIfAbsent;
    } else if (EqualsIgnoreCase(option, "XX") &&
               set.condition != SetCommand::Condition::kIfAbsent) {
      set.condition = SetCommand::Condition::kIfPresent;
    } else if (EqualsIgnoreCase(option, "GET")) {
      set.return_old = true;
    } else if (EqualsIgnoreCase(option, "EX") || EqualsIgnoreCase(option, "PX") ||
               EqualsIgnoreCase(option, "EXAT") || EqualsIgnoreCase(option, "PXAT") ||
               EqualsIgnoreCase(option, "KEEPTTL")) {
      return Error("ERR expiring keys are not supported yet (SET " + std::string(option) +
                   "): lsmd keys do not expire");
    } else {
      return Error("ERR syntax error");
    }
  }
  return Ok(set);
}

KeyTranslation MSet(Args a) {
  if (a.size() % 2 == 0) return Error(WrongArity("mset"));
  MultiPutCommand mset;
  mset.pairs.reserve(a.size() / 2);
  for (size_t i = 1; i + 1 < a.size(); i += 2) mset.pairs.emplace_back(a[i], a[i + 1]);
  return Ok(std::move(mset));
}

// ---- Renderers ----

// Errors render the same for every key command.
bool RenderedError(const KeyResult& r, std::string* out) {
  if (const auto* error = std::get_if<CommandError>(&r)) {
    AppendCommandError(*error, out);
    return true;
  }
  return false;
}

void RenderValue(const KeyResult& r, std::string* out) {
  if (RenderedError(r, out)) return;
  const auto& value = std::get<ValueResult>(r).value;
  if (value) {
    AppendBulk(out, *value);
  } else {
    AppendNullBulk(out);
  }
}

void RenderValues(const KeyResult& r, std::string* out) {
  if (RenderedError(r, out)) return;
  const auto& values = std::get<ValuesResult>(r).values;
  AppendArrayHeader(out, values.size());
  for (const auto& value : values) {
    if (value) {
      AppendBulk(out, *value);
    } else {
      AppendNullBulk(out);
    }
  }
}

void RenderCount(const KeyResult& r, std::string* out) {
  if (RenderedError(r, out)) return;
  AppendInteger(out, std::get<CountResult>(r).count);
}

void RenderOk(const KeyResult& r, std::string* out) {
  if (RenderedError(r, out)) return;
  AppendSimpleString(out, "OK");
}

// SET: +OK when written, nil when a condition stopped it; with GET, the old
// value (or nil) either way. Plain SET runs as a put (OkResult).
void RenderSet(const KeyResult& r, std::string* out) {
  if (RenderedError(r, out)) return;
  if (std::holds_alternative<OkResult>(r)) return AppendSimpleString(out, "OK");
  const SetResult& set = std::get<SetResult>(r);
  if (set.return_old) {
    if (set.old_value) return AppendBulk(out, *set.old_value);
    return AppendNullBulk(out);
  }
  if (set.written) return AppendSimpleString(out, "OK");
  AppendNullBulk(out);
}

void RenderSetNx(const KeyResult& r, std::string* out) {
  if (RenderedError(r, out)) return;
  AppendInteger(out, std::get<SetResult>(r).written ? 1 : 0);
}

// The table, in COMMAND's order. Flags and key positions follow Redis 7.
// clang-format off
const CommandSpec kCommands[] = {
    // Keys.
    {"get", 2, "readonly fast", 1, 1, 1, "string", "Returns the value of a key", SessionOp::kKey, Get, RenderValue},
    {"set", -3, "write denyoom", 1, 1, 1, "string", "Sets the value of a key (NX, XX, GET)", SessionOp::kKey, Set, RenderSet},
    {"setnx", 3, "write denyoom fast", 1, 1, 1, "string", "Sets a key only if it does not exist", SessionOp::kKey, SetNx, RenderSetNx},
    {"getdel", 2, "write fast", 1, 1, 1, "string", "Returns the value of a key and deletes it", SessionOp::kKey, GetDel, RenderValue},
    {"mget", -2, "readonly fast", 1, -1, 1, "string", "Returns the values of keys", SessionOp::kKey, MGet, RenderValues},
    {"mset", -3, "write denyoom", 1, -1, 2, "string", "Sets keys atomically", SessionOp::kKey, MSet, RenderOk},
    {"del", -2, "write", 1, -1, 1, "keyspace", "Deletes keys; returns how many existed", SessionOp::kKey, Del, RenderCount},
    {"unlink", -2, "write fast", 1, -1, 1, "keyspace", "Deletes keys; returns how many existed", SessionOp::kKey, Del, RenderCount},
    {"exists", -2, "readonly fast", 1, -1, 1, "keyspace", "Counts the keys that exist", SessionOp::kKey, Exists, RenderCount},
    {"strlen", 2, "readonly fast", 1, 1, 1, "string", "Returns the length of a value", SessionOp::kKey, Strlen, RenderCount},
    {"getset", 3, "write denyoom fast", 1, 1, 1, "string", "Sets a key and returns its old value", SessionOp::kKey, GetSet, RenderSet},
    {"append", 3, "write denyoom fast", 1, 1, 1, "string", "Appends to a value; returns the new length", SessionOp::kKey, Append, RenderCount},
    {"incr", 2, "write denyoom fast", 1, 1, 1, "string", "Adds 1 to an integer value", SessionOp::kKey, Incr, RenderCount},
    {"decr", 2, "write denyoom fast", 1, 1, 1, "string", "Subtracts 1 from an integer value", SessionOp::kKey, Decr, RenderCount},
    {"incrby", 3, "write denyoom fast", 1, 1, 1, "string", "Adds to an integer value", SessionOp::kKey, IncrBy, RenderCount},
    {"decrby", 3, "write denyoom fast", 1, 1, 1, "string", "Subtracts from an integer value", SessionOp::kKey, DecrBy, RenderCount},
    {"incrbyfloat", 3, "write denyoom fast", 1, 1, 1, "string", "Adds to a floating-point value", SessionOp::kKey, IncrByFloat, RenderValue},
    // Ordered ranges.
    {"scan", -2, "readonly", 0, 0, 0, "keyspace", "Iterates keys in key order", SessionOp::kScan},
    {"keys", 2, "readonly", 0, 0, 0, "keyspace", "Returns the keys matching a pattern, in order", SessionOp::kKeys},
    {"dbsize", 1, "readonly fast", 0, 0, 0, "server", "Counts the keys (exact: a full scan)", SessionOp::kDbsize},
    // Connection.
    {"ping", -1, "fast", 0, 0, 0, "connection", "Returns PONG or the message", SessionOp::kPing},
    {"echo", 2, "fast", 0, 0, 0, "connection", "Returns the message", SessionOp::kEcho},
    {"quit", -1, "fast", 0, 0, 0, "connection", "Closes the connection", SessionOp::kQuit},
    {"select", 2, "fast", 0, 0, 0, "connection", "Selects database 0 (the only one)", SessionOp::kSelect},
    {"hello", -1, "fast", 0, 0, 0, "connection", "Handshakes (RESP2 only)", SessionOp::kHello},
    {"auth", -2, "fast", 0, 0, 0, "connection", "Authenticates the connection", SessionOp::kAuth},
    {"client", -2, "", 0, 0, 0, "connection", "CLIENT SETNAME, GETNAME, ID, SETINFO", SessionOp::kClient},
    {"reset", 1, "fast", 0, 0, 0, "connection", "Resets the connection's state", SessionOp::kReset},
    // Transactions.
    {"multi", 1, "fast", 0, 0, 0, "transactions", "Starts a transaction", SessionOp::kMulti},
    {"exec", 1, "", 0, 0, 0, "transactions", "Runs the queued commands atomically", SessionOp::kExec},
    {"discard", 1, "fast", 0, 0, 0, "transactions", "Drops the queued commands", SessionOp::kDiscard},
    {"watch", -2, "fast", 1, -1, 1, "transactions", "Not supported yet", SessionOp::kWatch},
    {"unwatch", 1, "fast", 0, 0, 0, "transactions", "Forgets watched keys (none can be watched)", SessionOp::kUnwatch},
    // Server.
    {"info", -1, "", 0, 0, 0, "server", "Server information in Redis's format", SessionOp::kInfo},
    {"config", -2, "admin", 0, 0, 0, "server", "CONFIG GET", SessionOp::kConfig},
    {"command", -1, "", 0, 0, 0, "server", "COMMAND, COUNT, INFO, DOCS", SessionOp::kCommand},
    {"time", 1, "fast", 0, 0, 0, "server", "Returns the server time", SessionOp::kTime},
    // The seed's operations.
    {"sstable.flush", -1, "write admin", 0, 0, 0, "lsmd", "Writes the MemTable to an SSTable", SessionOp::kFlush},
    {"sstable.lookup", 3, "readonly", 2, 2, 1, "lsmd", "Looks a key up in one SSTable", SessionOp::kLookup},
    {"compact", 1, "write admin", 0, 0, 0, "lsmd", "Merges every level down", SessionOp::kCompact},
    {"stats", 1, "readonly", 0, 0, 0, "lsmd", "Engine counters", SessionOp::kStats},
};
// clang-format on

}  // namespace

const CommandSpec* FindCommand(std::string_view name) {
  for (const CommandSpec& spec : kCommands) {
    if (EqualsIgnoreCase(spec.name, name)) return &spec;
  }
  return nullptr;
}

std::span<const CommandSpec> AllCommands() { return kCommands; }

Privilege RequiredPrivilege(const CommandSpec& spec, Args args) {
  switch (spec.op) {
    case SessionOp::kPing:
    case SessionOp::kQuit:
    case SessionOp::kHello:  // it may log in itself; else it wants data rights
    case SessionOp::kAuth:
    case SessionOp::kReset:
      return Privilege::kOpen;
    case SessionOp::kFlush: {
      FlushCommand flush;
      if (args.size() >= 2) flush.memtable_size_bytes = 1;  // a threshold given
      return RequiredPrivilege(Command{flush});
    }
    case SessionOp::kCompact:
      return RequiredPrivilege(Command{CompactCommand{}});
    default:
      return Privilege::kData;
  }
}

bool ArityOk(const CommandSpec& spec, size_t argc) {
  return spec.arity >= 0 ? argc == static_cast<size_t>(spec.arity)
                         : argc >= static_cast<size_t>(-spec.arity);
}

std::string WrongArity(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? c + 32 : c;
  return "ERR wrong number of arguments for '" + lower + "' command";
}

std::string UnknownCommand(Args args) {
  // Redis quotes at most 128 bytes of the name and of each argument shown.
  auto clip = [](std::string_view s) { return std::string(s.substr(0, 128)); };
  std::string text = "ERR unknown command '" + clip(args[0]) + "', with args beginning with: ";
  for (size_t i = 1; i < args.size() && text.size() < 256; ++i) text += "'" + clip(args[i]) + "' ";
  return text;
}

void AppendCommandError(const CommandError& error, std::string* out) {
  AppendError(out, "ERR " + error.text);
}

}  // namespace lsmd::proto::resp
