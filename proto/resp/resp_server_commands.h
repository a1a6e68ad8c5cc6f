// The RESP replies that describe the server rather than the data: INFO,
// CONFIG GET, COMMAND, TIME, HELLO, and the seed's lsmd operations
// (SSTABLE.FLUSH, SSTABLE.LOOKUP, COMPACT, STATS) as RESP2 flat arrays of
// field/value pairs.
#pragma once

#include <cstdint>
#include <string>

#include "proto/command.h"
#include "proto/resp/resp_commands.h"

namespace lsmd::proto::resp {

struct RespShared;

void AppendInfo(const RespShared& shared, Args args, std::string* out);
void AppendConfig(const RespShared& shared, Args args, std::string* out);
void AppendCommandReply(Args args, std::string* out);
void AppendTime(std::string* out);
void AppendHelloReply(const RespShared& shared, uint64_t client_id, std::string* out);

void AppendFlushResult(CommandResult result, std::string* out);
void AppendLookupResult(CommandResult result, std::string* out);
void AppendCompactResult(CommandResult result, std::string* out);
void AppendStatsResult(CommandResult result, std::string* out);

}  // namespace lsmd::proto::resp
