// CommitPipeline: the commit queue, group commit and the committer role.
//
// Writers hand their requests to the pipeline. One thread at a time, the
// committer, takes them off the queue in groups and hands each group to a
// GroupCommitter (DB::Impl: one log record and at most one fdatasync for the
// whole group, then the MemTable inserts), then answers every writer of the
// group. The committer is whichever thread holds the role (committing_):
// - a synchronous writer (Write) that finds nobody committing: it commits
//   its own write and whatever queued behind it, until its own is done;
// - the commit thread (Start), whenever work is queued and nobody commits:
//   async writes, freezes;
// - an async writer on the inline road (allow_inline: the engine runs with
//   SyncMode::kNone) that finds the queue empty and nobody committing: it
//   commits its own write on its own thread and is answered before
//   WriteAsync returns, unless the GroupCommitter says it would have to wait
//   (a stall, a slowdown), in which case the write is queued after all.
//
// Groups, in queue order: consecutive plain writes up to kMaxGroupBytes
// (a single larger write forms a group alone); a conditional write alone
// (it reads every earlier write applied and decides before any later one);
// a freeze alone, ordered with the writes around it.
//
// Lock order, engine-wide: CommitPipeline::mu_ (formerly DB::Impl's
// write_mu_) and DB::Impl::manifest_mu_ are each taken before DB::Impl::mu_,
// never while holding it, and never held together. The pipeline calls the
// GroupCommitter and every callback with mu_ released, so in practice no
// engine lock is ever taken under it.
//
// Thread safety: every public method may be called from any thread.
#pragma once

#include <cstddef>
#include <deque>
#include <span>
#include <thread>
#include <vector>

#include "core/db.h"
#include "core/flush_reason.h"
#include "core/mutex.h"
#include "core/write_batch.h"

namespace lsmd {

class CommitPipeline;

// One request in the commit queue: a batch of writes, or a request to freeze
// the MemTable (an explicit flush).
struct PendingWrite {
  enum class Kind { kWrite, kFreeze };
  Kind kind = Kind::kWrite;
  WriteBatch batch;
  DB::WriteCallback write_done;                       // async writes; null for synchronous ones
  DB::FlushCallback flush_done;                       // kFreeze
  FlushReason flush_reason = FlushReason::kExplicit;  // kFreeze: for the flush's log line
  // A conditional write: fills batch on the committer, which commits it as
  // a group of its own (so it reads every earlier write, applied).
  DB::DecideFn decide;

 private:
  friend class CommitPipeline;
  // Guarded by the owning CommitPipeline's mu_ (another object's mutex: not
  // expressible as an annotation). Synchronous writers wait on finished.
  bool finished_ = false;
  Status status_;
};

// What the pipeline's committer calls. The pipeline makes at most one call
// at a time (CommitGroup and CommitFreeze together), never holding its
// lock, so whoever runs one of these is the committer.
class GroupCommitter {
 public:
  // Commits a group as one unit: plain writes in queue order, or one
  // conditional write. The pipeline answers its writers with the status.
  // With would_wait given (the inline road), returns at once, having
  // committed and decided nothing, and sets *would_wait where committing
  // would have to wait; the write is then queued.
  virtual Status CommitGroup(std::span<PendingWrite* const> group, bool* would_wait) = 0;
  // Carries out a freeze and answers freeze->flush_done, now or (moving it
  // out) later. The pipeline deletes freeze afterwards.
  virtual void CommitFreeze(PendingWrite* freeze) = 0;

 protected:
  ~GroupCommitter() = default;
};

class CommitPipeline {
 public:
  // A group stops growing here, so one huge write does not delay small ones
  // behind it for long and a group's record stays bounded.
  static constexpr size_t kMaxGroupBytes = 1 << 20;

  // committer must outlive the pipeline. allow_inline: async writes may take
  // the inline road (see the top of this file).
  CommitPipeline(GroupCommitter* committer, bool allow_inline);
  // Closes, if Close was not called.
  ~CommitPipeline();
  CommitPipeline(const CommitPipeline&) = delete;
  CommitPipeline& operator=(const CommitPipeline&) = delete;

  // Starts the commit thread (lsmd-commit). Until then only synchronous
  // writers and the inline road commit.
  void Start() EXCLUDES(mu_);

  // Returns once batch is committed, with CommitGroup's status.
  Status Write(WriteBatch batch) EXCLUDES(mu_);
  // done runs exactly once: on the committer's thread, or inline (the inline
  // road, or "engine is closed").
  void WriteAsync(WriteBatch batch, DB::WriteCallback done) EXCLUDES(mu_);
  void ConditionalWriteAsync(DB::DecideFn decide, DB::WriteCallback done) EXCLUDES(mu_);
  // A freeze, ordered with the writes around it; done runs once
  // (CommitFreeze's business, or "engine is closed").
  void FlushAsync(DB::FlushCallback done, FlushReason reason = FlushReason::kExplicit)
      EXCLUDES(mu_);

  // Refuses every later request ("engine is closed"), lets the committer
  // finish, commits everything still queued and stops the commit thread (or,
  // if it was never started, drains the queue on this thread). Returns false
  // if an earlier call already closed the pipeline.
  bool Close() EXCLUDES(mu_);

 private:
  void CommitThreadMain() EXCLUDES(mu_);
  // Caller holds the role (set committing_). Commits groups until the queue
  // is empty or, when mine is given, until mine is finished.
  void CommitLoop(PendingWrite* mine) EXCLUDES(mu_);
  // Moves the next group off the queue into *group.
  void TakeGroup(std::vector<PendingWrite*>* group) REQUIRES(mu_);
  // The inline road: true if w was committed and answered; false leaves *w
  // untouched for the queue.
  bool TryCommitInline(PendingWrite* w) EXCLUDES(mu_);
  // Queues w (owned by the pipeline from here), or answers it at once if
  // closed.
  void Enqueue(PendingWrite* w) EXCLUDES(mu_);
  // Gives the committer role up and wakes whoever may take it next.
  void ReleaseCommitterRole() REQUIRES(mu_);

  GroupCommitter* const committer_;
  const bool allow_inline_;

  Mutex mu_;
  CondVar write_cv_;   // a write finished, or committing_ was released
  CondVar commit_cv_;  // wakes the commit thread
  std::deque<PendingWrite*> queue_ GUARDED_BY(mu_);
  bool committing_ GUARDED_BY(mu_) = false;  // the committer role is taken
  bool closed_ GUARDED_BY(mu_) = false;
  std::thread commit_thread_;
};

}  // namespace lsmd
