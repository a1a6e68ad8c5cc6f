#include "proto/reply_writer.h"

#include <algorithm>
#include <boost/json/serializer.hpp>
#include <charconv>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/byte_strings.h"

namespace lsmd::proto {
namespace detail {

// Appends JSON to one string with the seed's separators. Structure is written
// here; string contents are escaped by Boost.JSON's serializer (it has no
// option for ", " and ": ", so it cannot write the structure itself).
//
// No nesting stack is needed: a comma is due before an element unless it
// directly follows '{', '[' or a key.
class JsonWriter {
 public:
  explicit JsonWriter(size_t reserve) { out_.reserve(reserve); }

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }

  // name is one of our own ASCII field names: written without escaping.
  JsonWriter& Key(std::string_view name) {
    if (comma_due_) out_ += ", ";
    out_ += '"';
    out_ += name;
    out_ += "\": ";
    after_key_ = true;
    return *this;
  }

  void String(std::string_view text) {
    BeforeValue();
    AppendEscaped(text);
    comma_due_ = true;
  }
  // Key and value bytes: a JSON string when they are valid UTF-8, else
  // {"base64": "..."} so that no byte is lost or mangled (docs/PROTOCOL.md).
  void Bytes(std::string_view bytes) {
    if (IsValidUtf8(bytes)) return String(bytes);
    BeginObject();
    Key("base64").String(Base64Encode(bytes));
    EndObject();
  }
  void BytesOrNull(bool present, std::string_view bytes) {
    if (present) {
      Bytes(bytes);
    } else {
      Null();
    }
  }
  // Human-readable text that may quote client bytes (an error naming a
  // key): each byte that is not part of valid UTF-8 becomes '?'.
  void Text(std::string_view text) {
    if (IsValidUtf8(text)) return String(text);
    std::string cleaned;
    cleaned.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
      size_t n = 1;
      while (n <= 4 && i + n <= text.size() && !IsValidUtf8(text.substr(i, n))) ++n;
      if (n > 4 || i + n > text.size()) {
        cleaned += '?';
        ++i;
      } else {
        cleaned.append(text.substr(i, n));
        i += n;
      }
    }
    String(cleaned);
  }
  void Uint(uint64_t number) {
    BeforeValue();
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), number);
    out_.append(digits, end);
    comma_due_ = true;
  }
  void Bool(bool flag) { Literal(flag ? "true" : "false"); }
  void Null() { Literal("null"); }
  // A string, or null when absent (e.g. the keys of an empty flush).
  void StringOrNull(bool present, std::string_view text) {
    if (present) {
      String(text);
    } else {
      Null();
    }
  }

  std::string Take() { return std::move(out_); }

 private:
  void BeforeValue() {
    if (after_key_) {
      after_key_ = false;
    } else if (comma_due_) {
      out_ += ", ";
    }
  }
  void Open(char bracket) {
    BeforeValue();
    out_ += bracket;
    comma_due_ = false;
  }
  void Close(char bracket) {
    out_ += bracket;
    comma_due_ = true;
  }
  void Literal(std::string_view literal) {
    BeforeValue();
    out_ += literal;
    comma_due_ = true;
  }

  // Quotes and escapes text straight into out_, in chunks: a chunk sized for
  // the unescaped text usually takes it all at once.
  void AppendEscaped(std::string_view text) {
    boost::json::serializer serializer;
    serializer.reset(boost::json::string_view(text.data(), text.size()));
    size_t used = out_.size();
    size_t chunk = text.size() + 16;
    while (!serializer.done()) {
      out_.resize(used + chunk);
      used += serializer.read(out_.data() + used, chunk).size();
      chunk = std::max<size_t>(chunk, 256);
    }
    out_.resize(used);
  }

  std::string out_;
  bool comma_due_ = false;
  bool after_key_ = false;
};

}  // namespace detail

namespace {

using detail::JsonWriter;

// Starts a reply: the envelope (when wanted) and the body's leading keys.
// `payload` estimates the bytes of the message's own fields.
JsonWriter BeginReply(const ReplyHeader& header, std::string_view type, size_t payload) {
  JsonWriter writer(96 + header.src.size() + header.dest.size() + type.size() + payload);
  if (header.envelope) {
    writer.BeginObject();
    writer.Key("src").String(header.src);
    writer.Key("dest").String(header.dest);
    writer.Key("body");
  }
  writer.BeginObject();
  writer.Key("type").String(type);
  if (header.in_reply_to) writer.Key("in_reply_to").Uint(*header.in_reply_to);
  writer.Key("msg_id").Uint(header.msg_id);
  return writer;
}

std::string FinishReply(const ReplyHeader& header, JsonWriter& writer) {
  writer.EndObject();
  if (header.envelope) writer.EndObject();
  return writer.Take();
}

std::string EmptyReply(const ReplyHeader& header, std::string_view type) {
  JsonWriter writer = BeginReply(header, type, 0);
  return FinishReply(header, writer);
}

void WriteLevels(JsonWriter& writer, const std::vector<LevelInfo>& levels) {
  writer.BeginArray();
  for (const LevelInfo& level : levels) {
    writer.BeginObject();
    writer.Key("level").Uint(static_cast<uint64_t>(level.level));
    writer.Key("files").Uint(level.files);
    writer.Key("bytes").Uint(level.bytes);
    writer.EndObject();
  }
  writer.EndArray();
}

void WriteTables(JsonWriter& writer, const std::vector<TableInfo>& tables) {
  writer.BeginArray();
  for (const TableInfo& table : tables) {
    writer.BeginObject();
    writer.Key("name").String(table.name);
    writer.Key("level").Uint(static_cast<uint64_t>(table.level));
    writer.Key("entries").Uint(table.entries);
    writer.Key("size_bytes").Uint(table.size_bytes);
    writer.Key("bloom_filter_bits").Uint(table.bloom_bits);
    writer.Key("min_key").Bytes(table.smallest_key);
    writer.Key("max_key").Bytes(table.largest_key);
    writer.EndObject();
  }
  writer.EndArray();
}

}  // namespace

std::string WriteReply(const ReplyHeader& header, const InitOk&) {
  return EmptyReply(header, "init_ok");
}

std::string WriteReply(const ReplyHeader& header, const AuthOk& reply) {
  JsonWriter writer = BeginReply(header, "auth_ok", 0);
  writer.Key("admin").Bool(reply.admin);
  return FinishReply(header, writer);
}

std::string WriteReply(const ReplyHeader& header, const PutOk&) {
  return EmptyReply(header, "put_ok");
}

std::string WriteReply(const ReplyHeader& header, const DeleteOk&) {
  return EmptyReply(header, "delete_ok");
}

std::string WriteReply(const ReplyHeader& header, const GetOk& reply) {
  JsonWriter writer = BeginReply(header, "get_ok", 32 + reply.value.size());
  writer.Key("found").Bool(reply.found);
  if (reply.found) writer.Key("value").Bytes(reply.value);
  return FinishReply(header, writer);
}

ScanReplyWriter::ScanReplyWriter(const ReplyHeader& header, size_t payload)
    : header_(header),
      writer_(std::make_unique<JsonWriter>(BeginReply(header, "scan_ok", 32 + payload))) {
  writer_->Key("entries").BeginArray();
}

ScanReplyWriter::~ScanReplyWriter() = default;

void ScanReplyWriter::Add(std::string_view key, std::string_view value) {
  writer_->BeginArray();
  writer_->Bytes(key);
  writer_->Bytes(value);
  writer_->EndArray();
}

std::string ScanReplyWriter::Finish(bool more) {
  writer_->EndArray();
  writer_->Key("more").Bool(more);
  return FinishReply(header_, *writer_);
}

std::string WriteReply(const ReplyHeader& header, const ScanOk& reply) {
  size_t payload = 0;
  for (const auto& [key, value] : reply.result.entries) payload += key.size() + value.size() + 10;
  ScanReplyWriter writer(header, payload);
  for (const auto& [key, value] : reply.result.entries) writer.Add(key, value);
  return writer.Finish(reply.result.more);
}

std::string WriteReply(const ReplyHeader& header, const SSTableFlushOk& reply) {
  const FlushResult& flush = reply.result;
  const bool wrote = flush.wrote_file;
  JsonWriter writer = BeginReply(
      header, "sstable_flush_ok",
      200 + flush.file_name.size() + flush.smallest_key.size() + flush.largest_key.size());
  writer.Key("sstable_file").StringOrNull(wrote, flush.file_name);
  writer.Key("entries").Uint(wrote ? flush.entries : 0);
  writer.Key("bloom_filter_bits").Uint(wrote ? flush.bloom_bits : 0);
  writer.Key("size_bytes").Uint(wrote ? flush.size_bytes : 0);
  writer.Key("level").Uint(wrote ? static_cast<uint64_t>(flush.level) : 0);
  writer.Key("min_key").BytesOrNull(wrote, flush.smallest_key);
  writer.Key("max_key").BytesOrNull(wrote, flush.largest_key);
  return FinishReply(header, writer);
}

std::string WriteReply(const ReplyHeader& header, const SSTableLookupOk& reply) {
  const SSTableLookupResult& lookup = reply.result;
  JsonWriter writer = BeginReply(header, "sstable_lookup_ok", 80 + lookup.value.size());
  writer.Key("found").Bool(lookup.found);
  if (lookup.found) writer.Key("value").Bytes(lookup.value);
  writer.Key("bloom_checked").Bool(lookup.bloom_checked);
  writer.Key("disk_reads").Uint(static_cast<uint64_t>(std::max(lookup.disk_reads, 0)));
  return FinishReply(header, writer);
}

std::string WriteReply(const ReplyHeader& header, const CompactOk& reply) {
  JsonWriter writer = BeginReply(header, "compact_ok", 64 + 48 * reply.result.levels.size());
  writer.Key("levels");
  WriteLevels(writer, reply.result.levels);
  writer.Key("duration_ms").Uint(reply.result.duration_ms);
  return FinishReply(header, writer);
}

std::string WriteReply(const ReplyHeader& header, const StatsOk& reply) {
  const DBStats& stats = reply.stats;
  size_t payload = 640 + 48 * stats.levels.size();
  for (const TableInfo& table : stats.tables) {
    payload += 160 + table.name.size() + table.smallest_key.size() + table.largest_key.size();
  }
  JsonWriter writer = BeginReply(header, "stats_ok", payload);
  writer.Key("memtable_bytes").Uint(stats.memtable_bytes);
  writer.Key("memtable_entries").Uint(stats.memtable_entries);
  writer.Key("memtable_threshold_bytes").Uint(stats.memtable_threshold_bytes);
  writer.Key("frozen_memtables").Uint(stats.frozen_memtables);
  writer.Key("flushes").Uint(stats.flushes);
  writer.Key("flush_failures").Uint(stats.flush_failures);
  writer.Key("write_stalls").Uint(stats.write_stalls);
  writer.Key("write_slowdowns").Uint(stats.write_slowdowns);
  writer.Key("bloom_negatives").Uint(stats.bloom_negatives);
  writer.Key("bloom_false_positives").Uint(stats.bloom_false_positives);
  writer.Key("wal_bytes_written").Uint(stats.wal_bytes_written);
  writer.Key("sstable_bytes_written").Uint(stats.sstable_bytes_written);
  writer.Key("compactions").Uint(stats.compactions);
  writer.Key("compaction_bytes_read").Uint(stats.compaction_bytes_read);
  writer.Key("compaction_bytes_written").Uint(stats.compaction_bytes_written);
  if (reply.auth_failures) writer.Key("auth_failures").Uint(*reply.auth_failures);
  writer.Key("levels");
  WriteLevels(writer, stats.levels);
  writer.Key("tables");
  WriteTables(writer, stats.tables);
  return FinishReply(header, writer);
}

std::string WriteReply(const ReplyHeader& header, const ErrorReply& reply) {
  JsonWriter writer = BeginReply(header, "error", 32 + reply.text.size());
  writer.Key("code").Uint(static_cast<uint64_t>(reply.code));
  writer.Key("text").Text(reply.text);
  return FinishReply(header, writer);
}

}  // namespace lsmd::proto
