// The dispatcher against a real engine in a temporary directory: every
// message and its reply, as a client sees them.
#include "proto/dispatcher.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace lsmd::proto {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

// tests/data/seed, next to this file's directory.
const fs::path kSeedDir = fs::path(__FILE__).parent_path().parent_path() / "data" / "seed";

// A DB in a fresh temporary directory with a Dispatcher in front of it.
class TestNode {
 public:
  explicit TestNode(size_t memtable_bytes = 64 << 10) {
    std::string pattern = (fs::temp_directory_path() / "lsmd_dispatcher_test_XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    Options options;
    options.memtable_bytes = memtable_bytes;
    options.sync = SyncMode::kNone;
    Result<std::unique_ptr<DB>> db = DB::Open(options, dir_.string());
    REQUIRE_MESSAGE(db.ok(), db.status().ToString());
    db_ = std::move(*db);
    dispatcher_ = std::make_unique<Dispatcher>(db_.get(), "n0");
  }
  ~TestNode() {
    dispatcher_.reset();
    db_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Sends one line and waits for its reply; the reply must come exactly once.
  std::string Call(std::string_view line) {
    auto calls = std::make_shared<std::atomic<int>>(0);
    auto reply = std::make_shared<std::promise<std::string>>();
    std::future<std::string> future = reply->get_future();
    dispatcher_->Handle(line, [calls, reply](std::string text) {
      if (calls->fetch_add(1) == 0) reply->set_value(std::move(text));
    });
    // A generous bound only so a lost reply fails instead of hanging.
    REQUIRE(future.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
    std::string text = future.get();
    CHECK(calls->load() == 1);
    CHECK(text.find('\n') == std::string::npos);
    return text;
  }

  // Sends a line and returns the reply's body, parsed.
  json::object CallBody(std::string_view line) {
    json::value reply = json::parse(Call(line));
    if (reply.as_object().contains("body")) return reply.at("body").as_object();
    return reply.as_object();
  }

  Dispatcher& dispatcher() { return *dispatcher_; }
  DB& db() { return *db_; }

 private:
  fs::path dir_;
  std::unique_ptr<DB> db_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

std::string Str(const json::object& body, std::string_view field) {
  return std::string(body.at(field).as_string());
}

std::vector<std::string> ReadLines(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

TEST_CASE("the seed cases' lines produce the expected init_ok bytes") {
  for (const char* name : {"01-flush-creates-sstable", "02-lookup-existing-key"}) {
    CAPTURE(name);
    TestNode node;
    std::vector<std::string> replies;
    for (const std::string& line : ReadLines(kSeedDir / (std::string(name) + ".in"))) {
      replies.push_back(node.Call(line));
    }
    // Each expected line appears, in order (other clients' replies between).
    size_t next = 0;
    for (const std::string& expected : ReadLines(kSeedDir / (std::string(name) + ".expected"))) {
      while (next < replies.size() && replies[next] != expected) ++next;
      CHECK_MESSAGE(next < replies.size(), "missing: " << expected);
      ++next;
    }
    CHECK(
        replies[0] ==
        R"({"src": "n1", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 1, "msg_id": 0}})");
  }
}

TEST_CASE("reply msg_ids count from 0, before init the default node id answers") {
  TestNode node;
  CHECK(
      node.Call(R"({"src":"c1","dest":"n0","body":{"type":"get","msg_id":5,"key":"a"}})") ==
      R"({"src": "n0", "dest": "c1", "body": {"type": "get_ok", "in_reply_to": 5, "msg_id": 0, "found": false}})");
  CHECK(node.Call(R"({"type":"get","key":"a"})") ==
        R"({"type": "get_ok", "msg_id": 1, "found": false})");
  CHECK(
      node.Call(
          R"({"src":"c0","dest":"n7","body":{"type":"init","msg_id":1,"node_id":"n7","node_ids":["n7"]}})") ==
      R"({"src": "n7", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 1, "msg_id": 2}})");
  CHECK(node.dispatcher().node_id() == "n7");
  CHECK(
      node.Call(
          R"({"src":"c2","dest":"n7","body":{"type":"put","msg_id":9,"key":"a","value":"1"}})") ==
      R"({"src": "n7", "dest": "c2", "body": {"type": "put_ok", "in_reply_to": 9, "msg_id": 3}})");
}

TEST_CASE("put then get, delete then get") {
  TestNode node;
  CHECK(node.Call(R"({"type":"put","msg_id":1,"key":"user:42","value":"Alice"})") ==
        R"({"type": "put_ok", "in_reply_to": 1, "msg_id": 0})");
  CHECK(node.Call(R"({"type":"get","msg_id":2,"key":"user:42"})") ==
        R"({"type": "get_ok", "in_reply_to": 2, "msg_id": 1, "found": true, "value": "Alice"})");
  CHECK(node.Call(R"({"type":"put","msg_id":3,"key":"user:42","value":"Bob"})") ==
        R"({"type": "put_ok", "in_reply_to": 3, "msg_id": 2})");
  CHECK(Str(node.CallBody(R"({"type":"get","key":"user:42"})"), "value") == "Bob");
  CHECK(node.Call(R"({"type":"delete","msg_id":4,"key":"user:42"})") ==
        R"({"type": "delete_ok", "in_reply_to": 4, "msg_id": 4})");
  CHECK(node.Call(R"({"type":"get","msg_id":5,"key":"user:42"})") ==
        R"({"type": "get_ok", "in_reply_to": 5, "msg_id": 5, "found": false})");
  // Deleting a key that never existed is fine too.
  CHECK(Str(node.CallBody(R"({"type":"delete","key":"never"})"), "type") == "delete_ok");
}

// The server answers reads without a callback round trip (HandleOrDefer);
// it relies on reads coming back inline and writes coming back exactly once
// through `later`, never both.
TEST_CASE("HandleOrDefer answers reads inline and writes through the callback") {
  TestNode node;
  auto later_calls = std::make_shared<std::atomic<int>>(0);
  auto put_reply = std::make_shared<std::promise<std::string>>();
  std::future<std::string> put_future = put_reply->get_future();
  std::optional<std::string> inline_reply =
      node.dispatcher().HandleOrDefer(R"({"type":"put","msg_id":1,"key":"k","value":"v"})", nullptr,
                                      [later_calls, put_reply](std::string text) {
                                        if (later_calls->fetch_add(1) == 0)
                                          put_reply->set_value(std::move(text));
                                      });
  CHECK_FALSE(inline_reply.has_value());
  REQUIRE(put_future.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  CHECK(put_future.get() == R"({"type": "put_ok", "in_reply_to": 1, "msg_id": 0})");

  // The put was acknowledged, so an inline get sees it.
  auto unexpected = [later_calls](std::string) { later_calls->fetch_add(100); };
  inline_reply =
      node.dispatcher().HandleOrDefer(R"({"type":"get","msg_id":2,"key":"k"})", nullptr,
                                        unexpected);
  REQUIRE(inline_reply.has_value());
  CHECK(*inline_reply ==
        R"({"type": "get_ok", "in_reply_to": 2, "msg_id": 1, "found": true, "value": "v"})");
  // Errors are answered inline too.
  inline_reply = node.dispatcher().HandleOrDefer("not json", nullptr, unexpected);
  REQUIRE(inline_reply.has_value());
  CHECK(inline_reply->find("\"code\": 12") != std::string::npos);
  CHECK(later_calls->load() == 1);
}

TEST_CASE("keys and values with \\u0000, quotes and non-ASCII round-trip") {
  TestNode node;
  CHECK(Str(node.CallBody(R"({"type":"put","key":"k\u0000\"\u00e9","value":"v\u0000\n\u6f22"})"),
            "type") == "put_ok");
  CHECK(node.Call(R"({"type":"get","key":"k\u0000\"\u00e9"})") ==
        "{\"type\": \"get_ok\", \"msg_id\": 1, \"found\": true, \"value\": "
        "\"v\\u0000\\n\xE6\xBC\xA2\"}");
  CHECK(node.CallBody(R"({"type":"get","key":"k"})").at("found") == false);
  json::object scan = node.CallBody(R"({"type":"scan"})");
  REQUIRE(scan.at("entries").as_array().size() == 1);
  CHECK(scan.at("entries").at(0).at(0).as_string() == std::string_view("k\0\"\xC3\xA9", 5));
}

TEST_CASE("scan honours start, end, limit and reports more") {
  TestNode node;
  for (const char* key : {"a", "b", "c", "d", "e"}) {
    node.Call(std::string(R"({"type":"put","key":")") + key + R"(","value":")" + key + key + "\"}");
  }
  CHECK(
      node.Call(R"({"type":"scan","msg_id":1,"start":"b","end":"e"})") ==
      R"({"type": "scan_ok", "in_reply_to": 1, "msg_id": 5, "entries": [["b", "bb"], ["c", "cc"], ["d", "dd"]], "more": false})");
  CHECK(
      node.Call(R"({"type":"scan","msg_id":2,"start":"b","limit":2})") ==
      R"({"type": "scan_ok", "in_reply_to": 2, "msg_id": 6, "entries": [["b", "bb"], ["c", "cc"]], "more": true})");
  json::object all = node.CallBody(R"({"type":"scan"})");
  CHECK(all.at("entries").as_array().size() == 5);
  CHECK(all.at("more") == false);
  json::object last = node.CallBody(R"({"type":"scan","start":"d","limit":2})");
  CHECK(last.at("entries").as_array().size() == 2);
  CHECK(last.at("more") == false);
  // An end at or before start is an empty range, "" included.
  for (const char* range :
       {R"("start":"c","end":"c")", R"("start":"d","end":"b")", R"("end":"")"}) {
    json::object empty = node.CallBody(std::string(R"({"type":"scan",)") + range + "}");
    CHECK(empty.at("entries").as_array().empty());
    CHECK(empty.at("more") == false);
  }
  // Deleted keys are not listed.
  node.Call(R"({"type":"delete","key":"c"})");
  json::object after = node.CallBody(R"({"type":"scan","start":"b","end":"e"})");
  CHECK(json::serialize(after.at("entries")) == R"([["b","bb"],["d","dd"]])");
}

TEST_CASE("sstable_flush writes a table that sstable_lookup reads") {
  TestNode node;
  for (int i = 0; i < 20; ++i) {
    node.Call(R"({"type":"put","key":"user:)" + std::to_string(10 + i) + R"(","value":"v)" +
              std::to_string(i) + "\"}");
  }
  json::object flush = node.CallBody(R"({"type":"sstable_flush","msg_id":2})");
  REQUIRE(Str(flush, "type") == "sstable_flush_ok");
  const std::string file = Str(flush, "sstable_file");
  CHECK(file.find(".sst") != std::string::npos);
  CHECK(flush.at("entries").to_number<uint64_t>() == 20);
  CHECK(flush.at("bloom_filter_bits").to_number<uint64_t>() > 0);
  CHECK(flush.at("size_bytes").to_number<uint64_t>() > 0);
  CHECK(flush.at("level").to_number<int>() == 0);
  CHECK(Str(flush, "min_key") == "user:10");
  CHECK(Str(flush, "max_key") == "user:29");

  json::object hit = node.CallBody(R"({"type":"sstable_lookup","msg_id":3,"sstable":")" + file +
                                   R"(","key":"user:12"})");
  CHECK(Str(hit, "type") == "sstable_lookup_ok");
  CHECK(hit.at("in_reply_to") == 3);
  CHECK(hit.at("found") == true);
  CHECK(Str(hit, "value") == "v2");
  CHECK(hit.at("bloom_checked") == true);
  CHECK(hit.at("disk_reads") == 1);

  json::object miss =
      node.CallBody(R"({"type":"sstable_lookup","sstable":")" + file + R"(","key":"user:99"})");
  CHECK(Str(miss, "type") == "sstable_lookup_ok");
  CHECK(miss.at("found") == false);
  CHECK_FALSE(miss.contains("value"));
  CHECK(miss.at("bloom_checked") == true);

  // The flushed data is still served by get.
  CHECK(Str(node.CallBody(R"({"type":"get","key":"user:29"})"), "value") == "v19");
}

TEST_CASE("flushing an empty MemTable reports nulls and zeros") {
  TestNode node;
  CHECK(
      node.Call(R"({"type":"sstable_flush","msg_id":1})") ==
      R"({"type": "sstable_flush_ok", "in_reply_to": 1, "msg_id": 0, "sstable_file": null, "entries": 0, "bloom_filter_bits": 0, "size_bytes": 0, "level": 0, "min_key": null, "max_key": null})");
}

TEST_CASE("memtable_size_bytes becomes the flush threshold") {
  TestNode node;
  CHECK(Str(node.CallBody(R"({"type":"sstable_flush","memtable_size_bytes":4194304})"), "type") ==
        "sstable_flush_ok");
  CHECK(node.db().GetStats().memtable_threshold_bytes == 4194304);
  json::object refused = node.CallBody(R"({"type":"sstable_flush","memtable_size_bytes":0})");
  CHECK(refused.at("code") == 12);
  CHECK(node.db().GetStats().memtable_threshold_bytes == 4194304);
}

TEST_CASE("sstable_lookup of anything but a live table's name is error 20") {
  TestNode node;
  node.Call(R"({"type":"put","key":"a","value":"1"})");
  REQUIRE(Str(node.CallBody(R"({"type":"sstable_flush"})"), "sstable_file") == "L0_001.sst");
  for (const char* name : {"../L0_001.sst", "/etc/passwd", "L0_999.sst", "", "./L0_001.sst"}) {
    CAPTURE(name);
    json::object reply =
        node.CallBody(std::string(R"({"type":"sstable_lookup","msg_id":8,"sstable":")") + name +
                      R"(","key":"a"})");
    CHECK(Str(reply, "type") == "error");
    CHECK(reply.at("code") == 20);
    CHECK(reply.at("in_reply_to") == 8);
    CHECK_FALSE(Str(reply, "text").empty());
  }
}

TEST_CASE("compact merges the levels and retires the flushed tables") {
  TestNode node;
  node.Call(R"({"type":"put","key":"a","value":"1"})");
  const std::string first = Str(node.CallBody(R"({"type":"sstable_flush"})"), "sstable_file");
  node.Call(R"({"type":"put","key":"b","value":"2"})");
  node.Call(R"({"type":"sstable_flush"})");

  json::object compact = node.CallBody(R"({"type":"compact","msg_id":4})");
  REQUIRE(Str(compact, "type") == "compact_ok");
  CHECK(compact.at("in_reply_to") == 4);
  CHECK(compact.at("duration_ms").is_number());
  uint64_t files = 0;
  for (const json::value& level : compact.at("levels").as_array()) {
    CHECK(level.as_object().size() == 3);
    CHECK(level.at("level").is_number());
    CHECK(level.at("bytes").is_number());
    files += level.at("files").to_number<uint64_t>();
  }
  CHECK(files >= 1);

  json::object gone =
      node.CallBody(R"({"type":"sstable_lookup","sstable":")" + first + R"(","key":"a"})");
  CHECK(gone.at("code") == 20);
  // The text says compaction removed it (db.h: the NotFound message tells so).
  CHECK(Str(gone, "text").find("compact") != std::string::npos);
  CHECK(Str(node.CallBody(R"({"type":"get","key":"a"})"), "value") == "1");
  CHECK(Str(node.CallBody(R"({"type":"get","key":"b"})"), "value") == "2");
}

TEST_CASE("stats reports the engine's counters, levels and tables") {
  TestNode node;
  node.Call(R"({"type":"put","key":"a","value":"1"})");
  node.Call(R"({"type":"sstable_flush"})");
  node.Call(R"({"type":"put","key":"b","value":"2"})");
  json::object stats = node.CallBody(R"({"type":"stats","msg_id":1})");
  CHECK(Str(stats, "type") == "stats_ok");
  for (const char* counter :
       {"memtable_bytes", "memtable_entries", "memtable_threshold_bytes", "frozen_memtables",
        "flushes", "flush_failures", "write_stalls", "write_slowdowns", "bloom_negatives",
        "bloom_false_positives", "wal_bytes_written", "sstable_bytes_written", "compactions",
        "compaction_bytes_read", "compaction_bytes_written"}) {
    CAPTURE(counter);
    CHECK(stats.at(counter).is_number());
  }
  CHECK(stats.at("memtable_entries") == 1);
  CHECK(stats.at("flushes") == 1);
  REQUIRE(stats.at("tables").as_array().size() == 1);
  const json::value& table = stats.at("tables").at(0);
  CHECK(table.at("name") == "L0_001.sst");
  CHECK(table.at("level") == 0);
  CHECK(table.at("entries") == 1);
  CHECK(table.at("min_key") == "a");
  CHECK(table.at("max_key") == "a");
  CHECK(table.at("bloom_filter_bits").is_number());
  CHECK(table.at("size_bytes").is_number());
  CHECK(stats.at("levels").is_array());
}

TEST_CASE("bad lines get error replies and change nothing") {
  TestNode node;
  CHECK(
      node.Call("not json") ==
      R"({"type": "error", "msg_id": 0, "code": 12, "text": "request is not valid JSON: syntax error"})");
  CHECK(
      node.Call(
          R"({"src":"c3","dest":"n0","body":{"type":"put","msg_id":6,"key":"","value":"x"}})") ==
      R"({"src": "n0", "dest": "c3", "body": {"type": "error", "in_reply_to": 6, "msg_id": 1, "code": 12, "text": "field 'key' must not be empty"}})");
  CHECK(
      node.Call(R"({"type":"fly","msg_id":2})") ==
      R"({"type": "error", "in_reply_to": 2, "msg_id": 2, "code": 10, "text": "message type 'fly' is not supported"})");
  const std::string binary("\x00\xff\xfe\n\x01", 5);
  for (std::string_view line :
       {std::string_view(""), std::string_view("[1]"), std::string_view("3"),
        std::string_view(binary), std::string_view(R"({"type":"put","key":"a","value":7})"),
        std::string_view(R"({"type":"put","key":"a","value":"v","msg_id":-1})")}) {
    json::object reply = node.CallBody(line);
    CHECK(Str(reply, "type") == "error");
    CHECK(reply.at("code") == 12);
    CHECK_FALSE(reply.contains("in_reply_to"));
  }
  json::object scan = node.CallBody(R"({"type":"scan"})");
  CHECK(scan.at("entries").as_array().empty());
}

TEST_CASE("writes refused by a closed engine are error 11") {
  TestNode node;
  REQUIRE(node.db().Close().ok());
  json::object put = node.CallBody(R"({"type":"put","msg_id":1,"key":"a","value":"1"})");
  CHECK(Str(put, "type") == "error");
  CHECK(put.at("code") == 11);
  CHECK(put.at("in_reply_to") == 1);
  json::object del = node.CallBody(R"({"type":"delete","key":"a"})");
  CHECK(del.at("code") == 11);
}

TEST_CASE("random garbage lines each get exactly one error reply") {
  TestNode node;
  std::mt19937 random(20240611);  // fixed seed: the same lines every run
  const std::string alphabet = "{}[]\":,0123456789-.eE truefalsnul\\\x01\xff\xc3";
  for (int i = 0; i < 500; ++i) {
    std::string line;
    const int length = static_cast<int>(random() % 40);
    for (int j = 0; j < length; ++j) line += alphabet[random() % alphabet.size()];
    if (i % 2 == 0) line = R"({"src":"c1","body":)" + line;
    CAPTURE(line);
    json::object reply = json::parse(node.Call(line)).as_object();
    if (reply.contains("body")) reply = reply.at("body").as_object();
    CHECK(Str(reply, "type") == "error");
  }
}

}  // namespace
}  // namespace lsmd::proto
