// The commit queue and the committer role; see commit_pipeline.h.
#include "core/commit_pipeline.h"

#include <pthread.h>

#include <memory>
#include <utility>

namespace lsmd {
namespace {

Status ClosedError() { return Status::InvalidArgument("engine is closed"); }

}  // namespace

CommitPipeline::CommitPipeline(GroupCommitter* committer, bool allow_inline)
    : committer_(committer), allow_inline_(allow_inline) {}

CommitPipeline::~CommitPipeline() { Close(); }

void CommitPipeline::Start() {
  commit_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "lsmd-commit");
    CommitThreadMain();
  });
}

Status CommitPipeline::Write(WriteBatch batch) {
  PendingWrite w;
  w.batch = std::move(batch);
  MutexLock lock(&mu_);
  if (closed_) return ClosedError();
  queue_.push_back(&w);
  // Wait until our write is done or nobody is committing; in the latter case
  // this thread commits (its own write and whatever queued behind it).
  while (!w.finished_ && committing_) write_cv_.Wait(&mu_);
  if (w.finished_) return w.status_;
  committing_ = true;
  lock.Unlock();
  CommitLoop(&w);
  lock.Lock();
  ReleaseCommitterRole();
  return w.status_;
}

void CommitPipeline::WriteAsync(WriteBatch batch, DB::WriteCallback done) {
  if (allow_inline_) {
    // On the stack: the inline road (the common one) allocates nothing more.
    PendingWrite local;
    local.batch = std::move(batch);
    local.write_done = std::move(done);
    if (TryCommitInline(&local)) return;
    Enqueue(new PendingWrite(std::move(local)));
    return;
  }
  auto* w = new PendingWrite;
  w->batch = std::move(batch);
  w->write_done = std::move(done);
  Enqueue(w);
}

void CommitPipeline::ConditionalWriteAsync(DB::DecideFn decide, DB::WriteCallback done) {
  auto w = std::make_unique<PendingWrite>();
  w->decide = std::move(decide);
  w->write_done = std::move(done);
  if (allow_inline_ && TryCommitInline(w.get())) return;
  Enqueue(w.release());
}

void CommitPipeline::FlushAsync(DB::FlushCallback done, FlushReason reason) {
  auto* w = new PendingWrite;
  w->kind = PendingWrite::Kind::kFreeze;
  w->flush_done = std::move(done);
  w->flush_reason = reason;
  Enqueue(w);
}

bool CommitPipeline::Close() {
  {
    MutexLock lock(&mu_);
    if (closed_) return false;
    closed_ = true;
  }
  commit_cv_.SignalAll();
  if (commit_thread_.joinable()) {
    commit_thread_.join();  // it drains the queue first
  } else {
    CommitThreadMain();  // never started: drain here
  }
  return true;
}

void CommitPipeline::ReleaseCommitterRole() {
  committing_ = false;
  if (!queue_.empty()) {
    write_cv_.SignalAll();
    commit_cv_.Signal();
  } else if (closed_) {
    commit_cv_.Signal();  // Close() waits for the last committer to finish
  }
}

bool CommitPipeline::TryCommitInline(PendingWrite* w) {
  {
    MutexLock lock(&mu_);
    // Queued writes were accepted first: committing past them would reorder.
    if (closed_ || committing_ || !queue_.empty()) return false;
    committing_ = true;
  }

  bool would_wait = false;
  Status s;
  {
    // Given back on every way out: were a bad_alloc to escape the commit
    // with the role still taken, every later write would queue forever.
    struct GiveBackRole {
      CommitPipeline* pipeline;
      ~GiveBackRole() {
        MutexLock guard(&pipeline->mu_);
        pipeline->ReleaseCommitterRole();
      }
    } give_back{this};
    PendingWrite* const group[] = {w};
    s = committer_->CommitGroup(group, &would_wait);
  }
  if (would_wait) return false;  // nothing was written (nor decided): queue it instead
  w->write_done(s);
  return true;
}

void CommitPipeline::Enqueue(PendingWrite* w) {
  MutexLock lock(&mu_);
  if (closed_) {
    lock.Unlock();
    if (w->kind == PendingWrite::Kind::kFreeze) {
      w->flush_done(ClosedError());
    } else {
      w->write_done(ClosedError());
    }
    delete w;
    return;
  }
  queue_.push_back(w);
  if (!committing_) commit_cv_.Signal();
}

void CommitPipeline::CommitThreadMain() {
  MutexLock lock(&mu_);
  while (true) {
    // Until nobody commits, and there is work or the pipeline is closed.
    while (committing_ || (queue_.empty() && !closed_)) commit_cv_.Wait(&mu_);
    if (queue_.empty()) return;  // and closed
    committing_ = true;
    lock.Unlock();
    CommitLoop(nullptr);
    lock.Lock();
    committing_ = false;
    write_cv_.SignalAll();
  }
}

void CommitPipeline::TakeGroup(std::vector<PendingWrite*>* group) {
  PendingWrite* first = queue_.front();
  queue_.pop_front();
  group->push_back(first);
  // A conditional write commits alone: it must read every write before it
  // applied, and decide before any write after it. A freeze is alone too.
  if (first->kind != PendingWrite::Kind::kWrite || first->decide) return;
  size_t bytes = first->batch.ByteSize();
  while (!queue_.empty()) {
    PendingWrite* next = queue_.front();
    if (next->kind != PendingWrite::Kind::kWrite || next->decide) break;
    if (bytes + next->batch.ByteSize() > kMaxGroupBytes) break;
    bytes += next->batch.ByteSize();
    group->push_back(next);
    queue_.pop_front();
  }
}

void CommitPipeline::CommitLoop(PendingWrite* mine) {
  std::vector<PendingWrite*> group;
  while (true) {
    group.clear();
    {
      MutexLock lock(&mu_);
      if (queue_.empty() || (mine != nullptr && mine->finished_)) return;
      TakeGroup(&group);
    }

    if (group.front()->kind == PendingWrite::Kind::kFreeze) {
      committer_->CommitFreeze(group.front());
      delete group.front();
      continue;
    }

    Status s = committer_->CommitGroup(group, /*would_wait=*/nullptr);
    std::vector<PendingWrite*> async_done;
    {
      MutexLock lock(&mu_);
      for (PendingWrite* w : group) {
        w->status_ = s;
        w->finished_ = true;
        if (w->write_done) async_done.push_back(w);
      }
    }
    write_cv_.SignalAll();
    for (PendingWrite* w : async_done) {
      w->write_done(s);
      delete w;
    }
  }
}

}  // namespace lsmd
