// CommitPipeline alone (core/commit_pipeline.h), over a fake GroupCommitter
// that records every group it is handed: group formation, order, the
// committer role, the inline road, callbacks, Close.
#include "core/commit_pipeline.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lsmd {
namespace {

using namespace std::chrono_literals;

WriteBatch Batch(const std::string& key, size_t value_bytes = 8) {
  WriteBatch batch;
  batch.Put(key, std::string(value_bytes, 'v'));
  return batch;
}

std::vector<std::string> Keys(const WriteBatch& batch) {
  std::vector<std::string> keys;
  batch.Iterate(
      [&](uint64_t, ValueKind, std::string_view key, std::string_view) { keys.emplace_back(key); });
  return keys;
}

// Records each group as its keys in order: "?key" for a conditional write's,
// "FREEZE" for a freeze. A group holding the key "gate" waits in CommitGroup
// until Open() (so the test can let a queue build up behind it). Keys
// starting with "fail" fail their group.
class FakeCommitter : public GroupCommitter {
 public:
  Status CommitGroup(std::span<PendingWrite* const> group, bool* would_wait) override {
    if (would_wait != nullptr) {
      ++inline_calls;
      if (refuse_inline) {
        *would_wait = true;
        return Status::OK();
      }
    }
    Enter();
    std::vector<std::string> keys;
    size_t bytes = 0;
    bool fail = false, gate = false;
    for (PendingWrite* w : group) {
      if (w->decide) {
        w->decide([](std::string_view, std::string*) { return Status::NotFound(""); }, &w->batch);
      }
      bytes += w->batch.ByteSize();
      for (const std::string& key : Keys(w->batch)) {
        keys.push_back(w->decide ? "?" + key : key);
        fail |= key.starts_with("fail");
        gate |= key == "gate";
      }
    }
    {
      std::unique_lock lock(mu_);
      groups_.push_back(keys);
      group_bytes_.push_back(bytes);
      changed_.notify_all();
      if (gate) changed_.wait(lock, [&] { return gate_open_; });
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    Leave();
    return fail ? Status::IOError("injected") : Status::OK();
  }

  void CommitFreeze(PendingWrite* freeze) override {
    Enter();
    {
      std::lock_guard lock(mu_);
      groups_.push_back({"FREEZE"});
      group_bytes_.push_back(0);
      changed_.notify_all();
    }
    Leave();
    freeze->flush_done(FlushResult{});
  }

  // Lets the group holding "gate" go on.
  void Open() {
    std::lock_guard lock(mu_);
    gate_open_ = true;
    changed_.notify_all();
  }
  void WaitForGroups(size_t n) {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return groups_.size() >= n; });
  }
  std::vector<std::vector<std::string>> groups() {
    std::lock_guard lock(mu_);
    return groups_;
  }
  std::vector<size_t> group_bytes() {
    std::lock_guard lock(mu_);
    return group_bytes_;
  }

  std::chrono::milliseconds delay{0};
  bool refuse_inline = false;        // set before any write
  std::atomic<int> inline_calls{0};  // CommitGroup calls with would_wait
  std::atomic<int> overlaps{0};      // calls that ran while another did
  std::atomic<std::thread::id> last_thread;

 private:
  void Enter() {
    if (active_.fetch_add(1) != 0) ++overlaps;
    last_thread = std::this_thread::get_id();
  }
  void Leave() { active_.fetch_sub(1); }

  std::atomic<int> active_{0};
  std::mutex mu_;
  std::condition_variable changed_;
  bool gate_open_ = false;
  std::vector<std::vector<std::string>> groups_;
  std::vector<size_t> group_bytes_;
};

// Counts each callback's calls and keeps its last status.
struct Answers {
  std::mutex mu;
  std::map<std::string, int> calls;
  std::map<std::string, Status> status;
  DB::WriteCallback For(const std::string& name) {
    return [this, name](Status s) {
      std::lock_guard lock(mu);
      ++calls[name];
      status[name] = s;
    };
  }
};

// Holds the committer inside the group of "gate" until fake.Open().
void HoldCommitter(CommitPipeline& pipeline, FakeCommitter& fake, Answers& answers) {
  pipeline.WriteAsync(Batch("gate"), answers.For("gate"));
  fake.WaitForGroups(1);
}

TEST_CASE("groups never exceed the byte bound, and a bigger write commits alone") {
  FakeCommitter fake;
  CommitPipeline pipeline(&fake, /*allow_inline=*/false);
  pipeline.Start();
  Answers answers;
  HoldCommitter(pipeline, fake, answers);
  const size_t value = CommitPipeline::kMaxGroupBytes / 3;
  for (int i = 0; i < 10; ++i)
    pipeline.WriteAsync(Batch("w" + std::to_string(i), value), answers.For("w"));
  pipeline.WriteAsync(Batch("huge", CommitPipeline::kMaxGroupBytes + 1), answers.For("huge"));
  pipeline.WriteAsync(Batch("small"), answers.For("small"));
  fake.Open();
  CHECK(pipeline.Close());

  const auto groups = fake.groups();
  const auto bytes = fake.group_bytes();
  size_t grouped = 0;
  for (size_t i = 0; i < groups.size(); ++i) {
    if (groups[i].size() > 1) {
      ++grouped;
      CHECK(bytes[i] <= CommitPipeline::kMaxGroupBytes);
    }
    if (groups[i].front() == "huge") CHECK(groups[i].size() == 1);
  }
  CHECK(grouped >= 3);  // the bound cut groups, it did not prevent them
  CHECK(answers.calls["w"] == 10);
}

TEST_CASE("groups keep the queue's order, and callbacks run in it") {
  FakeCommitter fake;
  fake.delay = 1ms;
  CommitPipeline pipeline(&fake, /*allow_inline=*/false);
  pipeline.Start();
  std::mutex mu;
  std::vector<int> answered;
  for (int i = 0; i < 500; ++i) {
    pipeline.WriteAsync(Batch(std::to_string(i)), [&, i](Status s) {
      std::lock_guard lock(mu);
      answered.push_back(i);
    });
  }
  CHECK(pipeline.Close());
  std::vector<int> committed;
  for (const auto& group : fake.groups()) {
    for (const auto& key : group) committed.push_back(std::stoi(key));
  }
  std::vector<int> expected;
  for (int i = 0; i < 500; ++i) expected.push_back(i);
  CHECK(committed == expected);
  CHECK(answered == expected);
  CHECK(fake.groups().size() < 500);
}

TEST_CASE("a conditional write and a freeze each commit alone, in order") {
  FakeCommitter fake;
  CommitPipeline pipeline(&fake, /*allow_inline=*/false);
  pipeline.Start();
  Answers answers;
  HoldCommitter(pipeline, fake, answers);
  pipeline.WriteAsync(Batch("a"), answers.For("a"));
  pipeline.WriteAsync(Batch("b"), answers.For("b"));
  pipeline.ConditionalWriteAsync(
      [](const DB::ReadFn& read, WriteBatch* batch) {
        batch->Put("c", "decided");
        return Status::OK();
      },
      answers.For("c"));
  pipeline.WriteAsync(Batch("d"), answers.For("d"));
  std::atomic<int> flushed{0};
  pipeline.FlushAsync([&](Result<FlushResult> r) { flushed += r.ok() ? 1 : 100; });
  pipeline.WriteAsync(Batch("e"), answers.For("e"));
  pipeline.WriteAsync(Batch("f"), answers.For("f"));
  fake.Open();
  CHECK(pipeline.Close());

  using Group = std::vector<std::string>;
  const std::vector<Group> expected = {{"gate"}, {"a", "b"}, {"?c"}, {"d"}, {"FREEZE"}, {"e", "f"}};
  CHECK(fake.groups() == expected);
  CHECK(flushed == 1);
  for (const char* name : {"a", "b", "c", "d", "e", "f"}) CHECK(answers.calls[name] == 1);
}

TEST_CASE("concurrent synchronous writers share groups while the committer is slow") {
  FakeCommitter fake;
  fake.delay = 2ms;  // as an fdatasync might take
  CommitPipeline pipeline(&fake, /*allow_inline=*/false);
  pipeline.Start();
  constexpr int kThreads = 16, kWrites = 20;
  std::atomic<int> failed{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        if (!pipeline.Write(Batch("t" + std::to_string(t) + "-" + std::to_string(i))).ok()) {
          ++failed;
        }
      }
    });
  }
  for (auto& w : writers) w.join();
  CHECK(pipeline.Close());

  CHECK(failed == 0);
  size_t writes = 0;
  for (const auto& group : fake.groups()) writes += group.size();
  CHECK(writes == kThreads * kWrites);
  MESSAGE(fake.groups().size(), " groups for ", writes, " writes");
  CHECK(fake.groups().size() <= writes / 4);
  CHECK(fake.overlaps == 0);  // one committer at a time
}

TEST_CASE("every async callback runs exactly once, failures and the inline road included") {
  for (bool allow_inline : {false, true}) {
    CAPTURE(allow_inline);
    FakeCommitter fake;
    CommitPipeline pipeline(&fake, allow_inline);
    pipeline.Start();
    Answers answers;
    std::atomic<int> flushes{0};
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; i < 200; ++i) {
          const std::string name = (i % 7 == 0 ? "fail" : "k") + std::to_string(t * 1000 + i);
          if (i % 5 == 0) {
            pipeline.ConditionalWriteAsync(
                [name](const DB::ReadFn&, WriteBatch* batch) {
                  batch->Put(name, "x");
                  return Status::OK();
                },
                answers.For(name));
          } else {
            pipeline.WriteAsync(Batch(name), answers.For(name));
          }
          if (i % 50 == 0) pipeline.FlushAsync([&](Result<FlushResult>) { ++flushes; });
        }
      });
    }
    for (auto& w : writers) w.join();
    CHECK(pipeline.Close());
    CHECK(answers.calls.size() == 800);
    for (const auto& entry : answers.calls) {
      const std::string& name = entry.first;  // no structured binding: clang 14
      CHECK_MESSAGE(entry.second == 1, name);
      // A group fails as a whole: a write sharing one with a "fail" key fails too.
      if (name.starts_with("fail")) CHECK_MESSAGE(!answers.status[name].ok(), name);
    }
    CHECK(flushes == 16);
    CHECK(fake.overlaps == 0);
    if (allow_inline) CHECK(fake.inline_calls > 0);
  }
}

TEST_CASE("the inline road commits on the caller's thread, or queues if the commit would wait") {
  FakeCommitter fake;
  CommitPipeline pipeline(&fake, /*allow_inline=*/true);
  pipeline.Start();
  bool answered = false;
  pipeline.WriteAsync(Batch("inline"), [&](Status s) { answered = s.ok(); });
  CHECK(answered);  // before WriteAsync returned
  CHECK(fake.last_thread.load() == std::this_thread::get_id());
  CHECK(pipeline.Close());

  FakeCommitter refusing;
  refusing.refuse_inline = true;
  CommitPipeline queued(&refusing, /*allow_inline=*/true);
  queued.Start();
  std::promise<std::thread::id> committed_on;
  queued.WriteAsync(Batch("queued"),
                    [&](Status) { committed_on.set_value(std::this_thread::get_id()); });
  CHECK(committed_on.get_future().get() != std::this_thread::get_id());
  CHECK(refusing.groups() == std::vector<std::vector<std::string>>{{"queued"}});
  CHECK(queued.Close());
}

TEST_CASE("Close commits what is queued, and later requests get \"engine is closed\"") {
  FakeCommitter fake;
  CommitPipeline pipeline(&fake, /*allow_inline=*/false);
  pipeline.Start();
  Answers answers;
  HoldCommitter(pipeline, fake, answers);
  for (int i = 0; i < 100; ++i)
    pipeline.WriteAsync(Batch("q" + std::to_string(i)), answers.For("q"));
  std::atomic<bool> closed{false};
  std::thread closer([&] { closed = pipeline.Close(); });
  std::this_thread::sleep_for(20ms);  // Close is waiting for the queue
  CHECK_FALSE(closed);
  fake.Open();
  closer.join();
  CHECK(closed);
  CHECK(answers.calls["q"] == 100);
  CHECK(answers.status["q"].ok());

  Status s = pipeline.Write(Batch("late"));
  CHECK(s.IsInvalidArgument());
  CHECK(s.message() == "engine is closed");
  pipeline.WriteAsync(Batch("late-async"), answers.For("late-async"));
  pipeline.ConditionalWriteAsync([](const DB::ReadFn&, WriteBatch*) { return Status::OK(); },
                                 answers.For("late-conditional"));
  Status flush_status;
  pipeline.FlushAsync([&](Result<FlushResult> r) { flush_status = r.status(); });
  for (const char* name : {"late-async", "late-conditional"}) {
    CHECK(answers.calls[name] == 1);
    CHECK(answers.status[name].message() == "engine is closed");
  }
  CHECK(flush_status.message() == "engine is closed");
  CHECK_FALSE(pipeline.Close());
}

TEST_CASE("a pipeline never started drains its queue on Close") {
  FakeCommitter fake;
  Answers answers;
  {
    CommitPipeline pipeline(&fake, /*allow_inline=*/false);
    pipeline.WriteAsync(Batch("x"), answers.For("x"));
    pipeline.FlushAsync([](Result<FlushResult>) {});
  }  // the destructor closes
  CHECK(answers.calls["x"] == 1);
  CHECK(fake.groups() == std::vector<std::vector<std::string>>{{"x"}, {"FREEZE"}});
}

}  // namespace
}  // namespace lsmd
