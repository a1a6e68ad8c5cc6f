// BackgroundYield: lets request threads in between the entries of a long
// background job (a flush or a compaction).
//
// Why: such a job is pure CPU for tens to hundreds of milliseconds. On a
// machine with few cores, a request thread that wakes up while the job runs
// may wait for the job's whole scheduler slice (milliseconds) before it gets
// a core. bench/loadgen --flush-every-mib measured this on 2 cores: put p99
// while a flush ran was 2.4-2.8 times the p99 otherwise; yielding every 256
// entries (about 30 µs of work) brought it to 0.8-1.7 times. sched_yield
// returns at once when nothing else wants the core, so an idle machine pays
// one cheap system call per 256 entries.
//
// Owned by the one thread running the job.
#pragma once

#include <sched.h>

namespace lsmd {

class BackgroundYield {
 public:
  // Call once per entry written.
  void Tick() {
    if (++entries_ % kEntriesPerYield == 0) sched_yield();
  }

 private:
  static constexpr unsigned kEntriesPerYield = 256;
  unsigned entries_ = 0;
};

}  // namespace lsmd
