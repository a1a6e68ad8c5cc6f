// The reply budget (--max-reply-bytes, proto/command.h's ReplyBudget) on
// every command it bounds, through the real codecs over a real engine: the
// JSON scan stops early with more: true, RESP SCAN returns a short page and a
// cursor, KEYS and MGET fail, and a transaction's results past the budget are
// errors. Each test sets a small budget and checks a reply that an unbounded
// server would make larger, so removing the bound fails it.
#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/db.h"
#include "core/options.h"
#include "proto/dispatcher.h"
#include "proto/executor.h"
#include "proto/resp/resp_session.h"
#include "test_util.h"

namespace lsmd::proto {
namespace {

namespace json = boost::json;

// An engine, one executor with the given budget, and both codecs on it.
class BudgetNode {
 public:
  explicit BudgetNode(size_t max_reply_bytes) {
    REQUIRE(!dir_.path().empty());
    Options options;
    options.sync = SyncMode::kNone;
    Result<std::unique_ptr<DB>> db = DB::Open(options, dir_.path());
    REQUIRE_MESSAGE(db.ok(), db.status().ToString());
    db_ = std::move(*db);
    executor_ = std::make_unique<CommandExecutor>(db_.get(), max_reply_bytes);
    dispatcher_ = std::make_unique<Dispatcher>(*executor_, "n1");
    shared_ = std::make_unique<resp::RespShared>(*executor_, resp::ServerFacts{}, clients_,
                                                 resp::ParserLimits{});
    session_ = std::make_unique<resp::RespSession>(*shared_);
  }
  ~BudgetNode() {
    session_.reset();
    shared_.reset();
    dispatcher_.reset();
    executor_.reset();
    db_.reset();
  }

  DB& db() { return *db_; }
  CommandExecutor& executor() { return *executor_; }

  void Put(const std::string& key, const std::string& value) { REQUIRE(db_->Put(key, value).ok()); }

  // One JSON line in, its reply line out.
  std::string Json(std::string_view line) {
    std::promise<std::string> reply;
    std::future<std::string> future = reply.get_future();
    dispatcher_->Handle(line, [&reply](std::string text) { reply.set_value(std::move(text)); });
    REQUIRE(future.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    return future.get();
  }

  // One RESP request (its arguments) in, its reply bytes out.
  std::string Resp(const std::vector<std::string>& args) {
    std::string request = "*" + std::to_string(args.size()) + "\r\n";
    for (const std::string& arg : args) {
      request += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
    }
    std::string out;
    auto deferred = std::make_shared<std::promise<std::string>>();
    std::future<std::string> future = deferred->get_future();
    Session::Step step = session_->HandleNext(
        request, false, &out, [deferred](std::string reply) { deferred->set_value(reply); });
    REQUIRE(step.consumed == request.size());
    if (step.outcome == Session::Outcome::kDeferred) {
      REQUIRE(future.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
      return future.get();
    }
    return out;
  }

 private:
  testing::TempDir dir_;
  std::unique_ptr<DB> db_;
  std::unique_ptr<CommandExecutor> executor_;
  std::unique_ptr<Dispatcher> dispatcher_;
  resp::ClientCounters clients_;
  std::unique_ptr<resp::RespShared> shared_;
  std::unique_ptr<resp::RespSession> session_;
};

std::string Key(int i) {
  char name[16];
  std::snprintf(name, sizeof(name), "k%03d", i);
  return name;
}

std::string Bulk(std::string_view data) {
  return "$" + std::to_string(data.size()) + "\r\n" + std::string(data) + "\r\n";
}

// The keys of a RESP array of bulk strings starting at bytes[*pos]; *pos
// moves past it.
std::vector<std::string> ReadBulkArray(const std::string& bytes, size_t* pos) {
  REQUIRE(bytes[*pos] == '*');
  size_t eol = bytes.find("\r\n", *pos);
  const int n = std::stoi(bytes.substr(*pos + 1, eol - *pos - 1));
  *pos = eol + 2;
  std::vector<std::string> items;
  for (int i = 0; i < n; ++i) {
    REQUIRE(bytes[*pos] == '$');
    eol = bytes.find("\r\n", *pos);
    const size_t len = std::stoul(bytes.substr(*pos + 1, eol - *pos - 1));
    items.push_back(bytes.substr(eol + 2, len));
    *pos = eol + 2 + len + 2;
  }
  return items;
}

// A SCAN reply: the cursor and the keys.
std::pair<std::string, std::vector<std::string>> ReadScan(const std::string& bytes) {
  REQUIRE(bytes.rfind("*2\r\n", 0) == 0);
  size_t pos = 4;
  const size_t eol = bytes.find("\r\n", pos);
  const size_t len = std::stoul(bytes.substr(pos + 1, eol - pos - 1));
  std::string cursor = bytes.substr(eol + 2, len);
  pos = eol + 2 + len + 2;
  std::vector<std::string> keys = ReadBulkArray(bytes, &pos);
  CHECK(pos == bytes.size());
  return {cursor, keys};
}

TEST_CASE("ReplyBudget: the first bytes always fit, then nothing past the maximum") {
  ReplyBudget budget(100);
  CHECK(budget.Take(0));
  CHECK(budget.used() == 0);
  CHECK(budget.Take(60));
  CHECK(budget.Take(40));
  CHECK_FALSE(budget.Take(1));
  CHECK(budget.Take(0));
  CHECK(budget.used() == 100);

  ReplyBudget huge_first(100);
  CHECK(huge_first.Take(1000));  // one entry over the budget still goes out alone
  CHECK_FALSE(huge_first.Take(1));

  ReplyBudget refused(100);
  CHECK(refused.Take(90));
  CHECK_FALSE(refused.Take(11));  // refused without counting anything
  CHECK(refused.used() == 90);
  CHECK(refused.Take(10));
}

TEST_CASE(
    "the executor's scan stops at the budget, and the next page starts at the entry left out") {
  BudgetNode node(250);  // two entries of 4 + 100 bytes fit, not three
  for (int i = 0; i < 10; ++i) node.Put(Key(i), std::string(100, 'a' + i));

  ScanCommand scan;
  scan.limit = 100;
  std::optional<CommandResult> result = node.executor().Execute(scan, nullptr);
  REQUIRE(result.has_value());
  ScanResult page = std::get<ScanResult>(*result);
  REQUIRE(page.entries.size() == 2);
  CHECK(page.entries[0].first == "k000");
  CHECK(page.entries[1].first == "k001");
  CHECK(page.more);

  // Paging as a client does, from the last key returned plus "\0": every
  // entry once, in order, never more than the budget in a page.
  std::vector<std::string> seen;
  std::string start;
  for (bool more = true; more;) {
    ScanCommand next;
    next.start = start;
    next.limit = 100;
    ScanResult got = std::get<ScanResult>(*node.executor().Execute(next, nullptr));
    size_t bytes = 0;
    for (const auto& [key, value] : got.entries) {
      seen.push_back(key);
      bytes += key.size() + value.size();
    }
    CHECK(bytes <= 250);
    REQUIRE(!got.entries.empty());
    start = got.entries.back().first + '\0';
    more = got.more;
  }
  REQUIRE(seen.size() == 10);
  for (int i = 0; i < 10; ++i) CHECK(seen[i] == Key(i));

  // The limit still counts entries: under the budget it is what stops.
  ScanCommand one;
  one.limit = 1;
  CHECK(std::get<ScanResult>(*node.executor().Execute(one, nullptr)).entries.size() == 1);
}

TEST_CASE("an entry larger than the whole budget is returned alone, so paging always advances") {
  BudgetNode node(50);
  node.Put("a", std::string(10, 'x'));
  node.Put("b", std::string(500, 'y'));
  node.Put("c", std::string(10, 'z'));

  ScanCommand from_b;
  from_b.start = "b";
  ScanResult page = std::get<ScanResult>(*node.executor().Execute(from_b, nullptr));
  REQUIRE(page.entries.size() == 1);
  CHECK(page.entries[0].first == "b");
  CHECK(page.entries[0].second.size() == 500);
  CHECK(page.more);

  ScanResult all = std::get<ScanResult>(*node.executor().Execute(ScanCommand{}, nullptr));
  REQUIRE(all.entries.size() == 1);  // "a" fits; "b" would pass the budget
  CHECK(all.entries[0].first == "a");
  CHECK(all.more);
}

TEST_CASE("JSON scan: past the budget the reply stops early with more: true") {
  BudgetNode node(20);  // the payload of two entries of 1 + 9 bytes
  for (char c = 'a'; c <= 'e'; ++c) node.Put(std::string(1, c), std::string(9, c));

  CHECK(
      node.Json(R"({"type":"scan","msg_id":1})") ==
      R"({"type": "scan_ok", "in_reply_to": 1, "msg_id": 0, "entries": [["a", "aaaaaaaaa"], ["b", "bbbbbbbbb"]], "more": true})");
  // The documented continuation: the last key returned followed by \u0000.
  CHECK(
      node.Json(R"({"type":"scan","msg_id":2,"start":"b\u0000"})") ==
      R"({"type": "scan_ok", "in_reply_to": 2, "msg_id": 1, "entries": [["c", "ccccccccc"], ["d", "ddddddddd"]], "more": true})");
  CHECK(
      node.Json(R"({"type":"scan","msg_id":3,"start":"d\u0000"})") ==
      R"({"type": "scan_ok", "in_reply_to": 3, "msg_id": 2, "entries": [["e", "eeeeeeeee"]], "more": false})");
  // The end bound and the limit work as before within the budget.
  CHECK(node.Json(R"({"type":"scan","start":"b","end":"c"})") ==
        R"({"type": "scan_ok", "msg_id": 3, "entries": [["b", "bbbbbbbbb"]], "more": false})");
  CHECK(node.Json(R"({"type":"scan","limit":1})") ==
        R"({"type": "scan_ok", "msg_id": 4, "entries": [["a", "aaaaaaaaa"]], "more": true})");
}

TEST_CASE("JSON scan of large values: every page is under the budget plus one entry") {
  constexpr size_t kBudget = 64 << 10;
  BudgetNode node(kBudget);
  const std::string value(10 << 10, 'v');
  for (int i = 0; i < 100; ++i) node.Put(Key(i), value);  // 1 MiB in all

  std::string start;
  int pages = 0;
  std::set<std::string> seen;
  for (bool more = true; more; ++pages) {
    std::string line = R"({"type":"scan","limit":10000)";
    if (!start.empty()) line += R"(,"start":")" + start + R"(\u0000")";
    const std::string reply = node.Json(line + "}");
    CHECK(reply.size() < kBudget + 1024);
    json::object body = json::parse(reply).as_object();
    const json::array& entries = body.at("entries").as_array();
    REQUIRE(!entries.empty());
    for (const json::value& entry : entries) seen.emplace(entry.at(0).as_string());
    start = std::string(entries.back().at(0).as_string());
    more = body.at("more").as_bool();
  }
  CHECK(seen.size() == 100);
  CHECK(pages >= 100 * value.size() / kBudget);
}

TEST_CASE("RESP SCAN: a page stops at the budget of key bytes and its cursor continues") {
  BudgetNode node(250);  // two keys of 100 bytes fit in a page, not three
  std::vector<std::string> keys;
  for (int i = 0; i < 9; ++i) {
    keys.push_back(Key(i) + std::string(96, 'k'));
    node.Put(keys.back(), "v");
  }
  auto [cursor, page] = ReadScan(node.Resp({"SCAN", "0", "COUNT", "1000"}));
  CHECK(page == std::vector<std::string>{keys[0], keys[1]});
  CHECK(cursor != "0");

  std::vector<std::string> seen = page;
  while (cursor != "0") {
    auto [next, more_keys] = ReadScan(node.Resp({"SCAN", cursor, "COUNT", "1000"}));
    CHECK(more_keys.size() <= 2);
    seen.insert(seen.end(), more_keys.begin(), more_keys.end());
    cursor = next;
  }
  CHECK(seen == keys);  // each key once, in order

  // MATCH: keys that do not match cost nothing.
  auto [match_cursor, matched] = ReadScan(node.Resp({"SCAN", "0", "MATCH", "k00[357]*"}));
  CHECK(matched == std::vector<std::string>{keys[3], keys[5]});
  auto [end_cursor, rest] = ReadScan(node.Resp({"SCAN", match_cursor, "MATCH", "k00[357]*"}));
  CHECK(rest == std::vector<std::string>{keys[7]});
  CHECK(end_cursor == "0");

  // COUNT 1 over keys that do not match still advances a key a call.
  std::string one_cursor = "0";
  int calls = 0;
  do {
    auto [next, none] = ReadScan(node.Resp({"SCAN", one_cursor, "COUNT", "1", "MATCH", "*zz"}));
    CHECK(none.empty());
    one_cursor = next;
  } while (one_cursor != "0" && ++calls < 100);
  CHECK(calls == 8);  // nine keys, one a call; the last call answers "0"
}

TEST_CASE("RESP KEYS: a reply over the budget is an error, under it every key") {
  BudgetNode node(250);
  for (int i = 0; i < 5; ++i) node.Put(Key(i) + std::string(96, 'k'), "v");
  node.Put("small:1", "v");
  node.Put("small:2", "v");
  CHECK(node.Resp({"KEYS", "k*"}) ==
        "-ERR reply larger than max-reply-bytes (250 bytes of keys and values): use SCAN to page "
        "through the keys\r\n");
  CHECK(node.Resp({"KEYS", "small:*"}) == "*2\r\n" + Bulk("small:1") + Bulk("small:2"));
  CHECK(node.Resp({"KEYS", "k00[12]*"}) ==
        "*2\r\n" + Bulk(Key(1) + std::string(96, 'k')) + Bulk(Key(2) + std::string(96, 'k')));
}

TEST_CASE("RESP KEYS walks past one engine page of keys within the budget") {
  BudgetNode node(1 << 20);
  for (int i = 0; i < 12000; ++i) node.Put("key:" + std::to_string(100000 + i), "v");
  const std::string reply = node.Resp({"KEYS", "key:*"});
  CHECK(reply.rfind("*12000\r\n", 0) == 0);
}

TEST_CASE("RESP MGET: values over the budget together are an error, one value always fits") {
  BudgetNode node(250);
  const std::string big(200, 'b');
  node.Put("big1", big);
  node.Put("big2", big);
  node.Put("small", "s");
  CHECK(node.Resp({"MGET", "big1", "big2"}) ==
        "-ERR reply larger than max-reply-bytes (250 bytes of keys and values)\r\n");
  CHECK(node.Resp({"MGET", "big1", "small", "nobody"}) ==
        "*3\r\n" + Bulk(big) + Bulk("s") + "$-1\r\n");
  node.Put("huge", std::string(1000, 'h'));
  CHECK(node.Resp({"MGET", "huge"}) == "*1\r\n" + Bulk(std::string(1000, 'h')));
  CHECK(node.Resp({"MGET", "huge", "small"}).rfind("-ERR reply larger", 0) == 0);
  // GET is one value: never refused.
  CHECK(node.Resp({"GET", "huge"}) == Bulk(std::string(1000, 'h')));
}

TEST_CASE("RESP EXEC: the result that passes the budget is an error, the rest runs") {
  BudgetNode node(250);
  const std::string big(200, 'b');
  node.Put("big1", big);
  node.Put("big2", big);
  CHECK(node.Resp({"MULTI"}) == "+OK\r\n");
  CHECK(node.Resp({"GET", "big1"}) == "+QUEUED\r\n");
  CHECK(node.Resp({"GET", "big2"}) == "+QUEUED\r\n");
  CHECK(node.Resp({"SET", "written", "yes"}) == "+QUEUED\r\n");
  CHECK(node.Resp({"GET", "written"}) == "+QUEUED\r\n");
  CHECK(node.Resp({"EXEC"}) ==
        "*4\r\n" + Bulk(big) +
            "-ERR reply larger than max-reply-bytes (250 bytes of keys and values)\r\n+OK\r\n" +
            Bulk("yes"));
  CHECK(node.Resp({"GET", "written"}) == Bulk("yes"));

  // MGET inside EXEC counts against the transaction's budget too.
  CHECK(node.Resp({"MULTI"}) == "+OK\r\n");
  CHECK(node.Resp({"GET", "big1"}) == "+QUEUED\r\n");
  CHECK(node.Resp({"MGET", "written", "big2"}) == "+QUEUED\r\n");
  CHECK(node.Resp({"MGET", "written"}) == "+QUEUED\r\n");
  CHECK(node.Resp({"EXEC"}) ==
        "*3\r\n" + Bulk(big) +
            "-ERR reply larger than max-reply-bytes (250 bytes of keys and values)\r\n*1\r\n" +
            Bulk("yes"));
}

}  // namespace
}  // namespace lsmd::proto
