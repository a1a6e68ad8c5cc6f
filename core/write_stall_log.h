// WriteStallLog: the log lines of write stalls, bounded. A stall's start is
// logged at warn and its end at info, with how long it lasted; but after a
// line, the next stall's start is logged only once `interval` has passed.
// Stalls not logged are counted, and their number and summed time go into
// the next line (or into a summary line at the end of one, once the
// interval has passed). So a storm of stalls, each short, writes at most
// about two lines per interval, and the log still accounts for all of them.
//
// Not thread-safe: owned by the engine's committer (the only thread that
// stalls), whose calls are one at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace lsmd {

class WriteStallLog {
 public:
  using Clock = std::chrono::steady_clock;

  explicit WriteStallLog(Clock::duration interval = std::chrono::seconds(1))
      : interval_(interval) {}

  // cause: what the writers wait for, e.g. "2 frozen MemTables waiting, 3 L0
  // files".
  void Started(Clock::time_point now, const std::string& cause);
  // outcome: empty when the stall ended because room was made; otherwise
  // why the waiting writes gave up (they fail with it).
  void Ended(Clock::time_point now, Clock::duration lasted, const std::string& outcome);

 private:
  bool IntervalPassed(Clock::time_point now) const {
    return !logged_any_ || now - last_line_ >= interval_;
  }
  // ", and N more stalls (X ms in all) since the last report", or "".
  std::string TakeUnreported();

  const Clock::duration interval_;
  bool logged_any_ = false;
  Clock::time_point last_line_;
  bool current_logged_ = false;  // the stall in progress had its start logged
  uint64_t unreported_ = 0;
  Clock::duration unreported_time_{0};
};

}  // namespace lsmd
