// Synchronization types the thread safety analysis can follow
// (core/thread_annotations.h): a Mutex, its scoped MutexLock, a CondVar that
// waits on a Mutex, and ThreadRole, a capability without a lock for state
// one thread at a time owns by protocol (the committer's log, say).
//
//   Mutex mu_;
//   int n_ GUARDED_BY(mu_);
//   CondVar changed_;
//
//   void Wait() EXCLUDES(mu_) {
//     MutexLock lock(&mu_);
//     while (n_ == 0) changed_.Wait(&mu_);
//     lock.Unlock();       // a MutexLock may be unlocked and locked again
//     DoIo();
//     lock.Lock();
//   }
//
// Wait loops are written out at the call site, not passed as a predicate:
// the analysis checks a loop condition against the locks held there, but
// not a lambda's body.
#pragma once

#include <cassert>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "core/thread_annotations.h"

#ifndef NDEBUG
#include <atomic>
#endif

namespace lsmd {

class CondVar;

// std::mutex as a capability. Not recursive.
class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  bool TryLock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // Tells the analysis the calling thread holds this mutex, where it cannot
  // see that for itself. No run-time check.
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds a Mutex from construction to destruction. Unlock() and Lock() let
// it go and take it again in between (for I/O without the lock); the
// destructor releases it only if held.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() {
    if (locked_) mu_->Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() RELEASE() {
    locked_ = false;
    mu_->Unlock();
  }
  void Lock() ACQUIRE() {
    mu_->Lock();
    locked_ = true;
  }

 private:
  Mutex* const mu_;
  bool locked_ = true;
};

// std::condition_variable waiting on a Mutex the caller holds. Every
// concurrent wait on one CondVar must name the same Mutex.
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Releases *mu while waiting; holds it again on return, which may be
  // spurious: call in a loop that tests the condition.
  void Wait(Mutex* mu) REQUIRES(*mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();  // still held, and still the caller's
  }
  // As Wait; std::cv_status::timeout once the deadline has passed.
  std::cv_status WaitUntil(Mutex* mu, std::chrono::steady_clock::time_point deadline)
      REQUIRES(*mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const std::cv_status status = cv_.wait_until(lock, deadline);
    lock.release();
    return status;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

// A capability no lock stands behind: a role that one thread at a time
// holds because a protocol says so (e.g. the committer, chosen under the
// commit pipeline's mutex). State GUARDED_BY a ThreadRole is touched only
// by code that holds the role, which the analysis checks like a lock; that
// the protocol hands the role to one thread at a time is up to the
// protocol, and checked at run time in debug builds only.
class CAPABILITY("role") ThreadRole {
 public:
  ThreadRole() = default;
  ThreadRole(const ThreadRole&) = delete;
  ThreadRole& operator=(const ThreadRole&) = delete;

  void Acquire() ACQUIRE() {
#ifndef NDEBUG
    const bool was_held = held_.exchange(true, std::memory_order_acquire);
    assert(!was_held && "a ThreadRole taken by two threads at once");
    (void)was_held;
#endif
  }
  void Release() RELEASE() {
#ifndef NDEBUG
    held_.store(false, std::memory_order_release);
#endif
  }

 private:
#ifndef NDEBUG
  std::atomic<bool> held_{false};
#endif
};

// Holds a ThreadRole for a scope.
class SCOPED_CAPABILITY ThreadRoleScope {
 public:
  explicit ThreadRoleScope(ThreadRole* role) ACQUIRE(role) : role_(role) { role_->Acquire(); }
  ~ThreadRoleScope() RELEASE() { role_->Release(); }
  ThreadRoleScope(const ThreadRoleScope&) = delete;
  ThreadRoleScope& operator=(const ThreadRoleScope&) = delete;

 private:
  ThreadRole* const role_;
};

}  // namespace lsmd
