#include "bench/loadgen/wire.h"

#include <boost/json.hpp>
#include <charconv>
#include <cstdio>

namespace json = boost::json;

namespace lsmd::loadgen {
namespace {

constexpr std::string_view kFill = "abcdefghijklmnopqrstuvwxyz";

void AppendNumber(uint64_t n, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), n);
  out->append(buf, end);
}

std::string Quote(std::string_view line) {
  constexpr size_t kMax = 300;
  if (line.size() <= kMax) return std::string(line);
  return std::string(line.substr(0, kMax)) + "...";
}

// A non-negative JSON integer, or UINT64_MAX for anything else.
uint64_t ToCount(const json::value& value) {
  boost::system::error_code ec;
  const uint64_t n = value.to_number<uint64_t>(ec);
  return ec ? UINT64_MAX : n;
}

// Parses a reply line and checks its in_reply_to; the body is handed to
// `inspect` while the parsed value lives. Replies are small: parsing into a
// stack buffer spares the allocator.
template <typename Inspect>
Status WithReply(std::string_view line, uint64_t msg_id, std::string_view want_type,
                 Inspect&& inspect) {
  unsigned char buffer[4096];
  json::monotonic_resource resource(buffer);
  boost::system::error_code ec;
  json::value parsed = json::parse(line, ec, &resource);
  if (ec || !parsed.is_object()) {
    return Status::Corruption("reply is not a JSON object: " + Quote(line));
  }
  const json::object& body = parsed.get_object();
  const json::value* type = body.if_contains("type");
  if (type == nullptr || !type->is_string()) {
    return Status::Corruption("reply has no type: " + Quote(line));
  }
  if (type->get_string() != want_type) {
    return Status::Corruption("expected " + std::string(want_type) + ", got: " + Quote(line));
  }
  const json::value* in_reply_to = body.if_contains("in_reply_to");
  if (in_reply_to == nullptr || ToCount(*in_reply_to) != msg_id) {
    return Status::Corruption("reply is not to msg_id " + std::to_string(msg_id) + ": " +
                              Quote(line));
  }
  return inspect(body);
}

// A value some put of this loadgen could have written for key, any version,
// any length: "v<digits>:<key>:" then the fill pattern.
bool IsWellFormedValue(std::string_view key, std::string_view value) {
  if (value.size() < 2 || value[0] != 'v') return false;
  size_t i = 1;
  while (i < value.size() && value[i] >= '0' && value[i] <= '9') ++i;
  if (i == 1 || i >= value.size() || value[i] != ':') return false;
  std::string_view rest = value.substr(i + 1);
  if (rest.size() < key.size() + 1 || rest.substr(0, key.size()) != key ||
      rest[key.size()] != ':') {
    return false;
  }
  rest.remove_prefix(key.size() + 1);
  for (size_t j = 0; j < rest.size(); ++j) {
    if (rest[j] != kFill[j % kFill.size()]) return false;
  }
  return true;
}

}  // namespace

void AppendKey(uint64_t key_index, std::string* out) {
  char buf[32];
  const int n =
      std::snprintf(buf, sizeof(buf), "key:%012llu", static_cast<unsigned long long>(key_index));
  out->append(buf, static_cast<size_t>(n));
}

void AppendValue(std::string_view key, uint32_t version, int value_bytes, std::string* out) {
  const size_t start = out->size();
  out->push_back('v');
  AppendNumber(version, out);
  out->push_back(':');
  out->append(key);
  out->push_back(':');
  const size_t target = start + static_cast<size_t>(value_bytes);
  for (size_t j = 0; out->size() < target; ++j) out->push_back(kFill[j % kFill.size()]);
}

void AppendPutRequest(std::string_view key, std::string_view value, uint64_t msg_id,
                      std::string* out) {
  out->append(R"({"type":"put","key":")");
  out->append(key);
  out->append(R"(","value":")");
  out->append(value);
  out->append(R"(","msg_id":)");
  AppendNumber(msg_id, out);
  out->append("}\n");
}

void AppendGetRequest(std::string_view key, uint64_t msg_id, std::string* out) {
  out->append(R"({"type":"get","key":")");
  out->append(key);
  out->append(R"(","msg_id":)");
  AppendNumber(msg_id, out);
  out->append("}\n");
}

void AppendStatsRequest(uint64_t msg_id, std::string* out) {
  out->append(R"({"type":"stats","msg_id":)");
  AppendNumber(msg_id, out);
  out->append("}\n");
}

void AppendFlushRequest(uint64_t msg_id, std::string* out) {
  out->append(R"({"type":"sstable_flush","msg_id":)");
  AppendNumber(msg_id, out);
  out->append("}\n");
}

Status CheckReply(std::string_view line, const ExpectedReply& expected) {
  if (expected.op == OpType::kPut) {
    return WithReply(line, expected.msg_id, "put_ok",
                     [](const json::object&) { return Status::OK(); });
  }
  return WithReply(line, expected.msg_id, "get_ok", [&](const json::object& body) {
    const json::value* found = body.if_contains("found");
    if (found == nullptr || !found->is_bool()) {
      return Status::Corruption("get_ok without found: " + Quote(line));
    }
    if (!found->get_bool()) {
      if (expected.version == 0) return Status::OK();
      return Status::Corruption("get of " + std::string(expected.key) +
                                " found nothing after put " + "version " +
                                std::to_string(expected.version) + ": " + Quote(line));
    }
    const json::value* value = body.if_contains("value");
    if (value == nullptr || !value->is_string()) {
      return Status::Corruption("get_ok found without a value: " + Quote(line));
    }
    std::string_view got(value->get_string().data(), value->get_string().size());
    if (expected.version == 0) {
      if (IsWellFormedValue(expected.key, got)) return Status::OK();
      return Status::Corruption("get of " + std::string(expected.key) +
                                " returned a value no put wrote for it: " + Quote(line));
    }
    std::string want;
    AppendValue(expected.key, expected.version, expected.value_bytes, &want);
    if (got == want) return Status::OK();
    return Status::Corruption("get of " + std::string(expected.key) + " expected version " +
                              std::to_string(expected.version) + ": " + Quote(line));
  });
}

Result<StatsSnapshot> ParseStatsReply(std::string_view line, uint64_t msg_id) {
  StatsSnapshot snapshot;
  Status s = WithReply(line, msg_id, "stats_ok", [&](const json::object& body) {
    const json::value* frozen = body.if_contains("frozen_memtables");
    const json::value* flushes = body.if_contains("flushes");
    if (frozen == nullptr || flushes == nullptr || ToCount(*frozen) == UINT64_MAX ||
        ToCount(*flushes) == UINT64_MAX) {
      return Status::Corruption("stats_ok lacks frozen_memtables or flushes: " + Quote(line));
    }
    snapshot.frozen_memtables = ToCount(*frozen);
    snapshot.flushes = ToCount(*flushes);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return snapshot;
}

Status CheckFlushReply(std::string_view line, uint64_t msg_id) {
  return WithReply(line, msg_id, "sstable_flush_ok",
                   [](const json::object&) { return Status::OK(); });
}

}  // namespace lsmd::loadgen
