// Session: one connection's protocol state, bytes in and bytes out, with no
// socket in sight. server/connection.cc owns the socket and feeds whatever it
// read to a Session, which frames requests, turns each into commands (through
// its codec) and appends the reply bytes. One per connection; used by that
// connection's thread only.
//
// Implementations: JsonLineSession (json_session.h: newline-delimited JSON)
// and resp::RespSession (resp/resp_session.h: RESP2).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace lsmd::proto {

class Session {
 public:
  // Receives the reply bytes of a deferred request, exactly once, on an
  // engine thread or inline before HandleNext returns.
  using ReplyFn = std::function<void(std::string reply)>;

  enum class Outcome {
    kNeedMore,  // no complete request at the front of the input; read more
    kAnswered,  // a request was handled; its reply (maybe none) is in *out
    kDeferred,  // a request was handled; its reply comes through `later`
    kClose,     // the reply in *out is the last: write it, then close (QUIT)
    kFatal,     // the client broke the protocol: write *out, then stop
                // reading and close (after a linger, so it reads the reply)
  };
  struct Step {
    Outcome outcome = Outcome::kNeedMore;
    size_t consumed = 0;  // bytes of input the request used
    // Hold the reply this long before sending it or reading on (a failed
    // login: proto/access.h).
    std::chrono::milliseconds delay{0};
  };

  virtual ~Session() = default;

  // Handles at most one request from the front of input (which starts at a
  // request boundary). input_closed: the client will send nothing more, so
  // a final unterminated request may be taken as complete.
  virtual Step HandleNext(std::string_view input, bool input_closed, std::string* out,
                          ReplyFn later) = 0;

  // The one reply that refuses a connection (too many open), in this
  // protocol's form.
  virtual std::string RefusalReply(std::string_view reason) = 0;
  // The one reply that turns a client away before any request (protected
  // mode), in this protocol's form.
  virtual std::string DeniedReply(std::string_view reason) = 0;
};

}  // namespace lsmd::proto
