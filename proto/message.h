// The messages of the protocol (docs/PROTOCOL.md): one struct per request
// body and one per reply body, plus the limits the parser enforces.
//
// Requests hold string_views into the parsed line (see RequestParser in
// parse.h): they are valid only while that parser lives. Replies own their data
// because a reply may be written later, on an engine thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/db.h"
#include "proto/command.h"
#include "proto/errors.h"

namespace lsmd::proto {

// Key, value, scan and threshold limits: proto/command.h, shared by every
// port.
//
// Deepest JSON nesting accepted in a request line; the deepest real message
// (an envelope around init's node_ids) needs 3.
inline constexpr size_t kMaxJsonDepth = 16;

// ---- Requests (the "body" of a line, or the whole line in bare form) ----

struct InitRequest {
  std::string_view node_id;
  std::vector<std::string_view> node_ids;
};

struct PutRequest {
  std::string_view key;
  std::string_view value;
};

struct GetRequest {
  std::string_view key;
};

struct DeleteRequest {
  std::string_view key;
};

struct ScanRequest {
  std::string_view start;               // inclusive; "" = from the first key
  std::optional<std::string_view> end;  // exclusive; absent = no upper bound
  uint64_t limit = kDefaultScanLimit;   // 1 .. kMaxScanLimit
};

struct SSTableFlushRequest {
  // The automatic flush threshold from now on, when given.
  std::optional<uint64_t> memtable_size_bytes;
};

struct SSTableLookupRequest {
  std::string_view sstable;  // a live table's file name, e.g. "L0_001.sst"
  std::string_view key;
};

struct CompactRequest {};

struct StatsRequest {};

// Logs this connection in (docs/SECURITY.md). The password is never echoed
// or logged.
struct AuthRequest {
  std::string_view password;
  std::string_view user;  // optional: "admin" tries the admin password only
};

using Request =
    std::variant<InitRequest, PutRequest, GetRequest, DeleteRequest, ScanRequest,
                 SSTableFlushRequest, SSTableLookupRequest, CompactRequest, StatsRequest,
                 AuthRequest>;

// ---- Replies ----

struct InitOk {};

struct AuthOk {
  bool admin = false;  // the connection may now run admin commands
};

struct PutOk {};

struct GetOk {
  bool found = false;
  std::string value;  // written only when found
};

struct DeleteOk {};

struct ScanOk {
  ScanResult result;
};

struct SSTableFlushOk {
  // result.wrote_file == false (empty MemTable): file name and keys are null.
  FlushResult result;
};

struct SSTableLookupOk {
  SSTableLookupResult result;  // value written only when found
};

struct CompactOk {
  CompactResult result;
};

struct StatsOk {
  DBStats stats;
  // Failed logins on both ports since start; only when a password is set.
  std::optional<uint64_t> auth_failures;
};

struct ErrorReply {
  ErrorCode code = ErrorCode::kMalformedRequest;
  std::string text;
};

}  // namespace lsmd::proto
