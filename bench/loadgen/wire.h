// The lines loadgen writes and the checks on the lines it reads
// (docs/PROTOCOL.md). Keys are "key:%012llu" (16 bytes, as redis-benchmark's
// -r keys); a value names its key and version, so a get can be checked:
//
//   v<version>:<key>:abcdefghijklmnopqrstuvwxyzabc...   (value_bytes long)
//
// Keys and values hold only characters JSON needs no escape for.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bench/loadgen/options.h"
#include "core/status.h"

namespace lsmd::loadgen {

void AppendKey(uint64_t key_index, std::string* out);
// REQUIRES: value_bytes >= 32 and version >= 1.
void AppendValue(std::string_view key, uint32_t version, int value_bytes, std::string* out);

void AppendPutRequest(std::string_view key, std::string_view value, uint64_t msg_id,
                      std::string* out);
void AppendGetRequest(std::string_view key, uint64_t msg_id, std::string* out);
void AppendStatsRequest(uint64_t msg_id, std::string* out);
void AppendFlushRequest(uint64_t msg_id, std::string* out);

// What a request's reply must say.
struct ExpectedReply {
  OpType op = OpType::kPut;
  uint64_t msg_id = 0;
  std::string_view key;
  // Gets only: the version this connection put last (0: never put by this
  // run, so the key may be absent or hold any well-formed value for it).
  uint32_t version = 0;
  int value_bytes = 0;
};

// OK when the line is the right reply (type, in_reply_to, value); otherwise
// a message quoting what was wrong, for the error report.
Status CheckReply(std::string_view line, const ExpectedReply& expected);

// The stats fields the flush tracker reads.
struct StatsSnapshot {
  uint64_t frozen_memtables = 0;
  uint64_t flushes = 0;
};
Result<StatsSnapshot> ParseStatsReply(std::string_view line, uint64_t msg_id);
Status CheckFlushReply(std::string_view line, uint64_t msg_id);

}  // namespace lsmd::loadgen
