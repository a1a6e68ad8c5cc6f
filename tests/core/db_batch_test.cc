// Atomic batches (DB::WriteAsync) and read-modify-writes decided on the
// committer (DB::ConditionalWriteAsync): what MSET, MULTI/EXEC and SET NX
// rely on.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "core/db.h"
#include "test_util.h"

namespace lsmd {
namespace {

using testing::TempDir;

std::unique_ptr<DB> OpenOrDie(SyncMode sync, const std::string& dir) {
  Options options;
  options.memtable_bytes = 64 * 1024;  // several MemTable switches in the tests below
  options.sync = sync;
  auto db = DB::Open(options, dir);
  REQUIRE_MESSAGE(db.ok(), db.status().ToString());
  return std::move(*db);
}

std::string Get(DB& db, std::string_view key) {
  std::string value;
  Status s = db.Get(key, &value);
  if (s.IsNotFound()) return "<absent>";
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return value;
}

Status WriteAndWait(DB& db, WriteBatch batch) {
  std::promise<Status> done;
  db.WriteAsync(std::move(batch), [&](Status s) { done.set_value(s); });
  return done.get_future().get();
}

// Adds one to the decimal counter at key, atomically. Returns the status.
Status Increment(DB& db, const std::string& key) {
  std::promise<Status> done;
  db.ConditionalWriteAsync(
      [key](const DB::ReadFn& read, WriteBatch* batch) {
        std::string value;
        Status s = read(key, &value);
        if (!s.ok() && !s.IsNotFound()) return s;
        const long n = s.ok() ? std::stol(value) : 0;
        batch->Put(key, std::to_string(n + 1));
        return Status::OK();
      },
      [&](Status s) { done.set_value(s); });
  return done.get_future().get();
}

TEST_CASE("a batch of puts and deletes is applied whole, and survives a reopen whole") {
  for (SyncMode sync : {SyncMode::kNone, SyncMode::kAlways}) {
    TempDir dir;
    {
      auto db = OpenOrDie(sync, dir.path());
      REQUIRE(db->Put("gone", "soon").ok());
      WriteBatch batch;
      batch.Put("a", "1");
      batch.Put("b", std::string("\0\xff", 2));
      batch.Delete("gone");
      batch.Put("a", "2");  // later entries of a batch win
      REQUIRE(WriteAndWait(*db, std::move(batch)).ok());
      CHECK(Get(*db, "a") == "2");
      CHECK(Get(*db, "b") == std::string("\0\xff", 2));
      CHECK(Get(*db, "gone") == "<absent>");
    }
    auto db = OpenOrDie(sync, dir.path());
    CHECK(Get(*db, "a") == "2");
    CHECK(Get(*db, "b") == std::string("\0\xff", 2));
    CHECK(Get(*db, "gone") == "<absent>");
  }
}

TEST_CASE("a batch with one bad key writes nothing") {
  TempDir dir;
  auto db = OpenOrDie(SyncMode::kNone, dir.path());
  WriteBatch batch;
  batch.Put("fine", "1");
  batch.Put("", "empty keys are refused");
  Status s = WriteAndWait(*db, std::move(batch));
  CHECK(s.IsInvalidArgument());
  CHECK(Get(*db, "fine") == "<absent>");
}

TEST_CASE("a conditional write reads every write ordered before it") {
  TempDir dir;
  auto db = OpenOrDie(SyncMode::kAlways, dir.path());
  // Queued behind each other on the commit queue: the decision must see the
  // async put even though nobody waited for it.
  std::promise<Status> put_done;
  db->PutAsync("k", "41", [&](Status s) { put_done.set_value(s); });
  REQUIRE(Increment(*db, "k").ok());
  REQUIRE(put_done.get_future().get().ok());
  CHECK(Get(*db, "k") == "42");
}

TEST_CASE("concurrent read-modify-writes never lose an update, whatever else is written") {
  for (SyncMode sync : {SyncMode::kNone, SyncMode::kAlways}) {
    CAPTURE(static_cast<int>(sync));
    TempDir dir;
    auto db = OpenOrDie(sync, dir.path());
    constexpr int kThreads = 8;
    const int per_thread = sync == SyncMode::kNone ? 2000 : 300;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          if (!Increment(*db, "counter:" + std::to_string(i % 3)).ok()) ++failures;
          // Plain writes between them: they group, the increments do not.
          if (!db->Put("noise:" + std::to_string(t) + ":" + std::to_string(i),
                       std::string(100, 'x'))
                   .ok()) {
            ++failures;
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
    CHECK(failures == 0);
    long total = 0;
    for (int c = 0; c < 3; ++c) total += std::stol(Get(*db, "counter:" + std::to_string(c)));
    CHECK(total == kThreads * per_thread);
  }
}

TEST_CASE("a decision that writes nothing, or fails, leaves the store as it was") {
  TempDir dir;
  auto db = OpenOrDie(SyncMode::kAlways, dir.path());
  REQUIRE(db->Put("k", "v").ok());

  std::promise<Status> empty_done;
  db->ConditionalWriteAsync([](const DB::ReadFn&, WriteBatch*) { return Status::OK(); },
                            [&](Status s) { empty_done.set_value(s); });
  CHECK(empty_done.get_future().get().ok());

  std::promise<Status> failed_done;
  db->ConditionalWriteAsync(
      [](const DB::ReadFn&, WriteBatch* batch) {
        batch->Put("k", "must not land");
        return Status::InvalidArgument("precondition failed");
      },
      [&](Status s) { failed_done.set_value(s); });
  Status s = failed_done.get_future().get();
  CHECK(s.IsInvalidArgument());
  CHECK(s.message() == "precondition failed");

  std::promise<Status> bad_key_done;
  db->ConditionalWriteAsync(
      [](const DB::ReadFn&, WriteBatch* batch) {
        batch->Put("k", "must not land either");
        batch->Put("", "an empty key");
        return Status::OK();
      },
      [&](Status s) { bad_key_done.set_value(s); });
  CHECK(bad_key_done.get_future().get().IsInvalidArgument());
  CHECK(Get(*db, "k") == "v");
  // Writes keep flowing afterwards.
  REQUIRE(db->Put("k", "w").ok());
  CHECK(Get(*db, "k") == "w");
}

}  // namespace
}  // namespace lsmd
