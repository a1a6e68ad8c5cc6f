#include "proto/dispatcher.h"

#include <exception>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "proto/errors.h"
#include "proto/message.h"
#include "proto/parse.h"
#include "proto/reply_writer.h"

namespace lsmd::proto {
namespace {

using ReplyFn = Dispatcher::ReplyFn;

// An engine Status -> the error reply a client sees.
ErrorReply ErrorFromStatus(const Status& status) {
  switch (status.code()) {
    // Requests are fully validated before they reach the engine, so an
    // InvalidArgument from it is a refusal of the moment ("engine is
    // closed" during shutdown), not a malformed request.
    case Status::Code::kBusy:
    case Status::Code::kInvalidArgument:
      return {ErrorCode::kTemporarilyUnavailable, status.message()};
    case Status::Code::kNotFound:
      return {ErrorCode::kKeyDoesNotExist, status.message()};
    default:  // IOError, NoSpace, Corruption: the kind matters to an operator.
      return {ErrorCode::kCrash, status.ToString()};
  }
}

// Each Serve function answers one request. Synchronous ones return the reply
// line; asynchronous ones take `done` into the engine's callback and return
// an empty string. The header already carries the reply's msg_id. Engine
// callbacks run on the engine's commit thread or inline (writes) or on its
// background strand (flush, compaction); they only render a reply and hand
// it to `done`.

std::string Serve(DB* db, const ReplyHeader& header, const GetRequest& request, ReplyFn&) {
  GetOk reply;
  Status status = db->Get(request.key, &reply.value);
  if (status.ok()) {
    reply.found = true;
  } else if (!status.IsNotFound()) {
    return WriteReply(header, ErrorFromStatus(status));
  }
  return WriteReply(header, reply);
}

// Replies put_ok / delete_ok (Ok) once the engine reports the write durable.
template <typename Ok>
DB::WriteCallback ReplyWhenWritten(ReplyHeader header, ReplyFn done) {
  return [header = std::move(header), done = std::move(done)](Status status) {
    done(status.ok() ? WriteReply(header, Ok{}) : WriteReply(header, ErrorFromStatus(status)));
  };
}

std::string Serve(DB* db, ReplyHeader& header, const PutRequest& request, ReplyFn& done) {
  db->PutAsync(request.key, request.value,
               ReplyWhenWritten<PutOk>(std::move(header), std::move(done)));
  return {};
}

std::string Serve(DB* db, ReplyHeader& header, const DeleteRequest& request, ReplyFn& done) {
  db->DeleteAsync(request.key, ReplyWhenWritten<DeleteOk>(std::move(header), std::move(done)));
  return {};
}

std::string Serve(DB* db, const ReplyHeader& header, const ScanRequest& request, ReplyFn&) {
  ScanOk reply;
  // The engine reads an empty end as "no upper bound"; a given end at or
  // before start (end "" included) is an empty range.
  if (request.end && *request.end <= request.start) return WriteReply(header, reply);
  Status status = db->Scan(request.start, request.end.value_or(std::string_view()), request.limit,
                           &reply.result);
  if (!status.ok()) return WriteReply(header, ErrorFromStatus(status));
  return WriteReply(header, reply);
}

std::string Serve(DB* db, ReplyHeader& header, const SSTableFlushRequest& request, ReplyFn& done) {
  if (request.memtable_size_bytes) {
    Status status = db->SetMemTableThreshold(static_cast<size_t>(*request.memtable_size_bytes));
    if (!status.ok()) return WriteReply(header, ErrorFromStatus(status));
  }
  db->FlushAsync([header = std::move(header), done = std::move(done)](Result<FlushResult> flush) {
    done(flush.ok() ? WriteReply(header, SSTableFlushOk{std::move(*flush)})
                    : WriteReply(header, ErrorFromStatus(flush.status())));
  });
  return {};
}

std::string Serve(DB* db, const ReplyHeader& header, const SSTableLookupRequest& request,
                  ReplyFn&) {
  // The engine matches the name against live tables only and never turns it
  // into a path, so "../x" or "/etc/passwd" are just names it does not know.
  Result<SSTableLookupResult> lookup = db->LookupInSSTable(request.sstable, request.key);
  if (!lookup.ok()) return WriteReply(header, ErrorFromStatus(lookup.status()));
  return WriteReply(header, SSTableLookupOk{std::move(*lookup)});
}

std::string Serve(DB* db, ReplyHeader& header, const CompactRequest&, ReplyFn& done) {
  db->CompactAllAsync(
      [header = std::move(header), done = std::move(done)](Result<CompactResult> compact) {
        done(compact.ok() ? WriteReply(header, CompactOk{std::move(*compact)})
                          : WriteReply(header, ErrorFromStatus(compact.status())));
      });
  return {};
}

std::string Serve(DB* db, const ReplyHeader& header, const StatsRequest&, ReplyFn&) {
  return WriteReply(header, StatsOk{db->GetStats()});
}

}  // namespace

Dispatcher::Dispatcher(DB* db, std::string default_node_id)
    : db_(db), node_id_(std::move(default_node_id)) {}

std::string Dispatcher::node_id() const {
  std::lock_guard lock(node_mu_);
  return node_id_;
}

std::string Dispatcher::ErrorLine(ErrorCode code, std::string_view text) {
  ReplyHeader header;
  header.msg_id = next_msg_id_.fetch_add(1, std::memory_order_relaxed);
  return WriteReply(header, ErrorReply{code, std::string(text)});
}

std::string Dispatcher::Dispatch(std::string_view line, ReplyFn& done) {
  std::string reply;
  ReplyHeader header;
  header.msg_id = next_msg_id_.fetch_add(1, std::memory_order_relaxed);
  try {
    RequestParser parser;
    ParsedRequest parsed = parser.Parse(line);
    header.envelope = parsed.route.envelope;
    header.in_reply_to = parsed.route.in_reply_to;
    if (header.envelope) header.dest = parsed.route.client;

    if (header.envelope) header.src = node_id();
    if (!parsed.ok()) {
      reply = WriteReply(header, *parsed.error);
    } else {
      reply = std::visit(
          [&](const auto& request) -> std::string {
            if constexpr (std::is_same_v<std::decay_t<decltype(request)>, InitRequest>) {
              std::lock_guard lock(node_mu_);
              node_id_ = request.node_id;
              node_ids_.assign(request.node_ids.begin(), request.node_ids.end());
              // init_ok already answers as the node init names.
              if (header.envelope) header.src = node_id_;
              return WriteReply(header, InitOk{});
            } else {
              return Serve(db_, header, request, done);
            }
          },
          parsed.request);
    }
  } catch (const std::exception& e) {
    // Only allocation failures can get here; the client still gets an answer.
    reply = WriteReply(header,
                       ErrorReply{ErrorCode::kCrash, std::string("internal error: ") + e.what()});
  }
  return reply;  // every rendered reply is a non-empty JSON object
}

void Dispatcher::Handle(std::string_view line, ReplyFn done) {
  std::string reply = Dispatch(line, done);
  // Empty: an engine callback owns `done` now and will answer.
  if (!reply.empty() && done) done(std::move(reply));
}

std::optional<std::string> Dispatcher::HandleOrDefer(std::string_view line, ReplyFn later) {
  std::string reply = Dispatch(line, later);
  if (reply.empty()) return std::nullopt;
  return reply;
}

}  // namespace lsmd::proto
