#include "core/write_stall_log.h"

#include <spdlog/spdlog.h>

namespace lsmd {
namespace {

int64_t Millis(WriteStallLog::Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

std::string WriteStallLog::TakeUnreported() {
  if (unreported_ == 0) return "";
  std::string text = "; " + std::to_string(unreported_) + " more stall" +
                     (unreported_ == 1 ? "" : "s") + " (" +
                     std::to_string(Millis(unreported_time_)) + " ms in all) since the last report";
  unreported_ = 0;
  unreported_time_ = Clock::duration{0};
  return text;
}

void WriteStallLog::Started(Clock::time_point now, const std::string& cause) {
  current_logged_ = IntervalPassed(now);
  if (!current_logged_) return;
  spdlog::warn("write stall: {}{}", cause, TakeUnreported());
  logged_any_ = true;
  last_line_ = now;
}

void WriteStallLog::Ended(Clock::time_point now, Clock::duration lasted,
                          const std::string& outcome) {
  if (current_logged_) {
    current_logged_ = false;
    if (outcome.empty()) {
      spdlog::info("write stall ended after {} ms{}", Millis(lasted), TakeUnreported());
    } else {
      spdlog::warn("write stall ended after {} ms, the writes failed: {}{}", Millis(lasted),
                   outcome, TakeUnreported());
    }
    last_line_ = now;
    return;
  }
  ++unreported_;
  unreported_time_ += lasted;
  if (!IntervalPassed(now)) return;
  spdlog::info("write stalls: {} since the last report, {} ms in all", unreported_,
               Millis(unreported_time_));
  unreported_ = 0;
  unreported_time_ = Clock::duration{0};
  last_line_ = now;
}

}  // namespace lsmd
