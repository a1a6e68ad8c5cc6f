// IoContextPool: one io_context per I/O thread, each run by exactly one
// thread. A connection lives on one context for its whole life, so its
// handlers never run concurrently and need no strand, and the threads never
// contend on one shared scheduler (its mutex, its wake-ups, the strand
// queue). perf showed Asio's strand and scheduler machinery at ~15% of the
// server's CPU and the scheduler mutex at 4-6% with one context shared by
// two threads.
//
// Threading: Next() and Release() are called from the acceptor's strand,
// Context() by whoever starts a context's thread; each context is run by
// exactly one thread.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <memory>
#include <vector>

namespace lsmd::server {

namespace asio = boost::asio;

class IoContextPool {
 public:
  // size >= 1 contexts. Each is held busy (its run() does not return while
  // it has nothing to do) until Release().
  explicit IoContextPool(int size) {
    for (int i = 0; i < size; ++i) {
      // Concurrency hint 1: only one thread runs it, so Asio may skip the
      // cross-thread signalling it otherwise does on every handler.
      contexts_.push_back(std::make_unique<asio::io_context>(1));
      guards_.push_back(asio::make_work_guard(*contexts_.back()));
      // A timer brings up the context's reactor (epoll, timer and wake-up
      // descriptors) now rather than with the first connection it gets, so
      // the server's descriptor count is settled once it listens.
      asio::steady_timer reactor_warm_up(*contexts_.back());
    }
  }

  size_t size() const { return contexts_.size(); }
  asio::io_context& Context(size_t i) { return *contexts_[i]; }

  // The context for the next connection, round robin.
  asio::io_context& Next() {
    asio::io_context& context = *contexts_[next_];
    next_ = (next_ + 1) % contexts_.size();
    return context;
  }

  // Lets every run() return once its context runs out of work. Call once.
  void Release() {
    for (auto& guard : guards_) guard.reset();
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  size_t next_ = 0;
};

}  // namespace lsmd::server
