// RespSession against a real engine in a temporary directory: raw RESP2 bytes
// in, the exact reply bytes out, as a client sees them. Every command of the
// table, every reply type, framing (pipelines, inline requests, a request
// split at every byte), protocol errors, transactions and SCAN's cursors.
#include "proto/resp/resp_session.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/db.h"
#include "core/options.h"
#include "proto/executor.h"
#include "proto/resp/resp_commands.h"
#include "test_util.h"

namespace lsmd::proto::resp {
namespace {

using Outcome = Session::Outcome;
using namespace std::string_literals;

// ---- Requests and expected replies, written independently of resp_writer ----

// A multibulk request: *<n>\r\n then $<len>\r\n<bytes>\r\n per argument.
std::string Req(std::initializer_list<std::string_view> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (std::string_view arg : args) {
    out += "$" + std::to_string(arg.size()) + "\r\n";
    out += arg;
    out += "\r\n";
  }
  return out;
}

std::string Req(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& arg : args)
    out += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
  return out;
}

std::string Simple(std::string_view text) { return "+" + std::string(text) + "\r\n"; }
std::string Err(std::string_view text) { return "-" + std::string(text) + "\r\n"; }
std::string Int(int64_t n) { return ":" + std::to_string(n) + "\r\n"; }
std::string Bulk(std::string_view data) {
  return "$" + std::to_string(data.size()) + "\r\n" + std::string(data) + "\r\n";
}
std::string Arr(size_t n) { return "*" + std::to_string(n) + "\r\n"; }
const std::string kOk = "+OK\r\n";
const std::string kNil = "$-1\r\n";
const std::string kQueued = "+QUEUED\r\n";

std::string WrongArity(std::string_view name) {
  return Err("ERR wrong number of arguments for '" + std::string(name) + "' command");
}

// ---- Replies, parsed (a small independent RESP2 reply reader) ----

struct Reply {
  char type = 0;      // '+', '-', ':', '$' or '*'
  bool null = false;  // $-1 or *-1
  std::string text;   // simple string, error, bulk data
  int64_t integer = 0;
  std::vector<Reply> elements;

  // A flat array of field/value pairs: the value after `field`.
  const Reply* Field(std::string_view field) const {
    for (size_t i = 0; i + 1 < elements.size(); i += 2) {
      if (elements[i].text == field) return &elements[i + 1];
    }
    return nullptr;
  }
};

std::optional<int64_t> Number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  size_t i = text[0] == '-' ? 1 : 0;
  if (i == text.size()) return std::nullopt;
  int64_t value = 0;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return text[0] == '-' ? -value : value;
}

// Reads one reply from the front of *in and removes it; nullopt if malformed
// or incomplete.
std::optional<Reply> ReadReply(std::string_view* in, int depth = 0) {
  if (in->empty() || depth > 64) return std::nullopt;
  const size_t cr = in->find("\r\n");
  if (cr == std::string_view::npos) return std::nullopt;
  Reply reply;
  reply.type = (*in)[0];
  const std::string_view line = in->substr(1, cr - 1);
  if (line.find_first_of("\r\n") != std::string_view::npos) return std::nullopt;
  in->remove_prefix(cr + 2);
  switch (reply.type) {
    case '+':
    case '-':
      reply.text = std::string(line);
      return reply;
    case ':': {
      auto n = Number(line);
      if (!n) return std::nullopt;
      reply.integer = *n;
      return reply;
    }
    case '$': {
      auto n = Number(line);
      if (!n || *n < -1) return std::nullopt;
      if (*n == -1) {
        reply.null = true;
        return reply;
      }
      const size_t len = size_t(*n);
      if (in->size() < len + 2 || in->substr(len, 2) != "\r\n") return std::nullopt;
      reply.text = std::string(in->substr(0, len));
      in->remove_prefix(len + 2);
      return reply;
    }
    case '*': {
      auto n = Number(line);
      if (!n || *n < -1) return std::nullopt;
      if (*n == -1) {
        reply.null = true;
        return reply;
      }
      for (int64_t i = 0; i < *n; ++i) {
        auto element = ReadReply(in, depth + 1);
        if (!element) return std::nullopt;
        reply.elements.push_back(std::move(*element));
      }
      return reply;
    }
    default:
      return std::nullopt;
  }
}

// Every reply in `bytes`; fails the test if they are not well formed.
std::vector<Reply> ReadReplies(std::string_view bytes) {
  std::vector<Reply> replies;
  while (!bytes.empty()) {
    auto reply = ReadReply(&bytes);
    REQUIRE_MESSAGE(reply.has_value(), "malformed reply bytes: " << std::string(bytes));
    replies.push_back(std::move(*reply));
  }
  return replies;
}

Reply ReadOne(std::string_view bytes) {
  std::vector<Reply> replies = ReadReplies(bytes);
  REQUIRE(replies.size() == 1);
  return replies[0];
}

// ---- The engine and the sessions ----

class TestNode {
 public:
  explicit TestNode(size_t memtable_bytes = 64 << 10) {
    REQUIRE(!dir_.path().empty());
    Options options;
    options.memtable_bytes = memtable_bytes;
    options.sync = SyncMode::kNone;
    Result<std::unique_ptr<DB>> db = DB::Open(options, dir_.path());
    REQUIRE_MESSAGE(db.ok(), db.status().ToString());
    db_ = std::move(*db);
    executor_ = std::make_unique<CommandExecutor>(db_.get());
    ServerFacts facts;
    facts.lsmd_version = "9.8.7";
    facts.tcp_port = 6390;
    facts.io_threads = 2;
    facts.executable = "/usr/bin/lsmd";
    facts.config = {{"save", ""},
                    {"maxclients", "100"},
                    {"lsmd-sync", "none"},
                    {"lsmd-memtable-bytes", std::to_string(memtable_bytes)}};
    shared_ = std::make_unique<RespShared>(*executor_, std::move(facts), clients_, ParserLimits{});
  }
  ~TestNode() {
    shared_.reset();
    executor_.reset();
    db_.reset();
  }

  RespShared& shared() { return *shared_; }
  DB& db() { return *db_; }
  ClientCounters& clients() { return clients_; }

 private:
  testing::TempDir dir_;
  std::unique_ptr<DB> db_;
  std::unique_ptr<CommandExecutor> executor_;
  ClientCounters clients_;
  std::unique_ptr<RespShared> shared_;
};

// The reply of a deferred request: `later` may run inline (before HandleNext
// returns) or on an engine thread, exactly once.
struct Later {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  std::string reply;

  Session::ReplyFn Fn(std::shared_ptr<Later> self) {
    return [self](std::string r) {
      std::lock_guard lock(self->mu);
      ++self->calls;
      self->reply = std::move(r);
      self->cv.notify_all();
    };
  }
  std::string Wait() {
    std::unique_lock lock(mu);
    // A generous bound only so a lost reply fails instead of hanging.
    const bool replied = cv.wait_for(lock, std::chrono::seconds(60), [&] { return calls > 0; });
    REQUIRE_MESSAGE(replied, "a deferred reply never came");
    return reply;
  }
  int Calls() {
    std::lock_guard lock(mu);
    return calls;
  }
};

struct Fed {
  std::string replies;                // every reply, concatenated
  std::vector<Outcome> outcomes;      // one per HandleNext call
  Outcome last = Outcome::kNeedMore;  // the last call's outcome
  size_t consumed = 0;                // bytes used, of the input
};

// Feeds `input` to the session request by request, as a connection does:
// HandleNext on what is left, advancing by `consumed`, until it needs more,
// the input is used up, or the session closes. Deferred replies are waited
// for, so the replies come in request order.
Fed Feed(RespSession& session, std::string_view input, bool input_closed = false) {
  Fed fed;
  while (true) {
    const std::string_view rest = input.substr(fed.consumed);
    std::string out;
    auto later = std::make_shared<Later>();
    const Session::Step step = session.HandleNext(rest, input_closed, &out, later->Fn(later));
    fed.outcomes.push_back(step.outcome);
    fed.last = step.outcome;
    if (step.outcome == Outcome::kDeferred) {
      CHECK(out.empty());
      out = later->Wait();
      CHECK(later->Calls() == 1);
    } else {
      CHECK(later->Calls() == 0);
    }
    fed.replies += out;
    if (step.outcome == Outcome::kNeedMore) {
      CHECK(step.consumed == 0);
      CHECK(out.empty());
      break;
    }
    CHECK(step.consumed > 0);
    CHECK(step.consumed <= rest.size());
    fed.consumed += step.consumed;
    if (step.outcome == Outcome::kClose || step.outcome == Outcome::kFatal) break;
    if (fed.consumed == input.size()) break;
  }
  return fed;
}

// Feeds whole requests and returns their replies; every byte must be used.
std::string Call(RespSession& session, std::string_view input) {
  Fed fed = Feed(session, input);
  CHECK(fed.consumed == input.size());
  CHECK((fed.last == Outcome::kAnswered || fed.last == Outcome::kDeferred));
  // Whatever the requests, the reply stream is well formed.
  ReadReplies(fed.replies);
  return fed.replies;
}

// ---- Strings: GET, SET, SETNX, GETDEL, MGET, MSET, DEL, EXISTS, STRLEN ----

TEST_CASE("GET and SET with every NX / XX / GET combination") {
  TestNode node;
  RespSession s(node.shared());
  CHECK(Call(s, Req({"GET", "k"})) == kNil);
  CHECK(Call(s, Req({"SET", "k", "v1"})) == kOk);
  CHECK(Call(s, Req({"GET", "k"})) == Bulk("v1"));
  CHECK(Call(s, Req({"get", "k"})) == Bulk("v1"));  // names are case-insensitive
  CHECK(Call(s, Req({"SeT", "k", "v2"})) == kOk);
  CHECK(Call(s, Req({"GET", "k"})) == Bulk("v2"));

  // NX: only if absent.
  CHECK(Call(s, Req({"SET", "k", "nx", "NX"})) == kNil);
  CHECK(Call(s, Req({"GET", "k"})) == Bulk("v2"));
  CHECK(Call(s, Req({"SET", "n", "1", "nx"})) == kOk);
  CHECK(Call(s, Req({"GET", "n"})) == Bulk("1"));
  // XX: only if present.
  CHECK(Call(s, Req({"SET", "x", "1", "XX"})) == kNil);
  CHECK(Call(s, Req({"GET", "x"})) == kNil);
  CHECK(Call(s, Req({"SET", "k", "v3", "xx"})) == kOk);
  CHECK(Call(s, Req({"GET", "k"})) == Bulk("v3"));
  // GET: the old value (or nil), written either way.
  CHECK(Call(s, Req({"SET", "k", "v4", "GET"})) == Bulk("v3"));
  CHECK(Call(s, Req({"GET", "k"})) == Bulk("v4"));
  CHECK(Call(s, Req({"SET", "g", "1", "get"})) == kNil);
  CHECK(Call(s, Req({"GET", "g"})) == Bulk("1"));
  // NX GET: the old value; written only when there was none.
  CHECK(Call(s, Req({"SET", "k", "v5", "NX", "GET"})) == Bulk("v4"));
  CHECK(Call(s, Req({"GET", "k"})) == Bulk("v4"));
  CHECK(Call(s, Req({"SET", "ng", "1", "GET", "NX"})) == kNil);
  CHECK(Call(s, Req({"GET", "ng"})) == Bulk("1"));
  // XX GET: the old value; written only when there was one.
  CHECK(Call(s, Req({"SET", "k", "v6", "XX", "GET"})) == Bulk("v4"));
  CHECK(Call(s, Req({"GET", "k"})) == Bulk("v6"));
  CHECK(Call(s, Req({"SET", "xg", "1", "XX", "GET"})) == kNil);
  CHECK(Call(s, Req({"GET", "xg"})) == kNil);
  // Repeating an option is fine; NX with XX is not.
  CHECK(Call(s, Req({"SET", "k", "v7", "XX", "XX", "GET", "GET"})) == Bulk("v6"));
  CHECK(Call(s, Req({"SET", "k", "v", "NX", "XX"})) == Err("ERR syntax error"));
  CHECK(Call(s, Req({"SET", "k", "v", "XX", "NX"})) == Err("ERR syntax error"));
  CHECK(Call(s, Req({"SET", "k", "v", "FOO"})) == Err("ERR syntax error"));
  CHECK(Call(s, Req({"SET", "k", "v", "EX", "10"})) ==
        Err("ERR expiring keys are not supported yet (SET EX): lsmd keys do not expire"));
  CHECK(Call(s, Req({"SET", "k", "v", "keepttl"})) ==
        Err("ERR expiring keys are not supported yet (SET keepttl): lsmd keys do not expire"));
  CHECK(Call(s, Req({"GET", "k"})) == Bulk("v7"));  // no refused SET wrote
  CHECK(Call(s, Req({"SET", "k"})) == WrongArity("set"));
  CHECK(Call(s, Req({"GET"})) == WrongArity("get"));
  CHECK(Call(s, Req({"GET", "a", "b"})) == WrongArity("get"));

  // Binary-safe keys and values; the empty value is a value.
  const std::string key("k\0\r\n\xff", 5);
  const std::string value("\r\n\0*1\r\n", 7);
  CHECK(Call(s, Req({"SET", key, value})) == kOk);
  CHECK(Call(s, Req({"GET", key})) == Bulk(value));
  CHECK(Call(s, Req({"SET", "empty", ""})) == kOk);
  CHECK(Call(s, Req({"GET", "empty"})) == "$0\r\n\r\n");
  // A large value.
  const std::string big(1 << 20, 'b');
  CHECK(Call(s, Req({"SET", "big", big})) == kOk);
  CHECK(Call(s, Req({"GET", "big"})) == Bulk(big));
}

TEST_CASE("SETNX, GETDEL, STRLEN") {
  TestNode node;
  RespSession s(node.shared());
  CHECK(Call(s, Req({"SETNX", "k", "1"})) == Int(1));
  CHECK(Call(s, Req({"SETNX", "k", "2"})) == Int(0));
  CHECK(Call(s, Req({"GET", "k"})) == Bulk("1"));
  CHECK(Call(s, Req({"SETNX", "k"})) == WrongArity("setnx"));
  CHECK(Call(s, Req({"SETNX", "k", "1", "NX"})) == WrongArity("setnx"));

  CHECK(Call(s, Req({"STRLEN", "k"})) == Int(1));
  CHECK(Call(s, Req({"STRLEN", "nope"})) == Int(0));
  CHECK(Call(s, Req({"SET", "long", std::string(1000, 'x')})) == kOk);
  CHECK(Call(s, Req({"STRLEN", "long"})) == Int(1000));
  CHECK(Call(s, Req({"STRLEN"})) == WrongArity("strlen"));

  CHECK(Call(s, Req({"GETDEL", "k"})) == Bulk("1"));
  CHECK(Call(s, Req({"GET", "k"})) == kNil);
  CHECK(Call(s, Req({"GETDEL", "k"})) == kNil);
  CHECK(Call(s, Req({"GETDEL"})) == WrongArity("getdel"));
}

TEST_CASE("MGET and MSET") {
  TestNode node;
  RespSession s(node.shared());
  CHECK(Call(s, Req({"MSET", "a", "1", "b", "2"})) == kOk);
  CHECK(Call(s, Req({"MGET", "a", "missing", "b"})) == Arr(3) + Bulk("1") + kNil + Bulk("2"));
  CHECK(Call(s, Req({"MGET", "a", "a"})) == Arr(2) + Bulk("1") + Bulk("1"));
  CHECK(Call(s, Req({"MGET", "none"})) == Arr(1) + kNil);
  CHECK(Call(s, Req({"MGET"})) == WrongArity("mget"));
  // Duplicate keys: the last value wins.
  CHECK(Call(s, Req({"MSET", "d", "first", "e", "x", "d", "last"})) == kOk);
  CHECK(Call(s, Req({"MGET", "d", "e"})) == Arr(2) + Bulk("last") + Bulk("x"));
  // An odd argument count writes nothing.
  CHECK(Call(s, Req({"MSET", "odd1", "1", "odd2"})) == WrongArity("mset"));
  CHECK(Call(s, Req({"MSET", "odd1"})) == WrongArity("mset"));
  CHECK(Call(s, Req({"MGET", "odd1", "odd2"})) == Arr(2) + kNil + kNil);
}

TEST_CASE("DEL and UNLINK count a repeated key once, EXISTS counts it twice") {
  TestNode node;
  RespSession s(node.shared());
  CHECK(Call(s, Req({"MSET", "a", "1", "b", "2", "c", "3", "d", "4"})) == kOk);
  CHECK(Call(s, Req({"EXISTS", "a", "a", "b", "missing"})) == Int(3));
  CHECK(Call(s, Req({"EXISTS", "missing"})) == Int(0));
  CHECK(Call(s, Req({"EXISTS"})) == WrongArity("exists"));
  CHECK(Call(s, Req({"DEL", "a", "a", "b", "missing"})) == Int(2));
  CHECK(Call(s, Req({"EXISTS", "a", "b", "c"})) == Int(1));
  CHECK(Call(s, Req({"DEL", "a"})) == Int(0));
  CHECK(Call(s, Req({"UNLINK", "c", "c", "d", "zz"})) == Int(2));
  CHECK(Call(s, Req({"MGET", "a", "b", "c", "d"})) == Arr(4) + kNil + kNil + kNil + kNil);
  CHECK(Call(s, Req({"DEL"})) == WrongArity("del"));
  CHECK(Call(s, Req({"UNLINK"})) == WrongArity("unlink"));
}

TEST_CASE("empty and over-long keys are refused, 16 KiB keys are fine") {
  TestNode node;
  RespSession s(node.shared());
  const std::string kEmpty = Err("ERR empty keys are not supported");
  const std::string kLong = Err("ERR key longer than 16 KiB (16384 bytes)");
  const std::string longest(kMaxKeyBytes, 'k');
  const std::string too_long(kMaxKeyBytes + 1, 'k');
  for (const std::string& bad : {std::string(), too_long}) {
    CAPTURE(bad.size());
    const std::string& error = bad.empty() ? kEmpty : kLong;
    CHECK(Call(s, Req({"GET", bad})) == error);
    CHECK(Call(s, Req({"SET", bad, "v"})) == error);
    CHECK(Call(s, Req({"SET", bad, "v", "NX"})) == error);
    CHECK(Call(s, Req({"SETNX", bad, "v"})) == error);
    CHECK(Call(s, Req({"GETDEL", bad})) == error);
    CHECK(Call(s, Req({"STRLEN", bad})) == error);
    CHECK(Call(s, Req({"MGET", "ok", bad})) == error);
    CHECK(Call(s, Req({"MSET", "ok", "1", bad, "2"})) == error);
    CHECK(Call(s, Req({"DEL", "ok", bad})) == error);
    CHECK(Call(s, Req({"EXISTS", bad})) == error);
    CHECK(Call(s, Req({"SSTABLE.LOOKUP", "L0_000001.sst", bad})) == error);
  }
  CHECK(Call(s, Req({"GET", "ok"})) == kNil);  // the refused MSET wrote nothing
  CHECK(Call(s, Req({"SET", longest, "v"})) == kOk);
  CHECK(Call(s, Req({"GET", longest})) == Bulk("v"));
  CHECK(Call(s, Req({"DBSIZE"})) == Int(1));
}

// ---- Keyspace: SCAN, KEYS, DBSIZE ----

// The cursor and keys of a SCAN reply.
struct ScanPage {
  std::string cursor;
  std::vector<std::string> keys;
};

ScanPage Scan(RespSession& s, const std::vector<std::string>& args) {
  std::vector<std::string> request = {"SCAN"};
  request.insert(request.end(), args.begin(), args.end());
  const Reply reply = ReadOne(Call(s, Req(request)));
  REQUIRE(reply.type == '*');
  REQUIRE(reply.elements.size() == 2);
  REQUIRE(reply.elements[0].type == '$');
  REQUIRE(reply.elements[1].type == '*');
  ScanPage page;
  page.cursor = reply.elements[0].text;
  for (const Reply& key : reply.elements[1].elements) {
    REQUIRE(key.type == '$');
    page.keys.push_back(key.text);
  }
  return page;
}

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "key:%04d", i);
  return buf;
}

TEST_CASE("SCAN: key order, COUNT, MATCH, TYPE, and the end cursor") {
  TestNode node;
  RespSession s(node.shared());
  std::vector<std::string> mset = {"MSET"};
  for (int i = 0; i < 25; ++i) {
    mset.push_back(Key(i));
    mset.push_back("v");
  }
  mset.insert(mset.end(), {"other:1", "v", "other:2", "v", "a*b", "v", "a?b", "v", "axb", "v"});
  CHECK(Call(s, Req(mset)) == kOk);

  // The default COUNT is 10, in key order.
  ScanPage page = Scan(s, {"0"});
  CHECK(page.cursor != "0");
  CHECK(page.keys == std::vector<std::string>{"a*b", "a?b", "axb", Key(0), Key(1), Key(2), Key(3),
                                              Key(4), Key(5), Key(6)});
  page = Scan(s, {page.cursor, "COUNT", "100"});
  CHECK(page.cursor == "0");
  REQUIRE(page.keys.size() == 20);
  CHECK(page.keys.front() == Key(7));
  CHECK(page.keys[17] == Key(24));
  CHECK(page.keys[18] == "other:1");
  CHECK(page.keys.back() == "other:2");
  // Exactly COUNT keys left: the cursor is 0 at once.
  page = Scan(s, {"0", "count", "30"});
  CHECK(page.cursor == "0");
  CHECK(page.keys.size() == 30);

  // MATCH with a literal prefix: only the prefix's range is walked.
  page = Scan(s, {"0", "MATCH", "other:*"});
  CHECK(page.cursor == "0");
  CHECK(page.keys == std::vector<std::string>{"other:1", "other:2"});
  page = Scan(s, {"0", "MATCH", "key:001*", "COUNT", "5"});
  CHECK(page.cursor != "0");
  CHECK(page.keys == std::vector<std::string>{Key(10), Key(11), Key(12), Key(13), Key(14)});
  page = Scan(s, {page.cursor, "MATCH", "key:001*", "COUNT", "5"});
  CHECK(page.cursor == "0");  // the prefix's range ends after these five
  CHECK(page.keys == std::vector<std::string>{Key(15), Key(16), Key(17), Key(18), Key(19)});
  // A prefix no key has.
  page = Scan(s, {"0", "MATCH", "zzz*"});
  CHECK(page.cursor == "0");
  CHECK(page.keys.empty());
  // An exact key as the pattern.
  page = Scan(s, {"0", "MATCH", "axb"});
  CHECK(page.keys == std::vector<std::string>{"axb"});
  // Escapes: a literal '*' and '?'.
  page = Scan(s, {"0", "MATCH", "a\\*b"});
  CHECK(page.keys == std::vector<std::string>{"a*b"});
  page = Scan(s, {"0", "MATCH", "a?b", "COUNT", "1000"});
  CHECK(page.keys == std::vector<std::string>{"a*b", "a?b", "axb"});
  // A pattern without a literal prefix filters every key examined, so a
  // page may hold fewer than COUNT keys, even none.
  page = Scan(s, {"0", "MATCH", "*5", "COUNT", "4"});
  CHECK(page.cursor != "0");
  CHECK(page.keys.empty());  // a*b a?b axb key:0000
  std::vector<std::string> matched;
  std::string cursor = "0";
  int calls = 0;
  do {
    page = Scan(s, {cursor, "MATCH", "*5", "COUNT", "4"});
    matched.insert(matched.end(), page.keys.begin(), page.keys.end());
    cursor = page.cursor;
    REQUIRE(++calls < 100);
  } while (cursor != "0");
  CHECK(matched == std::vector<std::string>{Key(5), Key(15)});
  page = Scan(s, {"0", "MATCH", "[ab]?b", "COUNT", "1000"});
  CHECK(page.keys == std::vector<std::string>{"a*b", "a?b", "axb"});

  // TYPE: every key is a string.
  page = Scan(s, {"0", "TYPE", "string", "COUNT", "3"});
  CHECK(page.keys == std::vector<std::string>{"a*b", "a?b", "axb"});
  page = Scan(s, {"0", "TYPE", "hash", "COUNT", "3"});
  CHECK(page.cursor != "0");
  CHECK(page.keys.empty());

  // A cursor may be used again: the same page.
  ScanPage first = Scan(s, {"0", "COUNT", "2"});
  ScanPage again1 = Scan(s, {first.cursor, "COUNT", "2"});
  ScanPage again2 = Scan(s, {first.cursor, "COUNT", "2"});
  CHECK(again1.keys == again2.keys);
  CHECK(again1.keys == std::vector<std::string>{"axb", Key(0)});

  // Argument errors.
  CHECK(Call(s, Req({"SCAN"})) == WrongArity("scan"));
  CHECK(Call(s, Req({"SCAN", "0", "COUNT"})) == Err("ERR syntax error"));
  CHECK(Call(s, Req({"SCAN", "0", "COUNT", "0"})) == Err("ERR syntax error"));
  CHECK(Call(s, Req({"SCAN", "0", "COUNT", "-3"})) == Err("ERR syntax error"));
  CHECK(Call(s, Req({"SCAN", "0", "COUNT", "x"})) ==
        Err("ERR value is not an integer or out of range"));
  CHECK(Call(s, Req({"SCAN", "0", "FOO", "bar"})) == Err("ERR syntax error"));
  CHECK(Call(s, Req({"SCAN", "0", "MATCH"})) == Err("ERR syntax error"));
}

TEST_CASE("SCAN: unknown, malformed and forgotten cursors are errors") {
  TestNode node;
  RespSession s(node.shared());
  CHECK(Call(s, Req({"MSET", "a", "1", "b", "2", "c", "3"})) == kOk);
  const std::string kInvalid = Err("ERR invalid cursor");
  CHECK(Call(s, Req({"SCAN", "12345"})) == kInvalid);  // never issued
  CHECK(Call(s, Req({"SCAN", "abc"})) == kInvalid);
  CHECK(Call(s, Req({"SCAN", "-1"})) == kInvalid);
  CHECK(Call(s, Req({"SCAN", ""})) == kInvalid);
  CHECK(Call(s, Req({"SCAN", "18446744073709551616"})) == kInvalid);  // 2^64

  // The table keeps the newest cursors only: an old one becomes unknown,
  // never a silent restart.
  const ScanPage old = Scan(s, {"0", "COUNT", "1"});
  REQUIRE(old.cursor != "0");
  CHECK(Scan(s, {old.cursor, "COUNT", "1"}).keys == std::vector<std::string>{"b"});
  const size_t capacity = node.shared().cursors.capacity();
  std::string newest;
  for (size_t i = 0; i < capacity; ++i) newest = Scan(s, {"0", "COUNT", "1"}).cursor;
  CHECK(Call(s, Req({"SCAN", old.cursor})) == kInvalid);
  CHECK(Scan(s, {newest, "COUNT", "1"}).keys == std::vector<std::string>{"b"});
}

TEST_CASE("SCAN over 1000 keys visits each exactly once, resuming on other sessions") {
  TestNode node;
  RespSession writer(node.shared());
  std::set<std::string> all;
  for (int batch = 0; batch < 10; ++batch) {
    std::vector<std::string> mset = {"MSET"};
    for (int i = batch * 100; i < batch * 100 + 100; ++i) {
      mset.push_back(Key(i));
      mset.push_back(std::to_string(i));
      all.insert(Key(i));
    }
    CHECK(Call(writer, Req(mset)) == kOk);
  }
  // Some in a table, some in the MemTable.
  CHECK(ReadOne(Call(writer, Req({"SSTABLE.FLUSH"}))).type == '*');
  CHECK(Call(writer, Req({"SET", Key(500), "new"})) == kOk);
  CHECK(Call(writer, Req({"DBSIZE"})) == Int(1000));

  for (const char* count : {"1", "7", "10", "999", "1000", "5000"}) {
    CAPTURE(count);
    // Three sessions on the same RespShared take turns, as a pooled client
    // library may continue a scan on another connection.
    RespSession a(node.shared()), b(node.shared()), c(node.shared());
    RespSession* sessions[] = {&a, &b, &c};
    std::vector<std::string> seen;
    std::string cursor = "0";
    size_t calls = 0;
    do {
      ScanPage page = Scan(*sessions[calls % 3], {cursor, "COUNT", count});
      CHECK(page.keys.size() <= size_t(std::stoi(count)));
      seen.insert(seen.end(), page.keys.begin(), page.keys.end());
      cursor = page.cursor;
      REQUIRE(++calls <= 1001);
    } while (cursor != "0");
    CHECK(seen.size() == 1000);
    CHECK(std::set<std::string>(seen.begin(), seen.end()) == all);
    CHECK(std::is_sorted(seen.begin(), seen.end()));
  }
  // With a non-prefix pattern, the matches only, each once.
  std::vector<std::string> seen;
  std::string cursor = "0";
  RespSession a(node.shared()), b(node.shared());
  bool turn = false;
  do {
    ScanPage page = Scan(turn ? a : b, {cursor, "MATCH", "*7?", "COUNT", "33"});
    turn = !turn;
    seen.insert(seen.end(), page.keys.begin(), page.keys.end());
    cursor = page.cursor;
  } while (cursor != "0");
  CHECK(seen.size() == 100);  // key:xx7y
  for (const std::string& key : seen) CHECK(key[key.size() - 2] == '7');
}

TEST_CASE("KEYS and DBSIZE") {
  TestNode node;
  RespSession s(node.shared());
  CHECK(Call(s, Req({"DBSIZE"})) == Int(0));
  CHECK(Call(s, Req({"KEYS", "*"})) == Arr(0));
  CHECK(Call(s, Req({"MSET", "user:1", "a", "user:2", "b", "item:1", "c", "user:10", "d"})) == kOk);
  CHECK(Call(s, Req({"DBSIZE"})) == Int(4));
  CHECK(Call(s, Req({"KEYS", "*"})) ==
        Arr(4) + Bulk("item:1") + Bulk("user:1") + Bulk("user:10") + Bulk("user:2"));
  CHECK(Call(s, Req({"KEYS", "user:?"})) == Arr(2) + Bulk("user:1") + Bulk("user:2"));
  CHECK(Call(s, Req({"KEYS", "*:1"})) == Arr(2) + Bulk("item:1") + Bulk("user:1"));
  CHECK(Call(s, Req({"KEYS", "*1*"})) ==
        Arr(3) + Bulk("item:1") + Bulk("user:1") + Bulk("user:10"));
  CHECK(Call(s, Req({"KEYS", "nothing*"})) == Arr(0));
  CHECK(Call(s, Req({"KEYS"})) == WrongArity("keys"));
  CHECK(Call(s, Req({"DBSIZE", "x"})) == WrongArity("dbsize"));
  CHECK(Call(s, Req({"DEL", "user:1"})) == Int(1));
  CHECK(Call(s, Req({"DBSIZE"})) == Int(3));

  // More keys than one engine scan returns (kMaxScanLimit).
  for (int batch = 0; batch < 3; ++batch) {
    std::vector<std::string> mset = {"MSET"};
    for (int i = 0; i < 5000; ++i) {
      mset.push_back("bulk:" + std::to_string(batch * 5000 + i));
      mset.push_back("v");
    }
    CHECK(Call(s, Req(mset)) == kOk);
  }
  CHECK(Call(s, Req({"DBSIZE"})) == Int(15003));
  Reply keys = ReadOne(Call(s, Req({"KEYS", "bulk:*"})));
  CHECK(keys.elements.size() == 15000);
  keys = ReadOne(Call(s, Req({"KEYS", "*"})));
  CHECK(keys.elements.size() == 15003);
}

// ---- Connection commands ----

TEST_CASE("PING, ECHO, SELECT, AUTH, QUIT") {
  TestNode node;
  RespSession s(node.shared());
  CHECK(Call(s, Req({"PING"})) == Simple("PONG"));
  CHECK(Call(s, Req({"PING", "hi"})) == Bulk("hi"));
  CHECK(Call(s, Req({"PING", "a", "b"})) == WrongArity("ping"));
  CHECK(Call(s, Req({"ECHO", "a\r\nb"})) == Bulk("a\r\nb"));
  CHECK(Call(s, Req({"ECHO"})) == WrongArity("echo"));
  CHECK(Call(s, Req({"SELECT", "0"})) == kOk);
  CHECK(Call(s, Req({"SELECT", "1"})) == Err("ERR DB index is out of range"));
  CHECK(Call(s, Req({"SELECT", "x"})) == Err("ERR value is not an integer or out of range"));
  CHECK(Call(s, Req({"SELECT"})) == WrongArity("select"));
  CHECK(Call(s, Req({"AUTH", "pw"})) ==
        Err("ERR AUTH <password> called without any password configured for the default user. "
            "Are you sure your configuration is correct?"));
  CHECK(Call(s, Req({"AUTH", "default", "anything"})) == kOk);
  CHECK(Call(s, Req({"AUTH", "bob", "pw"})) ==
        Err("WRONGPASS invalid username-password pair or user is disabled."));
  CHECK(Call(s, Req({"AUTH", "a", "b", "c"})) == Err("ERR syntax error"));
  CHECK(Call(s, Req({"AUTH"})) == WrongArity("auth"));

  // QUIT: +OK, then the connection closes; what follows is not read.
  const std::string input = Req({"PING"}) + Req({"QUIT"}) + Req({"SET", "after", "quit"});
  Fed fed = Feed(s, input);
  CHECK(fed.replies == Simple("PONG") + kOk);
  CHECK(fed.last == Outcome::kClose);
  CHECK(fed.consumed == Req({"PING"}).size() + Req({"QUIT"}).size());
  RespSession other(node.shared());
  CHECK(Call(other, Req({"GET", "after"})) == kNil);
  // QUIT takes (and ignores) arguments.
  RespSession third(node.shared());
  CHECK(Feed(third, Req({"quit", "now"})).last == Outcome::kClose);
}

std::string HelloReply(uint64_t id) {
  return Arr(14) + Bulk("server") + Bulk("lsmd") + Bulk("version") + Bulk("9.8.7") + Bulk("proto") +
         Int(2) + Bulk("id") + Int(int64_t(id)) + Bulk("mode") + Bulk("standalone") + Bulk("role") +
         Bulk("master") + Bulk("modules") + Arr(0);
}

TEST_CASE("HELLO, HELLO 2, HELLO 3") {
  TestNode node;
  RespSession s(node.shared());
  CHECK(Call(s, Req({"HELLO"})) == HelloReply(s.id()));
  CHECK(Call(s, Req({"HELLO", "2"})) == HelloReply(s.id()));
  CHECK(Call(s, Req({"hello", "3"})) == Err("NOPROTO unsupported protocol version"));
  CHECK(Call(s, Req({"HELLO", "1"})) == Err("NOPROTO unsupported protocol version"));
  CHECK(Call(s, Req({"HELLO", "two"})) ==
        Err("ERR Protocol version is not an integer or out of range"));
  CHECK(Call(s, Req({"HELLO", "2", "SETNAME", "conn-1"})) == HelloReply(s.id()));
  CHECK(Call(s, Req({"CLIENT", "GETNAME"})) == Bulk("conn-1"));
  CHECK(Call(s, Req({"HELLO", "2", "AUTH", "default", "pw", "SETNAME", "conn-2"})) ==
        HelloReply(s.id()));
  CHECK(Call(s, Req({"CLIENT", "GETNAME"})) == Bulk("conn-2"));
  CHECK(Call(s, Req({"HELLO", "2", "AUTH", "bob", "pw", "SETNAME", "conn-3"})) ==
        Err("WRONGPASS invalid username-password pair or user is disabled."));
  CHECK(Call(s, Req({"HELLO", "2", "AUTH", "default"})) ==
        Err("ERR Syntax error in HELLO option 'AUTH'"));
  CHECK(Call(s, Req({"HELLO", "2", "BOGUS"})) == Err("ERR Syntax error in HELLO option 'BOGUS'"));
  // A refused HELLO changes nothing.
  CHECK(Call(s, Req({"HELLO", "2", "SETNAME", "conn-4", "BOGUS"})) ==
        Err("ERR Syntax error in HELLO option 'BOGUS'"));
  CHECK(Call(s, Req({"CLIENT", "GETNAME"})) == Bulk("conn-2"));
  // As CLIENT SETNAME (and Redis's HELLO): a name with a space is refused.
  CHECK(Call(s, Req({"HELLO", "2", "SETNAME", "a b"})) ==
        Err("ERR Client names cannot contain spaces, newlines or special characters."));
}

TEST_CASE("CLIENT SETNAME, GETNAME, ID, SETINFO") {
  TestNode node;
  RespSession s(node.shared());
  RespSession t(node.shared());
  CHECK(s.id() != t.id());
  CHECK(Call(s, Req({"CLIENT", "ID"})) == Int(int64_t(s.id())));
  CHECK(Call(t, Req({"client", "id"})) == Int(int64_t(t.id())));
  CHECK(Call(s, Req({"CLIENT", "GETNAME"})) == kNil);
  CHECK(Call(s, Req({"CLIENT", "SETNAME", "worker-1"})) == kOk);
  CHECK(Call(s, Req({"CLIENT", "GETNAME"})) == Bulk("worker-1"));
  CHECK(Call(t, Req({"CLIENT", "GETNAME"})) == kNil);  // per connection
  const std::string kBadName =
      Err("ERR Client names cannot contain spaces, newlines or special characters.");
  CHECK(Call(s, Req({"CLIENT", "SETNAME", "a b"})) == kBadName);
  CHECK(Call(s, Req({"CLIENT", "SETNAME", "a\nb"})) == kBadName);
  CHECK(Call(s, Req({"CLIENT", "SETNAME", "caf\xc3\xa9"})) == kBadName);
  CHECK(Call(s, Req({"CLIENT", "GETNAME"})) == Bulk("worker-1"));
  CHECK(Call(s, Req({"CLIENT", "SETNAME", ""})) == kOk);  // clears it, as in Redis
  CHECK(Call(s, Req({"CLIENT", "GETNAME"})) == kNil);
  CHECK(Call(s, Req({"CLIENT", "SETINFO", "lib-name", "redis-py"})) == kOk);
  CHECK(Call(s, Req({"CLIENT", "SETNAME"})) == WrongArity("client|setname"));
  CHECK(Call(s, Req({"CLIENT", "GETNAME", "x"})) == WrongArity("client|getname"));
  CHECK(Call(s, Req({"CLIENT", "ID", "x"})) == WrongArity("client|id"));
  CHECK(Call(s, Req({"CLIENT", "SetInfo", "x"})) == WrongArity("client|setinfo"));
  CHECK(Call(s, Req({"CLIENT", "KILL", "x"})) ==
        Err("ERR unknown subcommand 'KILL'. Try CLIENT HELP."));
  CHECK(Call(s, Req({"CLIENT"})) == WrongArity("client"));
}

TEST_CASE("RESET leaves MULTI and forgets the name") {
  TestNode node;
  RespSession s(node.shared());
  CHECK(Call(s, Req({"CLIENT", "SETNAME", "n"})) == kOk);
  CHECK(Call(s, Req({"MULTI"})) == kOk);
  CHECK(Call(s, Req({"SET", "k", "v"})) == kQueued);
  CHECK(Call(s, Req({"RESET"})) == Simple("RESET"));
  CHECK(Call(s, Req({"EXEC"})) == Err("ERR EXEC without MULTI"));
  CHECK(Call(s, Req({"GET", "k"})) == kNil);
  CHECK(Call(s, Req({"CLIENT", "GETNAME"})) == kNil);
  CHECK(Call(s, Req({"RESET", "x"})) == WrongArity("reset"));
  // Also after a refused queued command.
  CHECK(Call(s, Req({"MULTI"})) == kOk);
  CHECK(Call(s, Req({"NOPE"})).substr(0, 20) == "-ERR unknown command");
  CHECK(Call(s, Req({"RESET"})) == Simple("RESET"));
  CHECK(Call(s, Req({"MULTI"})) == kOk);
  CHECK(Call(s, Req({"SET", "k", "v"})) == kQueued);
  CHECK(Call(s, Req({"EXEC"})) == Arr(1) + kOk);
}

// ---- Transactions ----

TEST_CASE("MULTI / EXEC: queued reads see the earlier queued writes") {
  TestNode node;
  RespSession s(node.shared());
  RespSession other(node.shared());
  CHECK(Call(s, Req({"SET", "pre", "old"})) == kOk);
  CHECK(Call(s, Req({"MULTI"})) == kOk);
  const std::vector<std::vector<std::string>> queued = {
      {"SET", "t", "1"},
      {"GET", "t"},
      {"SET", "pre", "new", "GET"},
      {"MGET", "t", "pre", "none"},
      {"EXISTS", "t", "t", "pre"},
      {"DEL", "t", "t"},
      {"GET", "t"},
      {"SETNX", "t", "2"},
      {"SETNX", "t", "3"},
      {"STRLEN", "t"},
      {"GETDEL", "t"},
      {"SET", "t", "4", "XX"},
      {"SET", "t", "5", "NX"},
      {"MSET", "m", "a", "m", "b"},
      {"GET", "m"},
      {"UNLINK", "m", "pre"},
  };
  for (const auto& command : queued) CHECK(Call(s, Req(command)) == kQueued);
  // Nothing ran yet.
  CHECK(Call(other, Req({"MGET", "t", "pre", "m"})) == Arr(3) + kNil + Bulk("old") + kNil);
  CHECK(Call(s, Req({"EXEC"})) == Arr(16) + kOk + Bulk("1") + Bulk("old") + Arr(3) + Bulk("1") +
                                      Bulk("new") + kNil + Int(3) + Int(1) + kNil + Int(1) +
                                      Int(0) + Int(1) + Bulk("2") + kNil + kOk + kOk + Bulk("b") +
                                      Int(2));
  CHECK(Call(other, Req({"MGET", "t", "pre", "m"})) == Arr(3) + Bulk("5") + kNil + kNil);
  // The session is out of MULTI.
  CHECK(Call(s, Req({"GET", "t"})) == Bulk("5"));
  CHECK(Call(s, Req({"EXEC"})) == Err("ERR EXEC without MULTI"));
  // An empty transaction.
  CHECK(Call(s, Req({"MULTI"})) == kOk);
  CHECK(Call(s, Req({"EXEC"})) == Arr(0));
}

TEST_CASE("MULTI / EXEC: EXECABORT after a refused queued command") {
  TestNode node;
  RespSession s(node.shared());
  const std::string kAbort = Err("EXECABORT Transaction discarded because of previous errors.");
  SUBCASE("unknown command") {
    CHECK(Call(s, Req({"MULTI"})) == kOk);
    CHECK(Call(s, Req({"SET", "a", "1"})) == kQueued);
    CHECK(Call(s, Req({"FROB", "x", "y"})) ==
          Err("ERR unknown command 'FROB', with args beginning with: 'x' 'y' "));
    CHECK(Call(s, Req({"SET", "b", "1"})) == kQueued);  // still queuing
    CHECK(Call(s, Req({"EXEC"})) == kAbort);
  }
  SUBCASE("wrong arity") {
    CHECK(Call(s, Req({"MULTI"})) == kOk);
    CHECK(Call(s, Req({"SET", "a", "1"})) == kQueued);
    CHECK(Call(s, Req({"GET"})) == WrongArity("get"));
    CHECK(Call(s, Req({"EXEC"})) == kAbort);
  }
  SUBCASE("a syntax error") {
    CHECK(Call(s, Req({"MULTI"})) == kOk);
    CHECK(Call(s, Req({"SET", "a", "1"})) == kQueued);
    CHECK(Call(s, Req({"SET", "b", "1", "NX", "XX"})) == Err("ERR syntax error"));
    CHECK(Call(s, Req({"EXEC"})) == kAbort);
  }
  SUBCASE("MSET with an odd count") {
    CHECK(Call(s, Req({"MULTI"})) == kOk);
    CHECK(Call(s, Req({"SET", "a", "1"})) == kQueued);
    CHECK(Call(s, Req({"MSET", "b", "1", "c"})) == WrongArity("mset"));
    CHECK(Call(s, Req({"EXEC"})) == kAbort);
  }
  SUBCASE("a command that cannot be queued") {
    CHECK(Call(s, Req({"MULTI"})) == kOk);
    CHECK(Call(s, Req({"SET", "a", "1"})) == kQueued);
    CHECK(Call(s, Req({"PING"})) ==
          Err("ERR 'ping' cannot be queued in a transaction in lsmd (only key commands can)"));
    CHECK(Call(s, Req({"EXEC"})) == kAbort);
  }
  CHECK(Call(s, Req({"GET", "a"})) == kNil);  // nothing of it ran
  CHECK(Call(s, Req({"EXEC"})) == Err("ERR EXEC without MULTI"));
  CHECK(Call(s, Req({"SET", "a", "2"})) == kOk);  // out of MULTI
}

TEST_CASE("MULTI / EXEC: a wrong argument count of EXEC or DISCARD inside MULTI") {
  TestNode node;
  RespSession s(node.shared());
  CHECK(Call(s, Req({"MULTI"})) == kOk);
  CHECK(Call(s, Req({"SET", "w", "1"})) == kQueued);
  CHECK(Call(s, Req({"EXEC", "now"})) == WrongArity("exec"));
  CHECK(Call(s, Req({"DISCARD", "now"})) == WrongArity("discard"));
  // Still in MULTI: the queue is there.
  CHECK(Call(s, Req({"SET", "w", "2", "GET"})) == kQueued);
  // As Redis (processCommand -> rejectCommand -> flagTransaction): a wrong
  // argument count inside MULTI, even for a command that runs at once,
  // dooms the transaction.
  CHECK(Call(s, Req({"EXEC"})) ==
        Err("EXECABORT Transaction discarded because of previous errors."));
}

TEST_CASE("MULTI: at most 100000 queued commands") {
  TestNode node;
  RespSession s(node.shared());
  // resp_session.cc's kMaxQueuedCommands.
  constexpr size_t kMaxQueued = 100'000;
  std::string input = Req({"MULTI"});
  const std::string get = Req({"GET", "q"});
  for (size_t i = 0; i < kMaxQueued; ++i) input += get;
  Fed fed = Feed(s, input);
  CHECK(fed.consumed == input.size());
  CHECK(fed.replies.size() == kOk.size() + kMaxQueued * kQueued.size());
  CHECK(Call(s, get) ==
        Err("ERR transaction too large: at most 100000 commands and 64 MiB of arguments"));
  CHECK(Call(s, Req({"EXEC"})) ==
        Err("EXECABORT Transaction discarded because of previous errors."));
  // One fewer runs.
  input = Req({"MULTI"});
  for (size_t i = 0; i + 1 < kMaxQueued; ++i) input += get;
  input += Req({"SET", "q", "v"});
  fed = Feed(s, input);
  CHECK(fed.consumed == input.size());
  const Reply exec = ReadOne(Call(s, Req({"EXEC"})));
  REQUIRE(exec.elements.size() == kMaxQueued);
  CHECK(exec.elements[0].null);
  CHECK(exec.elements.back().text == "OK");
  CHECK(Call(s, get) == Bulk("v"));
}

TEST_CASE("MULTI / EXEC: an engine refusal at EXEC fails the whole transaction") {
  TestNode node;
  RespSession s(node.shared());
  // Keys are checked when EXEC runs, not when queued: the empty key is queued,
  // and EXEC answers one error for the transaction (nothing of it written).
  CHECK(Call(s, Req({"MULTI"})) == kOk);
  CHECK(Call(s, Req({"SET", "a", "1"})) == kQueued);
  CHECK(Call(s, Req({"SET", "", "1"})) == kQueued);
  CHECK(Call(s, Req({"EXEC"})) == Err("ERR empty keys are not supported"));
  CHECK(Call(s, Req({"GET", "a"})) == kNil);
  CHECK(Call(s, Req({"EXEC"})) == Err("ERR EXEC without MULTI"));
}

TEST_CASE("MULTI / EXEC / DISCARD / WATCH: the session commands") {
  TestNode node;
  RespSession s(node.shared());
  CHECK(Call(s, Req({"EXEC"})) == Err("ERR EXEC without MULTI"));
  CHECK(Call(s, Req({"DISCARD"})) == Err("ERR DISCARD without MULTI"));
  CHECK(Call(s, Req({"MULTI", "x"})) == WrongArity("multi"));
  CHECK(Call(s, Req({"EXEC", "x"})) == WrongArity("exec"));

  // DISCARD drops the queue.
  CHECK(Call(s, Req({"MULTI"})) == kOk);
  CHECK(Call(s, Req({"SET", "d", "1"})) == kQueued);
  CHECK(Call(s, Req({"DISCARD"})) == kOk);
  CHECK(Call(s, Req({"GET", "d"})) == kNil);
  CHECK(Call(s, Req({"DISCARD"})) == Err("ERR DISCARD without MULTI"));

  // Nested MULTI is an error that does not abort the transaction (as Redis).
  CHECK(Call(s, Req({"MULTI"})) == kOk);
  CHECK(Call(s, Req({"SET", "n", "1"})) == kQueued);
  CHECK(Call(s, Req({"MULTI"})) == Err("ERR MULTI calls can not be nested"));
  CHECK(Call(s, Req({"SET", "n", "2", "GET"})) == kQueued);
  CHECK(Call(s, Req({"EXEC"})) == Arr(2) + kOk + Bulk("1"));
  CHECK(Call(s, Req({"GET", "n"})) == Bulk("2"));

  // WATCH is refused; inside MULTI it is an error that does not abort.
  CHECK(Call(s, Req({"WATCH", "n"})) ==
        Err("ERR WATCH is not supported yet: lsmd has no conditional writes across requests "
            "(MULTI/EXEC alone is atomic)"));
  CHECK(Call(s, Req({"WATCH"})) == WrongArity("watch"));
  CHECK(Call(s, Req({"UNWATCH"})) == kOk);
  CHECK(Call(s, Req({"MULTI"})) == kOk);
  CHECK(Call(s, Req({"WATCH", "n"})) == Err("ERR WATCH inside MULTI is not allowed"));
  CHECK(Call(s, Req({"GET", "n"})) == kQueued);
  CHECK(Call(s, Req({"EXEC"})) == Arr(1) + Bulk("2"));

  // QUIT inside MULTI closes.
  CHECK(Call(s, Req({"MULTI"})) == kOk);
  CHECK(Call(s, Req({"SET", "q", "1"})) == kQueued);
  CHECK(Feed(s, Req({"QUIT"})).last == Outcome::kClose);
  RespSession t(node.shared());
  CHECK(Call(t, Req({"GET", "q"})) == kNil);

  // Empty requests inside MULTI are ignored, not queued.
  CHECK(Call(t, Req({"MULTI"})) == kOk);
  CHECK(Call(t, "*0\r\n") == "");
  CHECK(Call(t, "\r\n") == "");
  CHECK(Call(t, Req({"EXEC"})) == Arr(0));
}

TEST_CASE("EXEC's writes are atomic: a concurrent reader never sees part of one") {
  TestNode node(1 << 20);
  constexpr int kKeys = 40;
  constexpr int kGenerations = 300;
  std::vector<std::string> mget = {"MGET"};
  for (int i = 0; i < kKeys; ++i) mget.push_back("atom:" + std::to_string(i));
  const std::string mget_request = Req(mget);
  const std::string tx_mget_request = Req({"MULTI"}) + mget_request + Req({"EXEC"});

  std::atomic<bool> done{false};
  auto all_equal = [](const std::vector<std::string>& seen) {
    return std::all_of(seen.begin(), seen.end(),
                       [&](const std::string& g) { return g == seen[0]; });
  };
  // A key read later in the same MGET holding an OLDER generation than one
  // read before it: the reads are in argument order, and so are the EXEC's
  // SETs, so only a batch that becomes visible key by key explains it.
  auto goes_back = [](const std::vector<std::string>& seen) {
    for (size_t i = 1; i < seen.size(); ++i) {
      if ((seen[i].empty() ? 0 : std::stoi(seen[i])) <
          (seen[i - 1].empty() ? 0 : std::stoi(seen[i - 1]))) {
        return true;
      }
    }
    return false;
  };
  std::atomic<int> plain_reads{0}, plain_partial{0}, plain_back{0}, tx_reads{0}, tx_partial{0},
      malformed{0};
  std::string plain_example, back_example;
  auto show = [](const std::vector<std::string>& seen) {
    std::string text;
    for (const std::string& g : seen) text += (g.empty() ? "-" : g) + " ";
    return text;
  };
  // Reads the whole set at once, plainly or in a transaction, and records
  // whether every key had the same generation ("" for an absent key). No
  // REQUIRE here: it would throw on this thread.
  auto reader = [&](bool in_transaction) {
    RespSession session(node.shared());
    while (!done.load()) {
      Fed fed = Feed(session, in_transaction ? tx_mget_request : mget_request);
      std::string_view bytes = fed.replies;
      std::optional<Reply> reply;
      while (!bytes.empty()) {  // keeps the last one: MGET's or EXEC's
        reply = ReadReply(&bytes);
        if (!reply) break;
      }
      const Reply* values = nullptr;
      if (reply && !in_transaction) values = &*reply;
      if (reply && in_transaction && reply->elements.size() == 1) values = &reply->elements[0];
      if (values == nullptr || values->elements.size() != size_t(kKeys)) {
        ++malformed;
        break;
      }
      std::vector<std::string> seen;
      for (const Reply& v : values->elements) seen.push_back(v.null ? "" : v.text);
      if (in_transaction) {
        ++tx_reads;
        if (!all_equal(seen)) ++tx_partial;
      } else {
        ++plain_reads;
        if (!all_equal(seen) && plain_partial++ == 0) plain_example = show(seen);
        if (goes_back(seen) && plain_back++ == 0) back_example = show(seen);
      }
    }
  };
  std::thread plain(reader, false);
  std::thread transactional(reader, true);
  {
    RespSession writer(node.shared());
    for (int g = 1; g <= kGenerations; ++g) {
      std::string input = Req({"MULTI"});
      for (int i = 0; i < kKeys; ++i)
        input += Req({"SET", "atom:" + std::to_string(i), std::to_string(g)});
      input += Req({"EXEC"});
      Fed fed = Feed(writer, input);
      REQUIRE(fed.consumed == input.size());
      std::vector<Reply> replies = ReadReplies(fed.replies);
      REQUIRE(replies.size() == size_t(kKeys) + 2);
      REQUIRE(replies.back().elements.size() == size_t(kKeys));
    }
  }
  // Let the readers see the last state a few times.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  done = true;
  plain.join();
  transactional.join();
  MESSAGE("MGET reads: " << plain_reads.load() << ", partial: " << plain_partial.load()
                         << " (e.g. generations " << plain_example << "), of which an older "
                         << "generation after a newer one: " << plain_back.load() << " (e.g. "
                         << back_example << "); MULTI/MGET/EXEC reads: " << tx_reads.load()
                         << ", partial: " << tx_partial.load());
  CHECK(malformed.load() == 0);
  CHECK(tx_reads.load() > 0);
  CHECK(plain_reads.load() > 0);
  // A transaction's reads run on the committer, between two commits.
  CHECK(tx_partial.load() == 0);
  // KNOWN LIMITATION (docs/RESP.md, "Isolation"): a plain MGET reads its keys
  // one by one, with no snapshot, so an MGET running while EXECs commit can
  // mix generations. Redis's MGET is atomic; lsmd needs snapshot reads (a
  // visible-sequence bound) for that. Kept as a WARN so the figure shows.
  WARN(plain_partial.load() == 0);
  // The same limitation: the engine applies a committed batch to the
  // MemTable entry by entry with no visible-sequence bound for readers, so a
  // reader can see part of a batch. Expected 0 once reads take a snapshot.
  WARN(plain_back.load() == 0);
}

// ---- Server commands ----

TEST_CASE("INFO: every section, and one at a time") {
  TestNode node;
  RespSession s(node.shared());
  node.clients().connected = 3;
  node.clients().accepted = 7;
  Reply info = ReadOne(Call(s, Req({"INFO"})));
  REQUIRE(info.type == '$');
  const std::string& text = info.text;
  for (const char* section : {"# Server\r\n", "# Clients\r\n", "# Memory\r\n", "# Persistence\r\n",
                              "# Stats\r\n", "# Keyspace\r\n", "# Lsm\r\n"}) {
    CHECK_MESSAGE(text.find(section) != std::string::npos, section);
  }
  CHECK(text.rfind("# Server\r\nredis_version:7.0.0\r\nlsmd_version:9.8.7\r\n", 0) == 0);
  CHECK(text.find("\r\ntcp_port:6390\r\n") != std::string::npos);
  CHECK(text.find("\r\nrun_id:" + node.shared().run_id + "\r\n") != std::string::npos);
  CHECK(text.find("\r\nexecutable:/usr/bin/lsmd\r\n") != std::string::npos);
  CHECK(text.find("\r\nconnected_clients:3\r\nmaxclients:100\r\n") != std::string::npos);
  CHECK(text.find("\r\ntotal_connections_received:7\r\n") != std::string::npos);
  CHECK(text.find("\r\nlsmd_sync:none\r\n") != std::string::npos);
  CHECK(text.find("db0:") == std::string::npos);  // no keys yet
  // Sections are separated by an empty line; every line ends with CRLF.
  CHECK(text.find("\r\n\r\n# Clients\r\n") != std::string::npos);
  CHECK(text.size() >= 2);
  CHECK(text.substr(text.size() - 2) == "\r\n");
  CHECK(text.find("\n\n") == std::string::npos);

  CHECK(Call(s, Req({"MSET", "a", "1", "b", "2"})) == kOk);
  info = ReadOne(Call(s, Req({"INFO", "keyspace"})));
  CHECK(info.text == "# Keyspace\r\ndb0:keys=2,expires=0,avg_ttl=0\r\n");
  info = ReadOne(Call(s, Req({"INFO", "SERVER"})));
  CHECK(info.text.rfind("# Server\r\n", 0) == 0);
  CHECK(info.text.find("# Clients") == std::string::npos);
  info = ReadOne(Call(s, Req({"INFO", "clients", "lsm"})));
  CHECK(info.text.rfind("# Clients\r\n", 0) == 0);
  CHECK(info.text.find("\r\n\r\n# Lsm\r\nlsm_memtable_bytes:") != std::string::npos);
  CHECK(info.text.find("# Server") == std::string::npos);
  for (const char* all : {"all", "default", "everything"}) {
    CHECK(ReadOne(Call(s, Req({"INFO", all}))).text.find("# Lsm\r\n") != std::string::npos);
  }
  CHECK(Call(s, Req({"INFO", "nosuchsection"})) == Bulk(""));
  info = ReadOne(Call(s, Req({"INFO", "stats"})));
  CHECK(info.text.find("total_commands_processed:") != std::string::npos);
}

TEST_CASE("CONFIG GET, SET, RESETSTAT") {
  TestNode node;
  RespSession s(node.shared());
  CHECK(Call(s, Req({"CONFIG", "GET", "maxclients"})) == Arr(2) + Bulk("maxclients") + Bulk("100"));
  CHECK(Call(s, Req({"config", "get", "MAXCLIENTS"})) == Arr(2) + Bulk("maxclients") + Bulk("100"));
  CHECK(Call(s, Req({"CONFIG", "GET", "*"})) ==
        Arr(8) + Bulk("save") + Bulk("") + Bulk("maxclients") + Bulk("100") + Bulk("lsmd-sync") +
            Bulk("none") + Bulk("lsmd-memtable-bytes") + Bulk(std::to_string(64 << 10)));
  CHECK(Call(s, Req({"CONFIG", "GET", "lsmd-*"})) == Arr(4) + Bulk("lsmd-sync") + Bulk("none") +
                                                         Bulk("lsmd-memtable-bytes") +
                                                         Bulk(std::to_string(64 << 10)));
  // Several patterns: each parameter once, in the table's order.
  CHECK(Call(s, Req({"CONFIG", "GET", "lsmd-sync", "save", "*sync"})) ==
        Arr(4) + Bulk("save") + Bulk("") + Bulk("lsmd-sync") + Bulk("none"));
  CHECK(Call(s, Req({"CONFIG", "GET", "nothing"})) == Arr(0));
  CHECK(Call(s, Req({"CONFIG", "GET"})) == WrongArity("config|get"));
  CHECK(Call(s, Req({"CONFIG"})) == WrongArity("config"));
  CHECK(Call(s, Req({"CONFIG", "SET", "maxclients", "5"})) ==
        Err("ERR CONFIG SET is not supported: lsmd's settings are fixed at start (lsmd --help "
            "lists them)"));
  CHECK(Call(s, Req({"CONFIG", "RESETSTAT"})) == Err("ERR CONFIG RESETSTAT is not supported"));
  CHECK(Call(s, Req({"CONFIG", "Frob"})) == Err("ERR unknown subcommand 'Frob'. Try CONFIG HELP."));
}

TEST_CASE("COMMAND, COMMAND COUNT, INFO, DOCS") {
  TestNode node;
  RespSession s(node.shared());
  const size_t n = AllCommands().size();
  CHECK(n >= 34);  // the table grows; COMMAND reflects it, whatever its size
  CHECK(Call(s, Req({"COMMAND", "COUNT"})) == Int(int64_t(n)));
  const std::string get_entry = Arr(10) + Bulk("get") + Int(2) + Arr(2) + Simple("readonly") +
                                Simple("fast") + Int(1) + Int(1) + Int(1) + Arr(1) +
                                Simple("@string") + Arr(0) + Arr(0) + Arr(0);
  CHECK(Call(s, Req({"COMMAND", "INFO", "get"})) == Arr(1) + get_entry);
  CHECK(Call(s, Req({"command", "info", "GET", "nosuch", "mset"})) ==
        Arr(3) + get_entry + "*-1\r\n" + Arr(10) + Bulk("mset") + Int(-3) + Arr(2) +
            Simple("write") + Simple("denyoom") + Int(1) + Int(-1) + Int(2) + Arr(1) +
            Simple("@string") + Arr(0) + Arr(0) + Arr(0));
  // A command without flags has an empty flag array.
  CHECK(Call(s, Req({"COMMAND", "INFO", "client"})) ==
        Arr(1) + Arr(10) + Bulk("client") + Int(-2) + Arr(0) + Int(0) + Int(0) + Int(0) + Arr(1) +
            Simple("@connection") + Arr(0) + Arr(0) + Arr(0));
  Reply all = ReadOne(Call(s, Req({"COMMAND"})));
  REQUIRE(all.elements.size() == n);
  for (size_t i = 0; i < n; ++i) {
    CHECK(all.elements[i].elements.size() == 10);
    CHECK(all.elements[i].elements[0].text == AllCommands()[i].name);
    CHECK(all.elements[i].elements[1].integer == AllCommands()[i].arity);
  }
  CHECK(ReadOne(Call(s, Req({"COMMAND", "INFO"}))).elements.size() == n);

  CHECK(Call(s, Req({"COMMAND", "DOCS", "get"})) ==
        Arr(2) + Bulk("get") + Arr(6) + Bulk("summary") + Bulk("Returns the value of a key") +
            Bulk("since") + Bulk("1.0.0") + Bulk("group") + Bulk("string"));
  CHECK(Call(s, Req({"COMMAND", "DOCS", "stats", "nosuch"})) ==
        Arr(2) + Bulk("stats") + Arr(6) + Bulk("summary") + Bulk("Engine counters") +
            Bulk("since") + Bulk("0.1.0") + Bulk("group") + Bulk("server"));
  CHECK(ReadOne(Call(s, Req({"COMMAND", "DOCS"}))).elements.size() == 2 * n);
  CHECK(Call(s, Req({"COMMAND", "COUNT", "x"})) == WrongArity("command|count"));
  CHECK(Call(s, Req({"COMMAND", "FROB"})) ==
        Err("ERR unknown subcommand 'FROB'. Try COMMAND HELP."));
}

TEST_CASE("TIME") {
  TestNode node;
  RespSession s(node.shared());
  const int64_t before = int64_t(std::time(nullptr));
  Reply time = ReadOne(Call(s, Req({"TIME"})));
  const int64_t after = int64_t(std::time(nullptr));
  REQUIRE(time.elements.size() == 2);
  CHECK(time.elements[0].type == '$');
  CHECK(time.elements[1].type == '$');
  const auto seconds = Number(time.elements[0].text);
  const auto micros = Number(time.elements[1].text);
  REQUIRE(seconds.has_value());
  REQUIRE(micros.has_value());
  CHECK(*seconds >= before);
  CHECK(*seconds <= after);
  CHECK(*micros >= 0);
  CHECK(*micros < 1'000'000);
  CHECK(Call(s, Req({"TIME", "x"})) == WrongArity("time"));
}

TEST_CASE("SSTABLE.FLUSH, SSTABLE.LOOKUP, COMPACT, STATS") {
  TestNode node;
  RespSession s(node.shared());
  // An empty MemTable: no file.
  CHECK(Call(s, Req({"SSTABLE.FLUSH"})) ==
        Arr(14) + Bulk("sstable_file") + kNil + Bulk("entries") + Int(0) +
            Bulk("bloom_filter_bits") + Int(0) + Bulk("size_bytes") + Int(0) + Bulk("level") +
            Int(0) + Bulk("min_key") + kNil + Bulk("max_key") + kNil);
  CHECK(Call(s, Req({"MSET", "a", "1", "b", "2", "c", "3"})) == kOk);
  Reply flush = ReadOne(Call(s, Req({"sstable.flush"})));
  REQUIRE(flush.elements.size() == 14);
  REQUIRE(flush.Field("sstable_file") != nullptr);
  CHECK(flush.Field("sstable_file")->type == '$');
  CHECK(!flush.Field("sstable_file")->null);
  const std::string file = flush.Field("sstable_file")->text;
  CHECK(file.size() > 4);
  CHECK(flush.Field("entries")->integer == 3);
  CHECK(flush.Field("bloom_filter_bits")->integer > 0);
  CHECK(flush.Field("size_bytes")->integer > 0);
  CHECK(flush.Field("level")->integer == 0);
  CHECK(flush.Field("min_key")->text == "a");
  CHECK(flush.Field("max_key")->text == "c");

  CHECK(Call(s, Req({"SSTABLE.LOOKUP", file, "b"})) ==
        Arr(8) + Bulk("found") + Int(1) + Bulk("value") + Bulk("2") + Bulk("bloom_checked") +
            Int(1) + Bulk("disk_reads") + Int(1));
  Reply miss = ReadOne(Call(s, Req({"SSTABLE.LOOKUP", file, "zz"})));
  REQUIRE(miss.elements.size() == 8);
  CHECK(miss.Field("found")->integer == 0);
  CHECK(miss.Field("value")->null);
  CHECK(Call(s, Req({"SSTABLE.LOOKUP", "nosuch.sst", "b"})) ==
        Err("ERR no live SSTable named nosuch.sst"));
  CHECK(Call(s, Req({"SSTABLE.LOOKUP", file})) == WrongArity("sstable.lookup"));

  // memtable_size_bytes.
  CHECK(Call(s, Req({"SSTABLE.FLUSH", "0"})) ==
        Err("ERR memtable_size_bytes must be an integer from 1 to 1073741824"));
  CHECK(Call(s, Req({"SSTABLE.FLUSH", "x"})) ==
        Err("ERR memtable_size_bytes must be an integer from 1 to 1073741824"));
  CHECK(Call(s, Req({"SSTABLE.FLUSH", "1", "2"})) == WrongArity("sstable.flush"));
  CHECK(Call(s, Req({"SSTABLE.FLUSH", "1073741825"})).rfind("-ERR memtable_size_bytes", 0) == 0);
  CHECK(Call(s, Req({"SET", "d", "4"})) == kOk);
  flush = ReadOne(Call(s, Req({"SSTABLE.FLUSH", "65536"})));
  CHECK(flush.Field("entries")->integer == 1);
  Reply stats = ReadOne(Call(s, Req({"STATS"})));
  CHECK(stats.Field("memtable_threshold_bytes")->integer == 65536);
  CHECK(stats.Field("tables")->integer == 2);

  // COMPACT: levels as nested arrays of pairs.
  Reply compact = ReadOne(Call(s, Req({"COMPACT"})));
  REQUIRE(compact.elements.size() == 4);
  CHECK(compact.elements[0].text == "duration_ms");
  CHECK(compact.elements[1].type == ':');
  CHECK(compact.elements[2].text == "levels");
  const Reply& levels = compact.elements[3];
  CHECK(levels.type == '*');
  uint64_t files = 0;
  for (const Reply& level : levels.elements) {
    REQUIRE(level.elements.size() == 6);
    CHECK(level.elements[0].text == "level");
    CHECK(level.elements[2].text == "files");
    CHECK(level.elements[4].text == "bytes");
    files += uint64_t(level.elements[3].integer);
  }
  CHECK(files >= 1);
  CHECK(Call(s, Req({"COMPACT", "x"})) == WrongArity("compact"));
  CHECK(Call(s, Req({"MGET", "a", "b", "c", "d"})) ==
        Arr(4) + Bulk("1") + Bulk("2") + Bulk("3") + Bulk("4"));
  // The flushed table is merged away.
  CHECK(Call(s, Req({"SSTABLE.LOOKUP", file, "b"})) ==
        Err("ERR " + file + " is no longer live: compaction merged it into other tables"));

  stats = ReadOne(Call(s, Req({"STATS"})));
  const char* names[] = {"memtable_bytes",
                         "memtable_entries",
                         "memtable_threshold_bytes",
                         "frozen_memtables",
                         "flushes",
                         "flush_failures",
                         "write_stalls",
                         "write_slowdowns",
                         "bloom_negatives",
                         "bloom_false_positives",
                         "wal_bytes_written",
                         "sstable_bytes_written",
                         "compactions",
                         "compaction_bytes_read",
                         "compaction_bytes_written",
                         "tables"};
  REQUIRE(stats.elements.size() >= 2 * std::size(names));
  CHECK(stats.elements.size() % 2 == 0);
  for (size_t i = 0; i < std::size(names); ++i) {
    CHECK(stats.elements[2 * i].text == names[i]);
    CHECK(stats.elements[2 * i + 1].type == ':');
  }
  CHECK(stats.Field("flushes")->integer == 2);
  CHECK(stats.Field("compactions")->integer >= 1);
  CHECK(stats.Field("level0_files") != nullptr);
  CHECK(Call(s, Req({"STATS", "x"})) == WrongArity("stats"));
}

TEST_CASE("every command of the table answers, and refuses a wrong argument count") {
  TestNode node;
  for (const CommandSpec& spec : AllCommands()) {
    CAPTURE(spec.name);
    const size_t minimum = size_t(spec.arity >= 0 ? spec.arity : -spec.arity);
    // The fewest arguments it takes; names upper-cased as clients send them.
    std::vector<std::string> args = {std::string(spec.name)};
    for (char& c : args[0]) c = char(std::toupper(static_cast<unsigned char>(c)));
    for (size_t i = 1; i < minimum; ++i) args.push_back("x" + std::to_string(i));
    RespSession s(node.shared());
    const Fed fed = Feed(s, Req(args));
    CHECK(fed.consumed == Req(args).size());
    const Reply reply = ReadOne(fed.replies);
    CHECK(reply.text.rfind("ERR unknown command", 0) == std::string::npos);
    CHECK(reply.text.rfind("ERR wrong number", 0) == std::string::npos);
    if (spec.name == "quit") {
      CHECK(fed.last == Outcome::kClose);
    } else {
      CHECK(fed.last != Outcome::kClose);
    }
    // One argument too few (at least), or one too many (exactly).
    if (spec.arity >= 0) {
      args.push_back("extra");
    } else {
      if (minimum < 2) continue;
      args.pop_back();
    }
    RespSession t(node.shared());
    CHECK(Call(t, Req(args)) == WrongArity(spec.name));
  }
}

TEST_CASE("unknown commands and the refusal reply") {
  TestNode node;
  RespSession s(node.shared());
  CHECK(Call(s, Req({"FROB"})) == Err("ERR unknown command 'FROB', with args beginning with: "));
  CHECK(Call(s, Req({"frob", "a", "b c"})) ==
        Err("ERR unknown command 'frob', with args beginning with: 'a' 'b c' "));
  // CR and LF in an echoed name become spaces: the error stays one line.
  CHECK(Call(s, Req({"a\r\nb", "c\nd"})) ==
        Err("ERR unknown command 'a  b', with args beginning with: 'c d' "));
  // The name and arguments shown are clipped.
  const std::string reply = Call(s, Req({std::string(1000, 'n'), std::string(1000, 'a')}));
  CHECK(reply.size() < 700);
  CHECK(ReadOne(reply).type == '-');
  CHECK(s.RefusalReply("1000 open") == Err("ERR max number of clients reached (1000 open)"));
}

// ---- Framing: inline requests, pipelines, split requests, errors ----

TEST_CASE("inline commands") {
  TestNode node;
  RespSession s(node.shared());
  CHECK(Call(s, "PING\r\n") == Simple("PONG"));
  CHECK(Call(s, "ping\n") == Simple("PONG"));
  CHECK(Call(s, "SET k v\r\n") == kOk);
  CHECK(Call(s, "GET k\n") == Bulk("v"));
  CHECK(Call(s, "  GET   k  \r\n") == Bulk("v"));
  CHECK(Call(s, "SET \"a b\" \"x\\r\\ny\\x41\"\r\n") == kOk);
  CHECK(Call(s, Req({"GET", "a b"})) == Bulk("x\r\nyA"));
  CHECK(Call(s, "GET 'a b'\r\n") == Bulk("x\r\nyA"));
  CHECK(Call(s, "MGET k 'a b' nope\r\n") == Arr(3) + Bulk("v") + Bulk("x\r\nyA") + kNil);
  // Empty and blank lines are skipped without a reply.
  Fed fed = Feed(s, "\r\n");
  CHECK(fed.replies.empty());
  CHECK(fed.last == Outcome::kAnswered);
  CHECK(fed.consumed == 2);
  CHECK(Call(s, "   \n\n\r\nPING\r\n") == Simple("PONG"));
  // Ignored multibulk requests.
  CHECK(Call(s, "*0\r\n*-1\r\nPING\r\n") == Simple("PONG"));
  // An inline request without its newline waits, even at the end of input.
  fed = Feed(s, "PING", /*input_closed=*/false);
  CHECK(fed.last == Outcome::kNeedMore);
  fed = Feed(s, "PING", /*input_closed=*/true);
  CHECK(fed.last == Outcome::kNeedMore);
  CHECK(fed.replies.empty());
}

TEST_CASE("a pipeline of several requests in one buffer") {
  TestNode node;
  RespSession s(node.shared());
  const std::string input = Req({"SET", "p", "1"}) + "GET p\r\n" + Req({"SET", "p", "2", "GET"}) +
                            Req({"MSET", "q", "3", "r", "4"}) + "PING\r\n" +
                            Req({"MGET", "p", "q", "r"}) + Req({"DEL", "p", "q"}) +
                            Req({"EXISTS", "p", "q", "r"}) + Req({"ECHO", "done"});
  const Fed fed = Feed(s, input);
  CHECK(fed.consumed == input.size());
  CHECK(fed.outcomes.size() == 9);
  CHECK(fed.replies == kOk + Bulk("1") + Bulk("1") + kOk + Simple("PONG") + Arr(3) + Bulk("2") +
                           Bulk("3") + Bulk("4") + Int(2) + Int(1) + Bulk("done"));
  // A pipeline of transactions.
  const std::string tx = Req({"MULTI"}) + Req({"SET", "t", "1"}) + Req({"GET", "t"}) +
                         Req({"EXEC"}) + Req({"MULTI"}) + Req({"GETDEL", "t"}) + Req({"EXEC"});
  CHECK(Call(s, tx) ==
        kOk + kQueued + kQueued + Arr(2) + kOk + Bulk("1") + kOk + kQueued + Arr(1) + Bulk("1"));
}

// Feeds `input` as a connection receives it in reads of the given sizes: the
// unconsumed bytes stay in a buffer and each read is appended to them.
Fed FeedInReads(RespSession& s, std::string_view input, const std::vector<size_t>& cuts) {
  Fed total;
  std::string buffer;
  size_t next = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    const size_t end = i < cuts.size() ? cuts[i] : input.size();
    buffer.append(input.substr(next, end - next));
    next = end;
    Fed fed = Feed(s, buffer);
    total.replies += fed.replies;
    total.outcomes.insert(total.outcomes.end(), fed.outcomes.begin(), fed.outcomes.end());
    total.last = fed.last;
    total.consumed += fed.consumed;
    buffer.erase(0, fed.consumed);
    if (fed.last == Outcome::kClose || fed.last == Outcome::kFatal) break;
  }
  return total;
}

TEST_CASE("a request split at every byte needs more until it is complete") {
  TestNode node;
  RespSession s(node.shared());
  for (const std::string& request :
       {Req({"SET", "split", std::string("a\r\nb\0c", 6)}), std::string("SET split \"x y\"\r\n"),
        Req({"GET", "split"}), std::string("GET split\n"), Req({"MULTI"})}) {
    CAPTURE(request);
    for (size_t n = 0; n < request.size(); ++n) {
      std::string out;
      bool called = false;
      const Session::Step step = s.HandleNext(std::string_view(request).substr(0, n), false, &out,
                                              [&called](std::string) { called = true; });
      CHECK(step.outcome == Outcome::kNeedMore);
      CHECK(step.consumed == 0);
      CHECK(out.empty());
      CHECK(!called);
    }
    const Fed fed = Feed(s, request);
    CHECK(fed.consumed == request.size());
    CHECK(fed.last != Outcome::kNeedMore);
  }
  CHECK(Call(s, Req({"EXEC"})) == Arr(0));

  // A pipeline fed in two reads, split at every byte, and in one-byte reads:
  // the same replies as in one read. It leaves the store as it found it.
  const std::string pipeline = Req({"SET", "s1", "v\r\n1"}) + "GET s1\r\n" + Req({"MULTI"}) +
                               Req({"SET", "s2", "2"}) + Req({"MGET", "s1", "s2"}) + Req({"EXEC"}) +
                               "PING \"a b\"\r\n" + Req({"DEL", "s1", "s2"}) +
                               Req({"EXISTS", "s1"});
  const std::string expected = kOk + Bulk("v\r\n1") + kOk + kQueued + kQueued + Arr(2) + kOk +
                               Arr(2) + Bulk("v\r\n1") + Bulk("2") + Bulk("a b") + Int(2) + Int(0);
  CHECK(Call(s, pipeline) == expected);
  for (size_t cut = 0; cut <= pipeline.size(); ++cut) {
    CAPTURE(cut);
    RespSession t(node.shared());
    const Fed fed = FeedInReads(t, pipeline, {cut});
    CHECK(fed.replies == expected);
    CHECK(fed.consumed == pipeline.size());
  }
  std::vector<size_t> every_byte;
  for (size_t i = 1; i < pipeline.size(); ++i) every_byte.push_back(i);
  RespSession t(node.shared());
  const Fed fed = FeedInReads(t, pipeline, every_byte);
  CHECK(fed.replies == expected);
  CHECK(fed.consumed == pipeline.size());
}

TEST_CASE("a protocol error is fatal, with the error as the last reply") {
  TestNode node;
  struct Case {
    std::string input;
    std::string error;
  };
  const Case cases[] = {
      {"*1\r\n$x\r\n", "ERR Protocol error: invalid bulk length"},
      {"*2\r\n$3\r\nGET\r\nfoo\r\n", "ERR Protocol error: expected '$', got 'f'"},
      {"*x\r\n", "ERR Protocol error: invalid multibulk length"},
      {"*1\r\n$3\r\nGETxx", "ERR Protocol error: expected CRLF after bulk data"},
      {"SET \"a b\r\n", "ERR Protocol error: unbalanced quotes in request"},
      {"SET 'a'b c\r\n", "ERR Protocol error: unbalanced quotes in request"},
      {std::string(70 * 1024, 'a'), "ERR Protocol error: too big inline request"},
      {"*" + std::string(70 * 1024, '1'), "ERR Protocol error: too big mbulk count string"},
      {"*1\r\n$536870913\r\n", "ERR Protocol error: invalid bulk length"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.error);
    RespSession s(node.shared());
    // After a good request, and alone.
    const std::string input = Req({"PING"}) + c.input;
    const Fed fed = Feed(s, input);
    CHECK(fed.last == Outcome::kFatal);
    CHECK(fed.replies == Simple("PONG") + Err(c.error));
    CHECK(fed.consumed == input.size());
    RespSession t(node.shared());
    std::string out;
    const Session::Step step = t.HandleNext(c.input, false, &out, [](std::string) {});
    CHECK(step.outcome == Outcome::kFatal);
    CHECK(step.consumed == c.input.size());
    CHECK(out == Err(c.error));
  }
  // Inside MULTI too; the queue is not run.
  RespSession s(node.shared());
  const Fed fed = Feed(s, Req({"MULTI"}) + Req({"SET", "pe", "1"}) + "*1\r\n$-5\r\n");
  CHECK(fed.replies == kOk + kQueued + Err("ERR Protocol error: invalid bulk length"));
  CHECK(fed.last == Outcome::kFatal);
  RespSession t(node.shared());
  CHECK(Call(t, Req({"GET", "pe"})) == kNil);
}

TEST_CASE("every reply type, byte for byte") {
  TestNode node;
  RespSession s(node.shared());
  CHECK(Call(s, Req({"PING"})) == "+PONG\r\n");                                 // simple string
  CHECK(Call(s, Req({"SELECT", "9"})) == "-ERR DB index is out of range\r\n");  // error
  CHECK(Call(s, Req({"SETNX", "k", "v"})) == ":1\r\n");                         // integer
  CHECK(Call(s, Req({"GET", "k"})) == "$1\r\nv\r\n");                           // bulk
  CHECK(Call(s, Req({"SET", "e", ""})) == "+OK\r\n");
  CHECK(Call(s, Req({"GET", "e"})) == "$0\r\n\r\n");                         // empty bulk
  CHECK(Call(s, Req({"GET", "none"})) == "$-1\r\n");                         // null bulk
  CHECK(Call(s, Req({"MGET", "k", "none"})) == "*2\r\n$1\r\nv\r\n$-1\r\n");  // array
  CHECK(Call(s, Req({"KEYS", "zz*"})) == "*0\r\n");                          // empty array
  CHECK(Call(s, Req({"COMMAND", "INFO", "zz"})) == "*1\r\n*-1\r\n");         // null array
  CHECK(Call(s, Req({"SCAN", "0", "MATCH", "k"})) ==
        "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n");  // nested
  CHECK(Call(s, Req({"STRLEN", "none"})) == ":0\r\n");
  CHECK(Call(s, "MULTI\r\nEXISTS k\r\nEXEC\r\n") == "+OK\r\n+QUEUED\r\n*1\r\n:1\r\n");
}

}  // namespace
}  // namespace lsmd::proto::resp
