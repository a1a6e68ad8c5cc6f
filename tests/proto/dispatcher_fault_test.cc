// Disk faults as a client sees them: a Dispatcher over a DB whose Env fails
// log appends, SSTable writes or manifest updates with ENOSPC or EIO. The
// client gets error 13 (or 11 once writes stall behind a failing flush),
// never a false put_ok; reads keep being answered during the fault; writes
// work again once it clears; and after a reopen every acknowledged write is
// there.
#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/db.h"
#include "proto/dispatcher.h"
#include "support/fault_injection_env.h"
#include "test_util.h"

namespace lsmd::proto {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string Quote(std::string_view text) { return json::serialize(json::string(text)); }

std::string PutLine(const std::string& key, const std::string& value) {
  return R"({"type":"put","msg_id":1,"key":)" + Quote(key) + R"(,"value":)" + Quote(value) + "}";
}
std::string DeleteLine(const std::string& key) {
  return R"({"type":"delete","msg_id":1,"key":)" + Quote(key) + "}";
}
std::string GetLine(const std::string& key) {
  return R"({"type":"get","msg_id":1,"key":)" + Quote(key) + "}";
}
constexpr std::string_view kFlushLine = R"({"type":"sstable_flush","msg_id":1})";
constexpr std::string_view kCompactLine = R"({"type":"compact","msg_id":1})";
constexpr std::string_view kScanLine = R"({"type":"scan","msg_id":1,"limit":10000})";
constexpr std::string_view kStatsLine = R"({"type":"stats","msg_id":1})";

struct Reply {
  std::string line;
  json::object body;

  std::string type() const {
    const json::value* type = body.if_contains("type");
    return type && type->is_string() ? std::string(type->get_string()) : "";
  }
  int64_t Int(std::string_view name) const {
    const json::value* field = body.if_contains(name);
    return field && field->is_int64() ? field->get_int64() : -1;
  }
  int64_t code() const { return type() == "error" ? Int("code") : -1; }
  // For get_ok: the value, or nullopt when not found.
  std::optional<std::string> value() const {
    const json::value* found = body.if_contains("found");
    const json::value* value = body.if_contains("value");
    if (found && found->is_bool() && found->get_bool() && value && value->is_string()) {
      return std::string(value->get_string());
    }
    return std::nullopt;
  }
};

// A key's state as the client knows it: what its last acknowledged write
// left, plus the writes answered with an error since then (their outcome is
// unknown: an error 13 write may have reached the log before failing).
struct KeyModel {
  std::optional<std::string> acknowledged;
  std::vector<std::optional<std::string>> unknown;
};

// A DB on a FaultInjectionEnv in a temporary directory, a Dispatcher in front
// of it, and the model of every write sent through it.
class FaultyNode {
 public:
  explicit FaultyNode(size_t memtable_bytes = 1 << 20) : env_(Env::Default()) {
    options_.env = &env_;
    options_.sync = SyncMode::kAlways;
    options_.memtable_bytes = memtable_bytes;
    options_.flush_retry_delay = 50ms;
    options_.write_stall_timeout = 300ms;
    Open();
  }
  ~FaultyNode() { Shut(); }

  FaultInjectionEnv& env() { return env_; }

  // Sends one line and waits (bounded) for its one reply.
  Reply Call(std::string_view line) {
    auto promise = std::make_shared<std::promise<std::string>>();
    std::future<std::string> future = promise->get_future();
    dispatcher_->Handle(line, [promise](std::string text) { promise->set_value(std::move(text)); });
    REQUIRE_MESSAGE(future.wait_for(30s) == std::future_status::ready, "no reply to ", line);
    Reply reply;
    reply.line = future.get();
    boost::system::error_code ec;
    json::value parsed = json::parse(reply.line, ec);
    REQUIRE_MESSAGE((!ec && parsed.is_object()), "not a JSON object: ", reply.line);
    reply.body = parsed.get_object();
    return reply;
  }

  // A put or delete (value nullopt), recorded in the model by its reply:
  // ok -> acknowledged; error -> unknown outcome. Anything else fails.
  Reply Write(const std::string& key, const std::optional<std::string>& value) {
    Reply reply = Call(value ? PutLine(key, *value) : DeleteLine(key));
    KeyModel& model = model_[key];
    if (reply.type() == (value ? "put_ok" : "delete_ok")) {
      model.acknowledged = value;
      model.unknown.clear();
    } else {
      CHECK_MESSAGE(reply.type() == "error", reply.line);
      model.unknown.push_back(value);
    }
    return reply;
  }

  // A get; its answer must be one the model allows.
  Reply Read(const std::string& key) {
    Reply reply = Call(GetLine(key));
    REQUIRE_MESSAGE(reply.type() == "get_ok", reply.line);
    CheckAllowed(key, reply.value());
    return reply;
  }

  // Every key the model knows holds a state it allows.
  void CheckEveryKey() {
    for (const auto& [key, model] : model_) Read(key);
  }

  // Closes and reopens the DB without faults, as a restarted server would.
  // A failed write removes its temporary file: none is left after a close.
  void Reopen() {
    env_.ClearFaults();
    Shut();
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
      CHECK_MESSAGE(entry.path().extension() != ".tmp", "left behind: ", entry.path().string());
    }
    Open();
  }

  size_t acknowledged_keys() const {
    size_t count = 0;
    for (const auto& [key, model] : model_) count += model.acknowledged.has_value();
    return count;
  }

 private:
  void Open() {
    Result<std::unique_ptr<DB>> db = DB::Open(options_, dir_.path());
    REQUIRE_MESSAGE(db.ok(), db.status().ToString());
    db_ = std::move(*db);
    dispatcher_ = std::make_unique<Dispatcher>(db_.get(), "n1");
  }

  void Shut() {
    dispatcher_.reset();
    if (db_) db_->Close();  // may report a fault still set; the data is what matters
    db_.reset();
  }

  void CheckAllowed(const std::string& key, const std::optional<std::string>& observed) {
    auto it = model_.find(key);
    const KeyModel model = it == model_.end() ? KeyModel{} : it->second;
    bool allowed = observed == model.acknowledged;
    for (const auto& unknown : model.unknown) allowed = allowed || observed == unknown;
    CHECK_MESSAGE(allowed, key, ": read ", observed.value_or("(absent)"),
                  ", acknowledged: ", model.acknowledged.value_or("(absent)"));
  }

  lsmd::testing::TempDir dir_;
  FaultInjectionEnv env_;
  Options options_;
  std::unique_ptr<DB> db_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::map<std::string, KeyModel> model_;
};

// The error reply a fault of errno err must produce: code 13, and the
// engine's text saying which kind of failure it was.
void CheckFaultReply(const Reply& reply, int err) {
  CHECK_MESSAGE(reply.code() == 13, reply.line);
  const json::value* text = reply.body.if_contains("text");
  REQUIRE(text != nullptr);
  REQUIRE(text->is_string());
  const std::string expected = err == ENOSPC ? "No space" : "I/O error";
  CHECK_MESSAGE(std::string(text->get_string()).find(expected) != std::string::npos, reply.line);
}

// Puts a value until one is acknowledged or the deadline passes: after a
// fault clears, the first writes may still stall behind the retried flush.
bool PutEventually(FaultyNode& node, const std::string& key, const std::string& value) {
  for (auto deadline = std::chrono::steady_clock::now() + 20s;
       std::chrono::steady_clock::now() < deadline;) {
    if (node.Write(key, value).type() == "put_ok") return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

std::string Value(int i) { return "value-" + std::to_string(i) + std::string(200, 'v'); }

TEST_CASE("a log append failing with ENOSPC or EIO is error 13, never a false put_ok") {
  for (int err : {ENOSPC, EIO}) {
    INFO("errno ", err);
    FaultyNode node;
    for (int i = 0; i < 50; ++i) {
      REQUIRE(node.Write("k" + std::to_string(i), Value(i)).type() == "put_ok");
    }
    REQUIRE(node.Write("k7", std::nullopt).type() == "delete_ok");

    node.env().SetWriteFault(err, ".wal");
    CheckFaultReply(node.Write("k1", "during-fault"), err);
    CheckFaultReply(node.Write("new-key", "during-fault"), err);
    CheckFaultReply(node.Write("k2", std::nullopt), err);
    CHECK(node.env().write_faults_injected() > 0);

    // Reads are answered throughout, and a refused write is not visible.
    CHECK(node.Read("k1").value() == Value(1));
    CHECK_FALSE(node.Read("new-key").value().has_value());
    CHECK(node.Read("k2").value() == Value(2));
    CHECK(node.Call(kScanLine).type() == "scan_ok");
    CHECK(node.Call(kStatsLine).type() == "stats_ok");

    node.env().ClearFaults();
    CHECK(node.Write("after", "fault-cleared").type() == "put_ok");
    CHECK(node.Write("k1", "overwritten").type() == "put_ok");
    node.CheckEveryKey();

    node.Reopen();
    node.CheckEveryKey();
    CHECK(node.Read("after").value() == "fault-cleared");
    CHECK(node.Read("k1").value() == "overwritten");
  }
}

TEST_CASE("an SSTable write failing with ENOSPC or EIO: flush error 13, then error 11 stalls") {
  for (int err : {ENOSPC, EIO}) {
    INFO("errno ", err);
    FaultyNode node(/*memtable_bytes=*/8 << 10);
    for (int i = 0; i < 20; ++i) {
      REQUIRE(node.Write("early" + std::to_string(i), Value(i)).type() == "put_ok");
    }

    node.env().SetWriteFault(err, ".sst");
    CheckFaultReply(node.Call(kFlushLine), err);
    // Writes go on into new MemTables until the frozen ones waiting for
    // their flush fill the queue; then each write stalls and is refused.
    int acknowledged = 0;
    int refused = 0;
    for (int i = 0; i < 2000 && refused < 3; ++i) {
      Reply reply = node.Write("during" + std::to_string(i), Value(i));
      if (reply.type() == "put_ok") {
        ++acknowledged;
      } else {
        CHECK_MESSAGE(reply.code() == 11, reply.line);
        ++refused;
      }
    }
    MESSAGE("errno ", err, ": ", acknowledged, " puts acknowledged before the stall");
    CHECK(acknowledged > 0);
    CHECK(refused == 3);
    node.CheckEveryKey();  // reads go on, from the frozen MemTables
    Reply stats = node.Call(kStatsLine);
    CHECK(stats.Int("flush_failures") >= 1);
    CHECK(stats.Int("write_stalls") >= 1);

    node.env().ClearFaults();
    CHECK(PutEventually(node, "after", "fault-cleared"));
    CHECK(node.Call(kFlushLine).type() == "sstable_flush_ok");
    node.CheckEveryKey();

    node.Reopen();
    node.CheckEveryKey();
    CHECK(node.acknowledged_keys() >= 21);
  }
}

TEST_CASE("a manifest update failing with ENOSPC or EIO fails the flush and compaction only") {
  for (int err : {ENOSPC, EIO}) {
    INFO("errno ", err);
    FaultyNode node;
    for (int i = 0; i < 100; ++i) {
      REQUIRE(node.Write("k" + std::to_string(i), Value(i)).type() == "put_ok");
    }
    REQUIRE(node.Call(kFlushLine).type() == "sstable_flush_ok");
    for (int i = 50; i < 150; ++i) {
      REQUIRE(node.Write("k" + std::to_string(i), Value(i + 1000)).type() == "put_ok");
    }

    node.env().SetWriteFault(err, "MANIFEST");
    CheckFaultReply(node.Call(kFlushLine), err);
    CheckFaultReply(node.Call(kCompactLine), err);
    // The log is fine: writes are acknowledged, reads answered.
    CHECK(node.Write("during", "manifest-fault").type() == "put_ok");
    node.CheckEveryKey();

    node.env().ClearFaults();
    CHECK(node.Call(kFlushLine).type() == "sstable_flush_ok");
    CHECK(node.Call(kCompactLine).type() == "compact_ok");
    node.CheckEveryKey();

    node.Reopen();
    node.CheckEveryKey();
    CHECK(node.acknowledged_keys() == 151);
  }
}

TEST_CASE("a read failing with EIO is error 13 for that read while other reads are answered") {
  FaultyNode node;
  REQUIRE(node.Write("on-disk", "1").type() == "put_ok");
  REQUIRE(node.Call(kFlushLine).type() == "sstable_flush_ok");
  REQUIRE(node.Write("in-memory", "2").type() == "put_ok");

  node.env().SetReadFault(EIO, ".sst");
  CheckFaultReply(node.Call(GetLine("on-disk")), EIO);
  CheckFaultReply(node.Call(kScanLine), EIO);
  CHECK(node.Read("in-memory").value() == "2");
  CHECK(node.Write("written", "during read fault").type() == "put_ok");

  node.env().ClearFaults();
  CHECK(node.Read("on-disk").value() == "1");
  node.Reopen();
  node.CheckEveryKey();
}

}  // namespace
}  // namespace lsmd::proto
