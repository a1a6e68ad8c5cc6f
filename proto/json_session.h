// JsonLineSession: the JSON-lines protocol as a Session. A request is one
// line (a trailing '\r' is dropped); a line longer than max_line_bytes gets
// error 12 and ends the connection (docs/PROTOCOL.md).
#pragma once

#include <cstddef>
#include <optional>

#include "proto/access.h"
#include "proto/dispatcher.h"
#include "proto/session.h"

namespace lsmd::proto {

class JsonLineSession final : public Session {
 public:
  // policy: the passwords every request is checked against (proto/access.h);
  // nullptr trusts the client (tests, in-process callers).
  JsonLineSession(Dispatcher& dispatcher, size_t max_line_bytes,
                  const AccessPolicy* policy = nullptr)
      : dispatcher_(dispatcher), max_line_bytes_(max_line_bytes) {
    if (policy != nullptr) access_.emplace(*policy);
  }

  Step HandleNext(std::string_view input, bool input_closed, std::string* out,
                  ReplyFn later) override;
  std::string RefusalReply(std::string_view reason) override;
  std::string DeniedReply(std::string_view reason) override;

 private:
  Dispatcher& dispatcher_;
  std::optional<ClientAccess> access_;
  const size_t max_line_bytes_;
  size_t scanned_ = 0;  // input[0, scanned_) is known to hold no newline
};

}  // namespace lsmd::proto
