// fuzz_resp_session: RESP2 request streams through resp::RespSession against a
// real engine. Each input is one connection's bytes: fed to a fresh session
// in reads whose sizes come from a generator seeded by the input (one read,
// one byte at a time, or random sizes), the unconsumed bytes kept and the
// next read appended, as server/connection.cc does. Deferred replies are
// awaited before the next request.
//
// Properties checked on every HandleNext:
//  - no crash, no UB, no out-of-bounds access (ASan + UBSan);
//  - consumed <= the bytes given; > 0 unless kNeedMore; kNeedMore consumes
//    nothing and writes nothing; the framing agrees with a RequestParser of
//    the same limits on the same bytes (the codec is fuzzed on its own by
//    fuzz_resp_codec; here it tells what request the session was given);
//  - kFatal: *out is exactly the parser's protocol error as one RESP error
//    line, and nothing else;
//  - kDeferred: *out is empty and `later` runs exactly once; otherwise `later`
//    never runs;
//  - the reply bytes of every request are exactly one well-formed RESP2 reply
//    (none for a request Redis ignores), checked by a validator written here:
//    simple strings and errors are one line, errors start with an upper-case
//    code ("ERR ", "EXECABORT ", ...), integers and lengths are canonical
//    numbers, bulk data is followed by CRLF, arrays hold their count;
//  - kClose comes only for QUIT, with +OK.
// Beyond the shape, a model of the data (a std::map) follows every key
// command whose meaning it knows (GET, SET with NX/XX/GET, SETNX, GETDEL,
// MGET, MSET, DEL, UNLINK, EXISTS, STRLEN, and MULTI/EXEC of them) and checks
// their replies; keys touched by a write command the model does not know
// become unknown until a known write sets them again. DBSIZE, KEYS * and a
// plain SCAN 0 are checked against it while no key is unknown. After each
// input the keys it touched are read back with MGET on a session of their own.
//
// The engine is opened once per process in a fresh directory under $TMPDIR
// (else /dev/shm, else /tmp), with a small MemTable and small files so that
// flushes and compactions happen, and no log syncs; removed at exit (not
// after a crash: run.sh points $TMPDIR into its scratch space). State and
// the model carry over from one input to the next, so a failure may depend
// on earlier inputs: the message names the request and reply that broke it.
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/db.h"
#include "core/options.h"
#include "proto/command.h"
#include "proto/executor.h"
#include "proto/resp/resp_commands.h"
#include "proto/resp/resp_parser.h"
#include "proto/resp/resp_session.h"

namespace {

using lsmd::proto::Session;
using lsmd::proto::resp::ParserLimits;
using lsmd::proto::resp::ParseStatus;
using lsmd::proto::resp::RequestParser;
using lsmd::proto::resp::RespSession;
using lsmd::proto::resp::RespShared;
using Outcome = Session::Outcome;

constexpr size_t kMemTableBytes = 16 * 1024;
// The model stops tracking this many keys: the store is emptied (through the
// checking session, DEL counts checked) so that KEYS and DBSIZE stay cheap.
constexpr size_t kMaxModelKeys = 2000;

std::string Printable(std::string_view bytes, size_t max = 300) {
  std::string out;
  for (size_t i = 0; i < bytes.size() && out.size() < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c >= 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (out.size() >= max) out += "...";
  return out;
}

void Require(bool condition, const char* what, std::string_view request = {},
             std::string_view reply = {}) {
  if (condition) return;
  std::fprintf(stderr, "fuzz_resp_session: property violated: %s\n  request: %s\n  reply:   %s\n",
               what, Printable(request).c_str(), Printable(reply).c_str());
  std::abort();
}

// ---- The engine under test ----

std::string TempBase() {
  if (const char* tmpdir = std::getenv("TMPDIR"); tmpdir != nullptr && *tmpdir != '\0') {
    return tmpdir;
  }
  if (::access("/dev/shm", W_OK) == 0) return "/dev/shm";
  return "/tmp";
}

// Small limits, so that every limit error is within reach of a 4 KB input.
ParserLimits FuzzLimits() {
  ParserLimits limits;
  limits.max_bulk_bytes = 1024;
  limits.max_multibulk_len = 64;
  limits.max_inline_bytes = 512;
  return limits;
}

lsmd::Options FuzzOptions() {
  lsmd::Options options;
  options.memtable_bytes = kMemTableBytes;
  options.sync = lsmd::SyncMode::kNone;
  options.write_stall_timeout = std::chrono::milliseconds(2000);
  options.flush_retry_delay = std::chrono::milliseconds(10);
  options.target_file_bytes = 32 * 1024;
  options.level1_max_bytes = 128 * 1024;
  return options;
}

// Owned by the fuzzing thread; the DB's own threads only run callbacks.
struct Engine {
  std::string dir;
  std::unique_ptr<lsmd::DB> db;
  std::unique_ptr<lsmd::proto::CommandExecutor> executor;
  lsmd::proto::resp::ClientCounters clients;
  std::unique_ptr<RespShared> shared;  // the inputs' sessions: small limits
  std::unique_ptr<RespShared> checks;  // the fuzzer's own reads: default limits
};

Engine* engine = nullptr;  // created by LLVMFuzzerInitialize, destroyed at exit

void CloseEngine() {
  if (engine == nullptr) return;
  engine->checks.reset();
  engine->shared.reset();
  engine->executor.reset();
  engine->db.reset();  // Close(): waits for background work
  std::error_code ec;
  std::filesystem::remove_all(engine->dir, ec);
  delete engine;
  engine = nullptr;
}

void OpenEngine() {
  std::string pattern = TempBase() + "/lsmd-fuzz-resp-session-XXXXXX";
  Require(::mkdtemp(pattern.data()) != nullptr, "mkdtemp for the engine directory");
  engine = new Engine();
  engine->dir = pattern;
  auto db = lsmd::DB::Open(FuzzOptions(), engine->dir);
  if (!db.ok()) std::fprintf(stderr, "DB::Open: %s\n", db.status().ToString().c_str());
  Require(db.ok(), "DB::Open in a fresh directory");
  engine->db = std::move(*db);
  engine->executor = std::make_unique<lsmd::proto::CommandExecutor>(engine->db.get());
  lsmd::proto::resp::ServerFacts facts;
  facts.lsmd_version = "fuzz";
  facts.tcp_port = 6379;
  facts.executable = "fuzz_resp_session";
  facts.config = {{"save", ""}, {"appendonly", "yes"}, {"maxclients", "10"}, {"lsmd-sync", "none"}};
  engine->shared =
      std::make_unique<RespShared>(*engine->executor, facts, engine->clients, FuzzLimits());
  engine->checks =
      std::make_unique<RespShared>(*engine->executor, facts, engine->clients, ParserLimits{});
  std::atexit(CloseEngine);
}

// ---- RESP2 replies: a validator and reader independent of resp_writer ----

struct Reply {
  char type = 0;      // '+', '-', ':', '$' or '*'
  bool null = false;  // $-1 or *-1
  std::string text;   // simple string, error, bulk data
  int64_t integer = 0;
  std::vector<Reply> elements;
};

// A canonical base-10 int64: '-' only before a non-zero digit, no leading
// zeros, no '+', within range.
std::optional<int64_t> CanonicalNumber(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  if (text == "0") return 0;
  size_t i = 0;
  const bool negative = text[0] == '-';
  if (negative) ++i;
  if (i == text.size() || text[i] < '1' || text[i] > '9') return std::nullopt;
  uint64_t value = 0;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    const uint64_t digit = uint64_t(text[i] - '0');
    if (value > (uint64_t{1} << 63) / 10) return std::nullopt;
    value = value * 10 + digit;
    if (value > (uint64_t{1} << 63)) return std::nullopt;
  }
  if (!negative && value > uint64_t(INT64_MAX)) return std::nullopt;
  return negative ? int64_t(0 - value) : int64_t(value);
}

// An error's text starts with a code: upper-case letters, then a space or
// the end.
bool HasErrorCode(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && text[i] >= 'A' && text[i] <= 'Z') ++i;
  return i > 0 && (i == text.size() || text[i] == ' ');
}

// Reads one reply from the front of *in and removes it; nullopt if it is not
// a complete, well-formed RESP2 reply. *why says what was wrong.
std::optional<Reply> ReadReply(std::string_view* in, const char** why, int depth = 0) {
  *why = "nesting deeper than any reply lsmd sends";
  if (depth > 8) return std::nullopt;
  *why = "an incomplete reply (no CRLF-terminated line)";
  const size_t cr = in->find('\r');
  if (in->empty() || cr == std::string_view::npos || cr + 1 >= in->size() ||
      (*in)[cr + 1] != '\n') {
    return std::nullopt;
  }
  Reply reply;
  reply.type = (*in)[0];
  const std::string_view line = in->substr(1, cr - 1);
  *why = "a bare LF inside a reply line";
  if (line.find('\n') != std::string_view::npos) return std::nullopt;
  in->remove_prefix(cr + 2);
  switch (reply.type) {
    case '+':
      reply.text = std::string(line);
      return reply;
    case '-':
      *why = "an error without an upper-case code";
      if (!HasErrorCode(line)) return std::nullopt;
      reply.text = std::string(line);
      return reply;
    case ':': {
      *why = "an integer reply that is not a canonical int64";
      auto n = CanonicalNumber(line);
      if (!n) return std::nullopt;
      reply.integer = *n;
      return reply;
    }
    case '$': {
      *why = "a bad bulk length";
      if (line == "-1") {
        reply.null = true;
        return reply;
      }
      auto n = CanonicalNumber(line);
      if (!n || *n < 0) return std::nullopt;
      const size_t len = size_t(*n);
      *why = "bulk data not followed by CRLF";
      if (in->size() < len + 2 || in->substr(len, 2) != "\r\n") return std::nullopt;
      reply.text = std::string(in->substr(0, len));
      in->remove_prefix(len + 2);
      return reply;
    }
    case '*': {
      *why = "a bad array count";
      if (line == "-1") {
        reply.null = true;
        return reply;
      }
      auto n = CanonicalNumber(line);
      if (!n || *n < 0 || uint64_t(*n) > in->size() / 3) return std::nullopt;
      for (int64_t i = 0; i < *n; ++i) {
        auto element = ReadReply(in, why, depth + 1);
        if (!element) return std::nullopt;
        reply.elements.push_back(std::move(*element));
      }
      return reply;
    }
    default:
      *why = "an unknown reply type byte";
      return std::nullopt;
  }
}

// The replies in `bytes`, all of it well formed, or abort.
std::vector<Reply> ReadReplies(std::string_view bytes, std::string_view request) {
  std::vector<Reply> replies;
  const std::string_view all = bytes;
  while (!bytes.empty()) {
    const char* why = "";
    auto reply = ReadReply(&bytes, &why);
    Require(reply.has_value(), why, request, all);
    replies.push_back(std::move(*reply));
  }
  return replies;
}

// ---- Sessions, one request at a time ----

// One HandleNext's `later`: counts its calls; the reply is awaited.
struct Later {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;      // GUARDED_BY(mu)
  std::string reply;  // GUARDED_BY(mu)

  static Session::ReplyFn Fn(const std::shared_ptr<Later>& self) {
    return [self](std::string r) {
      std::lock_guard lock(self->mu);
      ++self->calls;
      self->reply = std::move(r);
      self->cv.notify_all();
    };
  }
  std::string Wait() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return calls > 0; });
    return reply;
  }
  int Calls() {
    std::lock_guard lock(mu);
    return calls;
  }
};

std::string Lower(std::string_view s) {
  std::string lower(s);
  for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? char(c + 32) : c;
  return lower;
}

bool ValidKey(std::string_view key) {
  return !key.empty() && key.size() <= lsmd::proto::kMaxKeyBytes;
}

// ---- The model ----

// The store as the fuzzer knows it. Every key not in `unknown` is live with
// its value in `data`, or absent. A key becomes unknown when a write the
// model cannot follow names it (a command it does not model, an engine
// failure); the read-back after each input learns its state again.
struct Model {
  std::map<std::string, std::string> data;
  std::set<std::string> unknown;

  bool Known(const std::string& key) const { return unknown.count(key) == 0; }
  std::optional<std::string> Get(const std::string& key) const {
    auto it = data.find(key);
    if (it == data.end()) return std::nullopt;
    return it->second;
  }
  void Put(const std::string& key, std::string value) {
    unknown.erase(key);
    data[key] = std::move(value);
  }
  void Remove(const std::string& key) {
    unknown.erase(key);
    data.erase(key);
  }
  void Forget(const std::string& key) {
    data.erase(key);
    unknown.insert(key);
  }
};

Model* model = nullptr;

// The keys a command names, by the table's key positions.
std::vector<std::string> KeysOf(const lsmd::proto::resp::CommandSpec& spec,
                                const std::vector<std::string>& args) {
  std::vector<std::string> keys;
  if (spec.first_key <= 0 || spec.key_step <= 0) return keys;
  const int last = spec.last_key < 0 ? int(args.size()) + spec.last_key : spec.last_key;
  for (int i = spec.first_key; i <= last && i < int(args.size()); i += spec.key_step) {
    keys.push_back(args[size_t(i)]);
  }
  return keys;
}

bool IsWrite(const lsmd::proto::resp::CommandSpec& spec) {
  return spec.flags.find("write") != std::string_view::npos;
}

// What one input did: for the read-back at its end.
struct InputState {
  std::set<std::string> touched;  // every key a key command named
  bool in_multi = false;          // as the replies showed
  std::vector<std::vector<std::string>> queued;
};

void ExpectValue(const std::string& key, const Reply& reply, std::string_view request,
                 std::string_view reply_bytes) {
  if (!model->Known(key)) return;
  const auto value = model->Get(key);
  Require(reply.type == '$', "a value reply is a bulk string", request, reply_bytes);
  Require(reply.null == !value.has_value(), "a read finds exactly the live keys", request,
          reply_bytes);
  if (value) {
    Require(reply.text == *value, "a read returns the last value written", request, reply_bytes);
  }
}

// Checks a key command's reply against the model and applies it. The reply
// is that of the command having run (alone, or as an element of EXEC's).
void ApplyKeyCommand(const std::vector<std::string>& args, const Reply& reply,
                     std::string_view request, std::string_view reply_bytes) {
  const std::string name = Lower(args[0]);
  const auto* spec = lsmd::proto::resp::FindCommand(args[0]);
  if (spec == nullptr) return;
  const std::vector<std::string> keys = KeysOf(*spec, args);
  const bool keys_valid =
      std::all_of(keys.begin(), keys.end(), [](const std::string& k) { return ValidKey(k); });
  const bool arity = lsmd::proto::resp::ArityOk(*spec, args.size());
  const bool all_known =
      std::all_of(keys.begin(), keys.end(), [](const std::string& k) { return model->Known(k); });

  if (reply.type == '-') {
    // A refused command writes nothing. Refusals the model rules out: a
    // command it knows, with the right arity, valid keys and options.
    bool must_succeed = arity && keys_valid;
    if (name == "set") {
      bool nx = false, xx = false;
      for (size_t i = 3; i < args.size(); ++i) {
        const std::string option = Lower(args[i]);
        if (option == "nx") {
          nx = true;
        } else if (option == "xx") {
          xx = true;
        } else if (option != "get") {
          must_succeed = false;
        }
      }
      if (nx && xx) must_succeed = false;
    } else if (name == "mset") {
      must_succeed = must_succeed && args.size() % 2 == 1;
    } else if (name != "get" && name != "setnx" && name != "getdel" && name != "mget" &&
               name != "del" && name != "unlink" && name != "exists" && name != "strlen") {
      must_succeed = false;  // a command the model does not know
    }
    // The engine refuses a write while it stalls too long ("refused, not
    // lost": nothing written).
    if (IsWrite(*spec) && reply.text.rfind("ERR write stalled", 0) == 0) return;
    Require(!must_succeed, "a valid key command is not refused", request, reply_bytes);
    return;
  }
  Require(arity && keys_valid, "a key command with bad arguments is refused", request, reply_bytes);

  if (name == "get") {
    ExpectValue(keys[0], reply, request, reply_bytes);
  } else if (name == "strlen") {
    Require(reply.type == ':', "STRLEN answers an integer", request, reply_bytes);
    if (model->Known(keys[0])) {
      Require(reply.integer == int64_t(model->Get(keys[0]).value_or("").size()),
              "STRLEN is the value's length", request, reply_bytes);
    }
  } else if (name == "mget") {
    Require(reply.type == '*' && !reply.null && reply.elements.size() == keys.size(),
            "MGET answers one value per key", request, reply_bytes);
    for (size_t i = 0; i < keys.size(); ++i) {
      ExpectValue(keys[i], reply.elements[i], request, reply_bytes);
    }
  } else if (name == "exists") {
    Require(reply.type == ':', "EXISTS answers an integer", request, reply_bytes);
    if (all_known) {
      int64_t count = 0;
      for (const std::string& key : keys) count += model->data.count(key);
      Require(reply.integer == count, "EXISTS counts the live keys, repeats included", request,
              reply_bytes);
    }
  } else if (name == "del" || name == "unlink") {
    Require(reply.type == ':', "DEL answers an integer", request, reply_bytes);
    if (all_known) {
      const std::set<std::string> distinct(keys.begin(), keys.end());
      int64_t count = 0;
      for (const std::string& key : distinct) count += model->data.count(key);
      Require(reply.integer == count, "DEL counts the distinct live keys it removed", request,
              reply_bytes);
    }
    for (const std::string& key : keys) model->Remove(key);
  } else if (name == "getdel") {
    ExpectValue(keys[0], reply, request, reply_bytes);
    model->Remove(keys[0]);
  } else if (name == "setnx") {
    Require(reply.type == ':' && (reply.integer == 0 || reply.integer == 1), "SETNX answers 0 or 1",
            request, reply_bytes);
    if (model->Known(keys[0])) {
      Require((reply.integer == 1) == (model->data.count(keys[0]) == 0),
              "SETNX writes exactly when the key is absent", request, reply_bytes);
    }
    if (reply.integer == 1) {
      model->Put(keys[0], args[2]);
    }
  } else if (name == "mset") {
    Require(reply.type == '+' && reply.text == "OK", "MSET answers +OK", request, reply_bytes);
    for (size_t i = 1; i + 1 < args.size(); i += 2) model->Put(args[i], args[i + 1]);
  } else if (name == "set") {
    bool nx = false, xx = false, get = false;
    for (size_t i = 3; i < args.size(); ++i) {
      const std::string option = Lower(args[i]);
      nx = nx || option == "nx";
      xx = xx || option == "xx";
      get = get || option == "get";
    }
    const std::string& key = keys[0];
    bool written;
    if (get) {
      ExpectValue(key, reply, request, reply_bytes);
      Require(reply.type == '$', "SET GET answers the old value", request, reply_bytes);
      const bool existed = !reply.null;
      written = nx ? !existed : xx ? existed : true;
    } else {
      Require((reply.type == '+' && reply.text == "OK") || (reply.type == '$' && reply.null),
              "SET answers +OK or nil", request, reply_bytes);
      Require(nx || xx || reply.type == '+', "a plain SET always writes", request, reply_bytes);
      written = reply.type == '+';
      if (model->Known(key)) {
        const bool existed = model->data.count(key) > 0;
        Require(written == (nx   ? !existed
                            : xx ? existed
                                 : true),
                "SET NX / XX writes exactly when its condition holds", request, reply_bytes);
      }
    }
    if (written) model->Put(key, args[2]);  // else: as it was, known or not
  } else if (IsWrite(*spec)) {
    for (const std::string& key : keys) model->Forget(key);  // a write the model does not know
  }
}

// The checks that compare the whole store with the model.
void CheckWholeStore(const std::string& name, const std::vector<std::string>& args,
                     const Reply& reply, std::string_view request, std::string_view reply_bytes) {
  if (!model->unknown.empty() || reply.type == '-') return;
  if (name == "dbsize" && args.size() == 1) {
    Require(reply.type == ':' && reply.integer == int64_t(model->data.size()),
            "DBSIZE counts the live keys", request, reply_bytes);
  } else if (name == "keys" && args.size() == 2 && args[1] == "*") {
    Require(reply.type == '*' && reply.elements.size() == model->data.size(),
            "KEYS * lists every live key", request, reply_bytes);
    size_t i = 0;
    for (const auto& [key, value] : model->data) {
      Require(reply.elements[i++].text == key, "KEYS * lists the keys in order", request,
              reply_bytes);
    }
  } else if (name == "scan" && args.size() == 2 && args[1] == "0") {
    Require(reply.type == '*' && reply.elements.size() == 2 && reply.elements[1].type == '*',
            "SCAN answers [cursor, keys]", request, reply_bytes);
    const auto& keys = reply.elements[1].elements;
    const size_t expected = std::min<size_t>(10, model->data.size());
    Require(keys.size() == expected, "SCAN 0 gives the first 10 keys", request, reply_bytes);
    auto it = model->data.begin();
    for (size_t i = 0; i < expected; ++i, ++it) {
      Require(keys[i].text == it->first, "SCAN 0 gives the first keys in order", request,
              reply_bytes);
    }
    Require((reply.elements[0].text == "0") == (model->data.size() <= 10),
            "SCAN's cursor is 0 exactly when no key is left", request, reply_bytes);
  }
}

// Follows one request and its reply: the session state the replies show
// (MULTI, queued commands) and the model.
void Follow(InputState& input, const std::vector<std::string>& args, const Reply& reply,
            std::string_view request, std::string_view reply_bytes) {
  const std::string name = Lower(args[0]);
  const auto* spec = lsmd::proto::resp::FindCommand(args[0]);
  if (spec != nullptr && spec->op == lsmd::proto::resp::SessionOp::kKey) {
    for (const std::string& key : KeysOf(*spec, args)) input.touched.insert(key);
  }
  const bool arity = spec != nullptr && lsmd::proto::resp::ArityOk(*spec, args.size());
  if (input.in_multi) {
    if (name == "exec" && arity) {
      input.in_multi = false;
      const auto queued = std::move(input.queued);
      input.queued.clear();
      if (reply.type == '-') return;  // EXECABORT or refused: nothing ran
      Require(reply.type == '*' && !reply.null && reply.elements.size() == queued.size(),
              "EXEC answers one reply per queued command", request, reply_bytes);
      for (size_t i = 0; i < queued.size(); ++i) {
        ApplyKeyCommand(queued[i], reply.elements[i], request, reply_bytes);
      }
      return;
    }
    if ((name == "discard" || name == "reset") && arity) {
      Require(reply.type == '+', "DISCARD and RESET in MULTI succeed", request, reply_bytes);
      input.in_multi = false;
      input.queued.clear();
      return;
    }
    if (reply.type == '+' && reply.text == "QUEUED") {
      Require(spec != nullptr && spec->op == lsmd::proto::resp::SessionOp::kKey,
              "only key commands are queued", request, reply_bytes);
      input.queued.push_back(args);
      return;
    }
    Require(reply.type == '-' || name == "multi" || name == "watch" || name == "quit",
            "in MULTI, a command is queued or refused", request, reply_bytes);
    return;
  }
  if (name == "multi" && arity && reply.type == '+') {
    input.in_multi = true;
    input.queued.clear();
    return;
  }
  if (spec == nullptr) {
    Require(reply.type == '-', "an unknown command is an error", request, reply_bytes);
    return;
  }
  if (spec->op == lsmd::proto::resp::SessionOp::kKey) {
    ApplyKeyCommand(args, reply, request, reply_bytes);
    return;
  }
  CheckWholeStore(name, args, reply, request, reply_bytes);
  if (name == "ping" && args.size() == 1) {
    Require(reply.type == '+' && reply.text == "PONG", "PING answers +PONG", request, reply_bytes);
  } else if (name == "echo" && arity) {
    Require(reply.type == '$' && reply.text == args[1], "ECHO answers its argument", request,
            reply_bytes);
  }
}

// Runs one request on `session`, whole in `bytes`, and returns its reply (for
// the fuzzer's own reads: the request must be complete and valid).
std::string CheckCall(RespSession& session, const std::string& bytes) {
  std::string out;
  auto later = std::make_shared<Later>();
  const Session::Step step = session.HandleNext(bytes, false, &out, Later::Fn(later));
  Require(step.consumed == bytes.size(), "the fuzzer's own request is used whole", bytes, out);
  if (step.outcome == Outcome::kDeferred) out = later->Wait();
  Require(step.outcome == Outcome::kAnswered || step.outcome == Outcome::kDeferred,
          "the fuzzer's own request is answered", bytes, out);
  return out;
}

std::string Multibulk(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& arg : args)
    out += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
  return out;
}

// Reads `keys` with MGET on `session`; calls seen(key, value) for each.
template <typename Seen>
void ReadKeys(RespSession& session, const std::vector<std::string>& keys, Seen&& seen) {
  for (size_t start = 0; start < keys.size(); start += 256) {
    std::vector<std::string> args = {"MGET"};
    for (size_t i = start; i < keys.size() && i < start + 256; ++i) args.push_back(keys[i]);
    const std::string request = Multibulk(args);
    const std::string reply = CheckCall(session, request);
    const std::vector<Reply> replies = ReadReplies(reply, request);
    Require(replies.size() == 1, "one reply to the read-back", request, reply);
    Require(replies[0].type == '*' && replies[0].elements.size() == args.size() - 1,
            "the read-back MGET answers every key", request, reply);
    for (size_t i = 1; i < args.size(); ++i)
      seen(args[i], replies[0].elements[i - 1], request, reply);
  }
}

// After an input, on a session of its own: the keys it touched are read back
// and checked, and the unknown keys are learnt again.
void ReadBack(const InputState& input) {
  RespSession session(*engine->checks);
  std::vector<std::string> known;
  for (const std::string& key : input.touched) {
    if (ValidKey(key) && model->Known(key)) known.push_back(key);
  }
  ReadKeys(session, known,
           [](const std::string& key, const Reply& value, std::string_view request,
              std::string_view reply) { ExpectValue(key, value, request, reply); });
  std::vector<std::string> unknown;
  for (const std::string& key : model->unknown) {
    if (ValidKey(key)) unknown.push_back(key);
  }
  ReadKeys(session, unknown,
           [](const std::string& key, const Reply& value, std::string_view request,
              std::string_view reply) {
             Require(value.type == '$', "MGET answers bulk strings", request, reply);
             if (value.null) {
               model->Remove(key);
             } else {
               model->Put(key, value.text);
             }
           });
  model->unknown.clear();  // an invalid key was never written

  // Keep the store small: empty it once the model holds many keys.
  if (model->data.size() > kMaxModelKeys) {
    std::vector<std::string> all;
    std::string cursor = "0";
    do {
      const std::string request = Multibulk({"SCAN", cursor, "COUNT", "1000"});
      const std::string reply = CheckCall(session, request);
      const std::vector<Reply> replies = ReadReplies(reply, request);
      Require(replies.size() == 1 && replies[0].elements.size() == 2, "SCAN answers", request,
              reply);
      cursor = replies[0].elements[0].text;
      for (const Reply& key : replies[0].elements[1].elements) all.push_back(key.text);
    } while (cursor != "0");
    Require(all.size() == model->data.size(), "SCAN visits every live key once");
    for (size_t start = 0; start < all.size(); start += 500) {
      std::vector<std::string> args = {"DEL"};
      for (size_t i = start; i < all.size() && i < start + 500; ++i) {
        Require(model->data.count(all[i]) == 1, "SCAN lists only live keys", all[i]);
        args.push_back(all[i]);
      }
      const std::string request = Multibulk(args);
      const std::string reply = CheckCall(session, request);
      const std::vector<Reply> replies = ReadReplies(reply, request);
      Require(replies.size() == 1 && replies[0].type == ':' &&
                  replies[0].integer == int64_t(args.size() - 1),
              "DEL removes every key SCAN listed", request, reply);
    }
    model->data.clear();
  }
}

// ---- One input ----

uint64_t Hash(std::string_view bytes) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return h;
}

struct Rng {
  uint64_t state;
  uint64_t Next() {  // splitmix64
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

// The sizes of the reads the input arrives in.
std::vector<size_t> ReadSizes(std::string_view input) {
  Rng rng{Hash(input)};
  std::vector<size_t> sizes;
  const uint64_t mode = rng.Next() % 4;
  size_t left = input.size();
  while (left > 0) {
    size_t n = left;
    if (mode == 1) n = 1;                             // a byte at a time
    if (mode == 2) n = 1 + size_t(rng.Next() % 16);   // small reads
    if (mode == 3) n = 1 + size_t(rng.Next() % 512);  // larger ones
    n = std::min(n, left);
    sizes.push_back(n);
    left -= n;
  }
  return sizes;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::err);  // flush and compaction logs would flood the output
  model = new Model();
  OpenEngine();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  RespSession session(*engine->shared);
  RequestParser framing(engine->shared->limits);
  InputState state;
  std::vector<std::shared_ptr<Later>> answered;  // steps whose `later` must never run
  std::string buffer;
  size_t offset = 0;
  bool stopped = false;
  const std::vector<size_t> reads = ReadSizes(input);
  for (size_t r = 0; r < reads.size() && !stopped; ++r) {
    buffer.append(input.substr(offset, reads[r]));
    offset += reads[r];
    const bool closed = r + 1 == reads.size();
    while (!stopped) {
      const std::string_view rest = buffer;
      // What the codec makes of these bytes.
      std::vector<std::string_view> views;
      framing.Clear();
      const auto framed = framing.Parse(rest, &views);
      const std::vector<std::string> args(views.begin(), views.end());
      const std::string_view request = rest.substr(0, framed.consumed ? framed.consumed : 0);

      std::string out;
      auto later = std::make_shared<Later>();
      const Session::Step step = session.HandleNext(rest, closed, &out, Later::Fn(later));
      Require(step.consumed <= rest.size(), "consumed <= the bytes given", rest, out);
      if (step.outcome == Outcome::kNeedMore) {
        Require(step.consumed == 0 && out.empty(), "kNeedMore consumes and writes nothing", rest,
                out);
        Require(framed.status == ParseStatus::kNeedMore, "kNeedMore only for an incomplete request",
                rest, out);
        answered.push_back(later);
        break;
      }
      Require(step.consumed > 0, "a handled request consumes bytes", rest, out);
      if (step.outcome == Outcome::kFatal) {
        Require(framed.status == ParseStatus::kProtocolError, "kFatal only for a protocol error",
                rest, out);
        Require(out == "-" + framed.error + "\r\n",
                "kFatal's output is the protocol error as one error line", rest, out);
        Require(step.consumed == rest.size(), "kFatal consumes the rest", rest, out);
        answered.push_back(later);
        stopped = true;
        break;
      }
      Require(framed.status == ParseStatus::kComplete && framed.consumed == step.consumed,
              "the session frames requests as the codec does", rest, out);
      if (step.outcome == Outcome::kDeferred) {
        Require(out.empty(), "a deferred request writes nothing at once", request, out);
        out = later->Wait();
      } else {
        answered.push_back(later);
      }
      const std::vector<Reply> replies = ReadReplies(out, request);
      if (args.empty()) {
        Require(replies.empty() && step.outcome == Outcome::kAnswered,
                "an ignored request has no reply", request, out);
      } else {
        Require(replies.size() == 1, "one reply per request", request, out);
        Follow(state, args, replies[0], request, out);
      }
      if (step.outcome == Outcome::kClose) {
        Require(!args.empty() && Lower(args[0]) == "quit" && out == "+OK\r\n",
                "kClose only for QUIT, after +OK", request, out);
        stopped = true;
      }
      buffer.erase(0, step.consumed);
      if (buffer.empty()) break;
    }
  }
  for (const auto& later : answered) {
    Require(later->Calls() == 0, "`later` never runs for a request answered at once");
  }
  ReadBack(state);
  // An input may have lowered the flush threshold to one byte; the next one
  // starts from the usual size again.
  Require(engine->db->SetMemTableThreshold(kMemTableBytes).ok(), "reset the MemTable threshold");
  return 0;
}
