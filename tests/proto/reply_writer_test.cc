// Reply bytes: the seed's format exactly (", " and ": ", fixed key order),
// and strings escaped so any key or value survives the trip.
#include "proto/reply_writer.h"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <string>

namespace lsmd::proto {
namespace {

ReplyHeader EnvelopeHeader(std::optional<uint64_t> in_reply_to, uint64_t msg_id) {
  ReplyHeader header;
  header.envelope = true;
  header.src = "n1";
  header.dest = "c0";
  header.in_reply_to = in_reply_to;
  header.msg_id = msg_id;
  return header;
}

ReplyHeader BareHeader(std::optional<uint64_t> in_reply_to, uint64_t msg_id) {
  ReplyHeader header;
  header.in_reply_to = in_reply_to;
  header.msg_id = msg_id;
  return header;
}

TEST_CASE("init_ok is byte for byte the seed's line") {
  CHECK(
      WriteReply(EnvelopeHeader(1, 0), InitOk{}) ==
      R"({"src": "n1", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 1, "msg_id": 0}})");
}

TEST_CASE("an envelope error: type, in_reply_to, msg_id, code, text") {
  CHECK(
      WriteReply(EnvelopeHeader(5, 3),
                 ErrorReply{ErrorCode::kMalformedRequest, "field 'key' must be a string"}) ==
      R"({"src": "n1", "dest": "c0", "body": {"type": "error", "in_reply_to": 5, "msg_id": 3, "code": 12, "text": "field 'key' must be a string"}})");
}

TEST_CASE("a bare reply, with and without in_reply_to") {
  GetOk found{true, "1"};
  CHECK(WriteReply(BareHeader(7, 2), found) ==
        R"({"type": "get_ok", "in_reply_to": 7, "msg_id": 2, "found": true, "value": "1"})");
  CHECK(WriteReply(BareHeader(std::nullopt, 2), GetOk{}) ==
        R"({"type": "get_ok", "msg_id": 2, "found": false})");
  CHECK(WriteReply(BareHeader(std::nullopt, 9),
                   ErrorReply{ErrorCode::kMalformedRequest, "request must be a JSON object"}) ==
        R"({"type": "error", "msg_id": 9, "code": 12, "text": "request must be a JSON object"})");
  CHECK(WriteReply(BareHeader(1, 0), PutOk{}) ==
        R"({"type": "put_ok", "in_reply_to": 1, "msg_id": 0})");
  CHECK(WriteReply(BareHeader(1, 0), DeleteOk{}) ==
        R"({"type": "delete_ok", "in_reply_to": 1, "msg_id": 0})");
}

TEST_CASE("strings are escaped: quotes, backslash, control characters, \\u0000") {
  GetOk reply{true, std::string("q\"b\\n\nt\tr\r\x01\x1f", 12) + std::string(1, '\0') + "end"};
  CHECK(
      WriteReply(BareHeader(std::nullopt, 0), reply) ==
      R"({"type": "get_ok", "msg_id": 0, "found": true, "value": "q\"b\\n\nt\tr\r\u0001\u001f\u0000end"})");
}

TEST_CASE("non-ASCII UTF-8 is written as is") {
  GetOk reply{true, "h\xC3\xA9 \xE6\xBC\xA2 \xF0\x9F\x98\x80"};
  CHECK(
      WriteReply(BareHeader(std::nullopt, 0), reply) ==
      "{\"type\": \"get_ok\", \"msg_id\": 0, \"found\": true, \"value\": \"h\xC3\xA9 \xE6\xBC\xA2 "
      "\xF0\x9F\x98\x80\"}");
}

TEST_CASE("escaped strings round-trip through a JSON parser, long ones included") {
  std::string value;
  for (int i = 0; i < 5000; ++i) value += static_cast<char>(i % 32);  // all escaped, 6x longer
  value += "tail\"";
  std::string line = WriteReply(BareHeader(std::nullopt, 0), GetOk{true, value});
  boost::json::value parsed = boost::json::parse(line);
  CHECK(parsed.at("value").as_string() == value);
}

TEST_CASE("envelope src and dest are escaped too") {
  ReplyHeader header = EnvelopeHeader(std::nullopt, 0);
  header.dest = "c\"1";
  CHECK(WriteReply(header, PutOk{}) ==
        R"({"src": "n1", "dest": "c\"1", "body": {"type": "put_ok", "msg_id": 0}})");
}

TEST_CASE("scan_ok: entries as [key, value] pairs, then more") {
  ScanOk reply;
  reply.result.entries = {{"a", "1"}, {"b", "2"}};
  reply.result.more = true;
  CHECK(
      WriteReply(BareHeader(4, 1), reply) ==
      R"({"type": "scan_ok", "in_reply_to": 4, "msg_id": 1, "entries": [["a", "1"], ["b", "2"]], "more": true})");
  CHECK(WriteReply(BareHeader(4, 1), ScanOk{}) ==
        R"({"type": "scan_ok", "in_reply_to": 4, "msg_id": 1, "entries": [], "more": false})");
}

TEST_CASE("sstable_flush_ok: metadata in order, nulls for an empty MemTable") {
  SSTableFlushOk reply;
  reply.result = FlushResult{true, "L0_001.sst", 0, 50000, 480000, 4000000, "a", "z"};
  CHECK(
      WriteReply(BareHeader(1, 0), reply) ==
      R"({"type": "sstable_flush_ok", "in_reply_to": 1, "msg_id": 0, "sstable_file": "L0_001.sst", "entries": 50000, "bloom_filter_bits": 480000, "size_bytes": 4000000, "level": 0, "min_key": "a", "max_key": "z"})");
  CHECK(
      WriteReply(BareHeader(1, 0), SSTableFlushOk{}) ==
      R"({"type": "sstable_flush_ok", "in_reply_to": 1, "msg_id": 0, "sstable_file": null, "entries": 0, "bloom_filter_bits": 0, "size_bytes": 0, "level": 0, "min_key": null, "max_key": null})");
}

TEST_CASE("sstable_lookup_ok: value only when found") {
  SSTableLookupOk found{SSTableLookupResult{true, "Alice", true, 2}};
  CHECK(
      WriteReply(BareHeader(2, 1), found) ==
      R"({"type": "sstable_lookup_ok", "in_reply_to": 2, "msg_id": 1, "found": true, "value": "Alice", "bloom_checked": true, "disk_reads": 2})");
  SSTableLookupOk missing{SSTableLookupResult{false, "", true, 0}};
  CHECK(
      WriteReply(BareHeader(2, 1), missing) ==
      R"({"type": "sstable_lookup_ok", "in_reply_to": 2, "msg_id": 1, "found": false, "bloom_checked": true, "disk_reads": 0})");
}

TEST_CASE("compact_ok: levels then duration_ms") {
  CompactOk reply;
  reply.result.levels = {LevelInfo{0, 0, 0}, LevelInfo{1, 2, 4096}};
  reply.result.duration_ms = 12;
  CHECK(
      WriteReply(BareHeader(std::nullopt, 5), reply) ==
      R"({"type": "compact_ok", "msg_id": 5, "levels": [{"level": 0, "files": 0, "bytes": 0}, {"level": 1, "files": 2, "bytes": 4096}], "duration_ms": 12})");
}

TEST_CASE("stats_ok: every counter, levels and tables") {
  StatsOk reply;
  DBStats& s = reply.stats;
  s.memtable_bytes = 1;
  s.memtable_entries = 2;
  s.memtable_threshold_bytes = 3;
  s.frozen_memtables = 4;
  s.flushes = 5;
  s.flush_failures = 6;
  s.write_stalls = 7;
  s.write_slowdowns = 8;
  s.bloom_negatives = 9;
  s.bloom_false_positives = 10;
  s.wal_bytes_written = 11;
  s.sstable_bytes_written = 12;
  s.compactions = 13;
  s.compaction_bytes_read = 14;
  s.compaction_bytes_written = 15;
  s.levels = {LevelInfo{0, 1, 100}};
  s.tables = {TableInfo{"L0_001.sst", 0, 3, 100, 30, "a", "c"}};
  CHECK(
      WriteReply(BareHeader(1, 0), reply) ==
      R"({"type": "stats_ok", "in_reply_to": 1, "msg_id": 0, "memtable_bytes": 1, "memtable_entries": 2, )"
      R"("memtable_threshold_bytes": 3, "frozen_memtables": 4, "flushes": 5, "flush_failures": 6, )"
      R"("write_stalls": 7, "write_slowdowns": 8, "bloom_negatives": 9, "bloom_false_positives": 10, )"
      R"("wal_bytes_written": 11, "sstable_bytes_written": 12, "compactions": 13, )"
      R"("compaction_bytes_read": 14, "compaction_bytes_written": 15, )"
      R"("levels": [{"level": 0, "files": 1, "bytes": 100}], )"
      R"("tables": [{"name": "L0_001.sst", "level": 0, "entries": 3, "size_bytes": 100, )"
      R"("bloom_filter_bits": 30, "min_key": "a", "max_key": "c"}]})");
}

TEST_CASE("msg_id and in_reply_to print the full uint64 range") {
  CHECK(
      WriteReply(BareHeader(18446744073709551615u, 18446744073709551615u), PutOk{}) ==
      R"({"type": "put_ok", "in_reply_to": 18446744073709551615, "msg_id": 18446744073709551615})");
}

}  // namespace
}  // namespace lsmd::proto
