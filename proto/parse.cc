#include "proto/parse.h"

#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <string>
#include <utility>

namespace lsmd::proto {
namespace {

namespace json = boost::json;

// Longest message type echoed back in the "not supported" text; a longer one
// is not repeated, so a junk line cannot make a huge reply.
constexpr size_t kMaxEchoedTypeBytes = 64;

std::string Quoted(std::string_view name) { return "field '" + std::string(name) + "'"; }

// Reads the fields of one body object, keeping the first error it meets so
// a message parser can read every field and check once at the end.
class FieldReader {
 public:
  explicit FieldReader(const json::object& body) : body_(body) {}

  std::optional<ErrorReply>& error() { return error_; }

  // A required JSON string.
  std::string_view RequiredString(std::string_view name) {
    const json::value* field = body_.if_contains(name);
    const json::string* text = field ? field->if_string() : nullptr;
    if (text == nullptr) {
      Fail(Quoted(name) + " must be a string");
      return {};
    }
    return *text;
  }

  // A string absent or null -> nullopt.
  std::optional<std::string_view> OptionalString(std::string_view name) {
    const json::value* field = body_.if_contains(name);
    if (field == nullptr || field->is_null()) return std::nullopt;
    if (const json::string* text = field->if_string()) return std::string_view(*text);
    Fail(Quoted(name) + " must be a string");
    return std::nullopt;
  }

  // A required key: a string of 1 .. kMaxKeyBytes bytes.
  std::string_view Key(std::string_view name) {
    std::string_view key = RequiredString(name);
    if (error_) return {};
    if (key.empty()) {
      Fail(Quoted(name) + " must not be empty");
    } else if (key.size() > kMaxKeyBytes) {
      Fail(Quoted(name) + " must be at most " + std::to_string(kMaxKeyBytes) + " bytes, got " +
           std::to_string(key.size()));
    }
    return key;
  }

  // An integer in [min, max]; absent or null -> nullopt. Doubles (even 5.0),
  // strings and negative numbers are rejected.
  std::optional<uint64_t> OptionalCount(std::string_view name, uint64_t min, uint64_t max) {
    const json::value* field = body_.if_contains(name);
    if (field == nullptr || field->is_null()) return std::nullopt;
    std::optional<uint64_t> count;
    if (const int64_t* signed_value = field->if_int64()) {
      if (*signed_value >= 0) count = static_cast<uint64_t>(*signed_value);
    } else if (const uint64_t* unsigned_value = field->if_uint64()) {
      count = *unsigned_value;
    }
    if (!count || *count < min || *count > max) {
      Fail(Quoted(name) + " must be an integer from " + std::to_string(min) + " to " +
           std::to_string(max));
      return std::nullopt;
    }
    return count;
  }

  // A required array of strings.
  std::vector<std::string_view> StringArray(std::string_view name) {
    std::vector<std::string_view> out;
    const json::value* field = body_.if_contains(name);
    const json::array* items = field ? field->if_array() : nullptr;
    if (items != nullptr) {
      out.reserve(items->size());
      for (const json::value& item : *items) {
        const json::string* text = item.if_string();
        if (text == nullptr) break;
        out.emplace_back(*text);
      }
    }
    if (items == nullptr || out.size() != items->size()) {
      Fail(Quoted(name) + " must be an array of strings");
    }
    return out;
  }

 private:
  void Fail(std::string text) {
    if (!error_) error_ = ErrorReply{ErrorCode::kMalformedRequest, std::move(text)};
  }

  const json::object& body_;
  std::optional<ErrorReply> error_;
};

Request ParseInit(FieldReader& fields) {
  InitRequest init;
  init.node_id = fields.RequiredString("node_id");
  init.node_ids = fields.StringArray("node_ids");
  return init;
}

Request ParsePut(FieldReader& fields) {
  PutRequest put;
  put.key = fields.Key("key");
  put.value = fields.RequiredString("value");
  return put;
}

Request ParseGet(FieldReader& fields) { return GetRequest{fields.Key("key")}; }

Request ParseDelete(FieldReader& fields) { return DeleteRequest{fields.Key("key")}; }

Request ParseScan(FieldReader& fields) {
  ScanRequest scan;
  scan.start = fields.OptionalString("start").value_or(std::string_view());
  scan.end = fields.OptionalString("end");
  scan.limit = fields.OptionalCount("limit", 1, kMaxScanLimit).value_or(kDefaultScanLimit);
  return scan;
}

Request ParseSSTableFlush(FieldReader& fields) {
  SSTableFlushRequest flush;
  flush.memtable_size_bytes =
      fields.OptionalCount("memtable_size_bytes", 1, kMaxMemTableThresholdBytes);
  return flush;
}

Request ParseSSTableLookup(FieldReader& fields) {
  SSTableLookupRequest lookup;
  lookup.sstable = fields.RequiredString("sstable");
  lookup.key = fields.Key("key");
  return lookup;
}

Request ParseCompact(FieldReader&) { return CompactRequest{}; }

Request ParseStats(FieldReader&) { return StatsRequest{}; }

Request ParseAuth(FieldReader& fields) {
  AuthRequest auth;
  auth.password = fields.RequiredString("password");
  auth.user = fields.OptionalString("user").value_or(std::string_view());
  return auth;
}

struct MessageParser {
  std::string_view type;
  Request (*parse)(FieldReader&);
};

// The hot types first: the lookup is a short linear scan.
constexpr MessageParser kMessageParsers[] = {
    {"get", ParseGet},
    {"put", ParsePut},
    {"delete", ParseDelete},
    {"scan", ParseScan},
    {"sstable_lookup", ParseSSTableLookup},
    {"sstable_flush", ParseSSTableFlush},
    {"compact", ParseCompact},
    {"stats", ParseStats},
    {"init", ParseInit},
    {"auth", ParseAuth},
};

ErrorReply Malformed(std::string text) {
  return ErrorReply{ErrorCode::kMalformedRequest, std::move(text)};
}

bool IsBlank(std::string_view line) {
  return line.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// A valid msg_id is a JSON integer >= 0.
std::optional<uint64_t> AsMsgId(const json::value& field) {
  if (const int64_t* signed_value = field.if_int64()) {
    if (*signed_value >= 0) return static_cast<uint64_t>(*signed_value);
    return std::nullopt;
  }
  if (const uint64_t* unsigned_value = field.if_uint64()) return *unsigned_value;
  return std::nullopt;
}

// Parses a body object (the whole line in bare form) into out.
void ParseBody(const json::object& body, ParsedRequest& out) {
  if (const json::value* msg_id = body.if_contains("msg_id")) {
    out.route.in_reply_to = AsMsgId(*msg_id);
    if (!out.route.in_reply_to) {
      out.error = Malformed("field 'msg_id' must be a non-negative integer");
      return;
    }
  }
  const json::value* type_field = body.if_contains("type");
  const json::string* type = type_field ? type_field->if_string() : nullptr;
  if (type == nullptr) {
    out.error = Malformed("field 'type' must be a string");
    return;
  }
  for (const MessageParser& parser : kMessageParsers) {
    if (parser.type != std::string_view(*type)) continue;
    FieldReader fields(body);
    out.request = parser.parse(fields);
    out.error = std::move(fields.error());
    return;
  }
  std::string text = "message type ";
  if (type->size() <= kMaxEchoedTypeBytes) text += "'" + std::string(*type) + "' ";
  text += "is not supported";
  out.error = ErrorReply{ErrorCode::kNotSupported, std::move(text)};
}

}  // namespace

RequestParser::RequestParser()
    : resource_(arena_, sizeof(arena_)), document_(json::storage_ptr(&resource_)) {}

ParsedRequest RequestParser::Parse(std::string_view line) {
  ParsedRequest out;
  if (IsBlank(line)) {
    out.error = Malformed("request line is empty");
    return out;
  }
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  json::error_code ec;
  // Same storage as document_, so the move below keeps the arena's memory.
  document_ =
      json::parse(json::string_view(line.data(), line.size()), ec, document_.storage(), options);
  if (ec) {
    out.error = Malformed("request is not valid JSON: " + ec.message());
    return out;
  }
  const json::object* top = document_.if_object();
  if (top == nullptr) {
    out.error = Malformed("request must be a JSON object");
    return out;
  }
  const json::value* body_field = top->if_contains("body");
  if (body_field == nullptr) {
    ParseBody(*top, out);
    return out;
  }
  // Envelope: address the reply before looking at the body, so even a bad
  // body is answered in envelope form.
  const json::value* src_field = top->if_contains("src");
  const json::string* src = src_field ? src_field->if_string() : nullptr;
  if (src != nullptr) {
    out.route.envelope = true;
    out.route.client = *src;
  }
  const json::object* body = body_field->if_object();
  if (body == nullptr) {
    out.error = Malformed("field 'body' must be an object");
    return out;
  }
  ParseBody(*body, out);
  if (src == nullptr && out.ok()) out.error = Malformed("field 'src' must be a string");
  return out;
}

}  // namespace lsmd::proto
