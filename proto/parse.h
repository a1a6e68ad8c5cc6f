// Parsing one request line: JSON text -> a Request, or an ErrorReply naming
// the bad field. Never throws for anything a client can send (Boost.JSON is
// used through its error_code overloads); only std::bad_alloc can escape.
//
// Two forms are accepted (docs/PROTOCOL.md):
//   envelope  {"src": "c1", "dest": "n1", "body": {"type": "get", ...}}
//   bare      {"type": "get", ...}
// A line whose top-level object has a "body" member is an envelope.
#pragma once

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "proto/message.h"

namespace lsmd::proto {

// Where the reply to a line goes, filled in as far as the line allows even
// when the rest of it is bad, so an error can still be addressed.
struct ReplyRoute {
  // True when the line is an envelope with a string src: reply in envelope
  // form to `client`. False: reply with a bare body.
  bool envelope = false;
  std::string_view client;
  // The request's msg_id when it was a valid one; the reply's in_reply_to.
  std::optional<uint64_t> in_reply_to;
};

struct ParsedRequest {
  ReplyRoute route;
  Request request;                  // meaningful only when ok()
  std::optional<ErrorReply> error;  // set when the line is not a valid request

  bool ok() const { return !error.has_value(); }
};

// Parses one line into a document it owns; the string_views in the result
// point into that document, so they are valid while the parser lives. Small
// lines are parsed without touching the heap (an inline arena).
//
// Thread safety: none; use one parser per line, on one thread.
class RequestParser {
 public:
  RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Call once per parser: the result refers to this call's document.
  ParsedRequest Parse(std::string_view line);

 private:
  static constexpr size_t kArenaBytes = 4096;

  alignas(std::max_align_t) unsigned char arena_[kArenaBytes];
  boost::json::monotonic_resource resource_;
  boost::json::value document_;
};

}  // namespace lsmd::proto
