// Writing a reply: one JSON line (without the newline) in the seed's byte
// format, which is Python's json.dumps default style:
//   {"src": "n1", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 1, "msg_id": 0}}
// - separators ", " and ": " everywhere, nested objects and arrays included;
// - keys in a fixed order: src, dest, body; in the body type, in_reply_to,
//   msg_id, then the message's own fields in the order docs/PROTOCOL.md lists;
// - strings escaped by Boost.JSON's serializer (quote, backslash and control
//   characters escaped, \u0000 included; other UTF-8 written as is).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proto/message.h"

namespace lsmd::proto {

struct ReplyHeader {
  // Envelope form ({"src", "dest", "body"}) or a bare body.
  bool envelope = false;
  std::string src;   // this node's id (envelope only)
  std::string dest;  // the requesting client (envelope only)
  // The request's msg_id; omitted from the reply when the request had none.
  std::optional<uint64_t> in_reply_to;
  uint64_t msg_id = 0;  // the reply's own id
};

std::string WriteReply(const ReplyHeader& header, const InitOk& reply);
std::string WriteReply(const ReplyHeader& header, const AuthOk& reply);
std::string WriteReply(const ReplyHeader& header, const PutOk& reply);
std::string WriteReply(const ReplyHeader& header, const GetOk& reply);
std::string WriteReply(const ReplyHeader& header, const DeleteOk& reply);
std::string WriteReply(const ReplyHeader& header, const ScanOk& reply);
std::string WriteReply(const ReplyHeader& header, const SSTableFlushOk& reply);
std::string WriteReply(const ReplyHeader& header, const SSTableLookupOk& reply);
std::string WriteReply(const ReplyHeader& header, const CompactOk& reply);
std::string WriteReply(const ReplyHeader& header, const StatsOk& reply);
std::string WriteReply(const ReplyHeader& header, const ErrorReply& reply);

namespace detail {
class JsonWriter;
}

// A scan_ok reply written while the engine yields its entries: the sink of a
// ScanCommand, so each key and value goes from the engine's views straight
// into the reply line, with no list of copied entries in between. The same
// bytes as WriteReply(header, ScanOk{...}). payload: a guess at the bytes of
// the entries, to size the line's buffer.
class ScanReplyWriter final : public ScanSink {
 public:
  explicit ScanReplyWriter(const ReplyHeader& header, size_t payload = 4096);
  ~ScanReplyWriter() override;
  ScanReplyWriter(const ScanReplyWriter&) = delete;
  ScanReplyWriter& operator=(const ScanReplyWriter&) = delete;

  void Add(std::string_view key, std::string_view value) override;
  // The finished line; the writer is spent.
  std::string Finish(bool more);

 private:
  const ReplyHeader header_;
  std::unique_ptr<detail::JsonWriter> writer_;
};

}  // namespace lsmd::proto
