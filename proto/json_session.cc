#include "proto/json_session.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

namespace lsmd::proto {

Session::Step JsonLineSession::HandleNext(std::string_view input, bool input_closed,
                                          std::string* out, ReplyFn later) {
  // Resume the newline search where the last call gave up: a long line that
  // arrives in many reads is scanned once.
  size_t newline = input.find('\n', std::min(scanned_, input.size()));
  size_t consumed;
  if (newline == std::string_view::npos) {
    if (input.size() > max_line_bytes_) newline = input.size();  // too long already
    if (newline == std::string_view::npos && (!input_closed || input.empty())) {
      scanned_ = input.size();
      return {Outcome::kNeedMore, 0};
    }
    // The client half-closed after an unterminated last line: answer it.
    if (newline == std::string_view::npos) newline = input.size();
    consumed = input.size();
  } else {
    consumed = newline + 1;
  }
  scanned_ = 0;
  if (newline > max_line_bytes_) {
    *out += dispatcher_.ErrorLine(ErrorCode::kMalformedRequest,
                                  "line longer than " + std::to_string(max_line_bytes_) + " bytes");
    *out += '\n';
    return {Outcome::kFatal, input.size()};
  }
  std::string_view line = input.substr(0, newline);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // telnet, CRLF clients
  ClientAccess* access = access_ ? &*access_ : nullptr;
  std::optional<std::string> reply =
      dispatcher_.HandleOrDefer(line, access, [later = std::move(later)](std::string deferred) {
        deferred += '\n';
        later(std::move(deferred));
      });
  if (!reply) return {Outcome::kDeferred, consumed};
  // A reply larger than the output's buffer becomes the output as is, so a
  // large scan reply is not copied once more; a smaller one is copied into
  // the buffer the output already has, which is reused rather than churned.
  if (out->empty() && reply->size() >= out->capacity()) {
    *out = std::move(*reply);
  } else {
    *out += *reply;
  }
  *out += '\n';
  Step step{Outcome::kAnswered, consumed};
  if (access != nullptr) {
    step.delay = access->TakeDelay();
    if (access->exhausted()) step.outcome = Outcome::kClose;
  }
  return step;
}

std::string JsonLineSession::DeniedReply(std::string_view reason) {
  return dispatcher_.ErrorLine(ErrorCode::kDenied, reason) + "\n";
}

std::string JsonLineSession::RefusalReply(std::string_view reason) {
  return dispatcher_.ErrorLine(ErrorCode::kTemporarilyUnavailable, reason) + "\n";
}

}  // namespace lsmd::proto
