// fuzz_request: request lines through parsing and dispatch against a real
// engine. The input is split on '\n'; each line goes to Dispatcher::Handle and
// its reply is awaited before the next line is sent.
//
// Properties checked on every reply: the callback runs exactly once; the reply
// is one line of valid JSON in the shape docs/PROTOCOL.md gives (an envelope
// {"src", "dest", "body"} exactly when the request was an envelope with a
// string src, addressed back to that src from the node init last named; a
// body with a string "type" that is "error" or the request's type + "_ok", and
// an integer "msg_id"; "in_reply_to" equal to the request's msg_id when that
// was valid). Beyond the shape, a model (a std::map of every acknowledged put
// and delete) must agree with every get_ok and scan_ok.
//
// The engine is opened once per process in a fresh directory under $TMPDIR
// (else /dev/shm, else /tmp), with a small MemTable and small files so that
// flushes and compactions happen, and no log syncs. The directory is removed
// at exit (not after a crash: run.sh points $TMPDIR into its scratch space).
// State carries over from one input to the next, as on a long-lived
// connection, and the model carries over with it. So a failure may depend on
// earlier inputs: the message names the request and reply that broke it.
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/value.hpp>
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
#include <string>
#include <string_view>
#include <utility>

#include "core/db.h"
#include "core/options.h"
#include "proto/dispatcher.h"
#include "proto/message.h"

namespace {

namespace json = boost::json;

constexpr size_t kMemTableBytes = 16 * 1024;
constexpr char kDefaultNodeId[] = "n1";

void Require(bool condition, const char* what, std::string_view line = {},
             std::string_view reply = {}) {
  if (condition) return;
  std::fprintf(stderr, "fuzz_request: property violated: %s\n  request: %.*s\n  reply:   %.*s\n",
               what, static_cast<int>(line.size()), line.data(), static_cast<int>(reply.size()),
               reply.data());
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

// Owned by the fuzzing thread; the DB's own threads only run callbacks.
struct Engine {
  std::string dir;
  std::unique_ptr<lsmd::DB> db;
  std::unique_ptr<lsmd::proto::Dispatcher> dispatcher;
};

Engine* engine = nullptr;  // created by LLVMFuzzerInitialize, destroyed at exit

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

void CloseEngine() {
  if (engine == nullptr) return;
  engine->dispatcher.reset();
  engine->db.reset();  // Close(): waits for background work
  std::error_code ec;
  std::filesystem::remove_all(engine->dir, ec);
  delete engine;
  engine = nullptr;
}

void OpenEngine() {
  std::string pattern = TempBase() + "/lsmd-fuzz-request-XXXXXX";
  Require(::mkdtemp(pattern.data()) != nullptr, "mkdtemp for the engine directory");
  engine = new Engine{pattern, nullptr, nullptr};
  auto db = lsmd::DB::Open(FuzzOptions(), engine->dir);
  if (!db.ok()) std::fprintf(stderr, "DB::Open: %s\n", db.status().ToString().c_str());
  Require(db.ok(), "DB::Open in a fresh directory");
  engine->db = std::move(*db);
  engine->dispatcher = std::make_unique<lsmd::proto::Dispatcher>(engine->db.get(), kDefaultNodeId);
  std::atexit(CloseEngine);
}

// Hands one line to the dispatcher and waits for its reply. A second call of
// the same callback (even after this returns) aborts.
std::string HandleAndWait(std::string_view line) {
  struct Waiter {
    std::mutex mu;
    std::condition_variable replied;
    int calls = 0;      // GUARDED_BY(mu)
    std::string reply;  // GUARDED_BY(mu)
  };
  auto waiter = std::make_shared<Waiter>();
  engine->dispatcher->Handle(line, [waiter](std::string reply) {
    std::lock_guard lock(waiter->mu);
    Require(++waiter->calls == 1, "the reply callback runs exactly once", {}, reply);
    waiter->reply = std::move(reply);
    waiter->replied.notify_all();
  });
  std::unique_lock lock(waiter->mu);
  waiter->replied.wait(lock, [&] { return waiter->calls > 0; });
  return waiter->reply;
}

// ---- What the fuzzer knows about the state ----

// Owned by the fuzzing thread.
struct Model {
  std::map<std::string, std::string> data;  // every acknowledged put minus deletes
  // False once a write failed in the engine (it may or may not have
  // happened); data is then no longer compared.
  bool exact = true;
  std::string node_id = kDefaultNodeId;
};

Model* model = nullptr;

std::optional<json::value> ParseJson(std::string_view text) {
  json::parse_options options;
  options.max_depth = lsmd::proto::kMaxJsonDepth;  // what the dispatcher accepts
  json::error_code ec;
  json::value value = json::parse(json::string_view(text.data(), text.size()), ec, {}, options);
  if (ec) return std::nullopt;
  return value;
}

std::optional<uint64_t> AsUnsigned(const json::value* value) {
  if (value == nullptr) return std::nullopt;
  if (const int64_t* i = value->if_int64(); i != nullptr && *i >= 0) return uint64_t(*i);
  if (const uint64_t* u = value->if_uint64()) return *u;
  return std::nullopt;
}

std::optional<std::string> StringField(const json::object& object, std::string_view name) {
  const json::value* field = object.if_contains(name);
  if (field == nullptr || !field->is_string()) return std::nullopt;
  return std::string(field->get_string());
}

// One request line as the fuzzer reads it, independently of proto/parse.cc.
struct Request {
  bool valid_json_object = false;
  bool envelope = false;  // an envelope with a string src: the reply must be one
  std::string src;
  const json::object* body = nullptr;  // null if the body is not an object
  std::optional<uint64_t> msg_id;      // a valid msg_id, if the body has one
  std::string type;                    // "" if the body has no string type
};

Request ReadRequest(const std::optional<json::value>& parsed) {
  Request request;
  if (!parsed || !parsed->is_object()) return request;
  request.valid_json_object = true;
  const json::object& top = parsed->get_object();
  const json::value* body = top.if_contains("body");
  if (body != nullptr) {
    if (auto src = StringField(top, "src")) {
      request.envelope = true;
      request.src = *src;
    }
    request.body = body->if_object();
  } else {
    request.body = &top;
  }
  if (request.body != nullptr) {
    request.msg_id = AsUnsigned(request.body->if_contains("msg_id"));
    request.type = StringField(*request.body, "type").value_or("");
  }
  return request;
}

// ---- Checks ----

// The type of a reply body, envelope or not, before its shape is checked.
std::string ReplyType(const json::value& reply) {
  const json::object* top = reply.if_object();
  if (top == nullptr) return "";
  const json::value* body = top->if_contains("body");
  const json::object* fields = body != nullptr ? body->if_object() : top;
  return fields != nullptr ? StringField(*fields, "type").value_or("") : "";
}

// The reply's shape against the request; returns the reply's body.
const json::object& CheckShape(const Request& request, const json::value& reply_value,
                               std::string_view line, std::string_view reply) {
  Require(reply_value.is_object(), "the reply is a JSON object", line, reply);
  const json::object& top = reply_value.get_object();
  const json::object* body = &top;
  if (request.envelope) {
    Require(top.size() == 3 && top.begin()[0].key() == "src" && top.begin()[1].key() == "dest" &&
                top.begin()[2].key() == "body",
            "an envelope reply has exactly src, dest, body in that order", line, reply);
    Require(StringField(top, "dest") == request.src, "the reply goes back to the request's src",
            line, reply);
    Require(StringField(top, "src") == model->node_id, "the reply comes from the node init named",
            line, reply);
    body = top.at("body").if_object();
    Require(body != nullptr, "an envelope reply's body is an object", line, reply);
  } else {
    Require(!top.contains("body"), "a reply to a bare request is a bare body", line, reply);
  }
  Require(!body->empty() && body->begin()->key() == "type", "type comes first", line, reply);
  const std::optional<std::string> type = StringField(*body, "type");
  Require(type.has_value(), "the reply has a string type", line, reply);
  Require(AsUnsigned(body->if_contains("msg_id")).has_value(), "the reply has a msg_id", line,
          reply);
  if (*type != "error") {
    Require(*type == request.type + "_ok", "a success reply is <request type>_ok", line, reply);
    Require(request.msg_id.has_value() == body->contains("in_reply_to"),
            "in_reply_to is present exactly when the request had a valid msg_id", line, reply);
  } else {
    Require(AsUnsigned(body->if_contains("code")).has_value() && StringField(*body, "text"),
            "an error has an integer code and a string text", line, reply);
  }
  if (const json::value* in_reply_to = body->if_contains("in_reply_to")) {
    Require(request.msg_id == AsUnsigned(in_reply_to), "in_reply_to is the request's msg_id", line,
            reply);
  }
  return *body;
}

void CheckGet(const json::object& request, const json::object& reply, std::string_view line,
              std::string_view reply_line) {
  auto it = model->data.find(*StringField(request, "key"));
  const json::value* found = reply.if_contains("found");
  Require(found != nullptr && found->is_bool(), "get_ok has a bool found", line, reply_line);
  Require(found->get_bool() == (it != model->data.end()), "get finds exactly the live keys", line,
          reply_line);
  if (found->get_bool()) {
    Require(StringField(reply, "value") == it->second, "get returns the last value put", line,
            reply_line);
  } else {
    Require(!reply.contains("value"), "a get that finds nothing has no value", line, reply_line);
  }
}

void CheckScan(const json::object& request, const json::object& reply, std::string_view line,
               std::string_view reply_line) {
  const std::string start = StringField(request, "start").value_or("");
  const std::optional<std::string> end = StringField(request, "end");
  const uint64_t limit =
      AsUnsigned(request.if_contains("limit")).value_or(lsmd::proto::kDefaultScanLimit);
  json::array expected;
  bool more = false;
  if (!end || start < *end) {
    for (auto it = model->data.lower_bound(start);
         it != model->data.end() && (!end || it->first < *end); ++it) {
      if (expected.size() == limit) {
        more = true;
        break;
      }
      expected.push_back(json::array{json::string(it->first), json::string(it->second)});
    }
  }
  const json::value* entries = reply.if_contains("entries");
  Require(entries != nullptr && *entries == json::value(expected),
          "scan returns the live keys of the range, in order, up to limit", line, reply_line);
  const json::value* reply_more = reply.if_contains("more");
  Require(reply_more != nullptr && *reply_more == json::value(more),
          "scan's more says whether the range holds further keys", line, reply_line);
}

// Checks one exchange and brings the model up to date.
void CheckExchange(std::string_view line, std::string_view reply) {
  Require(reply.find_first_of("\r\n") == std::string_view::npos, "the reply is a single line", line,
          reply);
  const std::optional<json::value> reply_value = ParseJson(reply);
  Require(reply_value.has_value(), "the reply is valid JSON", line, reply);
  const std::optional<json::value> request_value = ParseJson(line);
  const Request request = ReadRequest(request_value);
  // init_ok already answers as the node it names.
  if (request.type == "init" && ReplyType(*reply_value) == "init_ok") {
    model->node_id = StringField(*request.body, "node_id").value_or(model->node_id);
  }
  const json::object& body = CheckShape(request, *reply_value, line, reply);
  const std::string type = *StringField(body, "type");

  if (type == "error") {
    const uint64_t code = *AsUnsigned(body.if_contains("code"));
    const bool write = request.type == "put" || request.type == "delete";
    // A malformed or refused write (a stall past its timeout: "refused, not
    // lost") changed nothing; an engine failure may or may not have.
    using lsmd::proto::ErrorCode;
    if (write && code != uint64_t(ErrorCode::kMalformedRequest) &&
        code != uint64_t(ErrorCode::kTemporarilyUnavailable)) {
      model->exact = false;
    }
    return;
  }
  Require(request.body != nullptr, "only a request with a body object succeeds", line, reply);
  const json::object& fields = *request.body;
  if (type == "put_ok") {
    model->data[*StringField(fields, "key")] = *StringField(fields, "value");
  } else if (type == "delete_ok") {
    model->data.erase(*StringField(fields, "key"));
  } else if (type == "get_ok" && model->exact) {
    CheckGet(fields, body, line, reply);
  } else if (type == "scan_ok" && model->exact) {
    CheckScan(fields, body, line, reply);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::err);  // flush and compaction logs would flood the output
  model = new Model();
  OpenEngine();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (true) {
    const size_t newline = input.find('\n');
    const std::string_view line = input.substr(0, newline);
    CheckExchange(line, HandleAndWait(line));
    if (newline == std::string_view::npos) break;
    input.remove_prefix(newline + 1);
  }
  // An input may have lowered the flush threshold to one byte; the next one
  // starts from the usual size again.
  Require(engine->db->SetMemTableThreshold(kMemTableBytes).ok(), "reset the MemTable threshold");
  return 0;
}
