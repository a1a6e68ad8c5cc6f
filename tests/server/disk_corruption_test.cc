// One flipped byte on disk, against the real lsmd binary. A store is built
// once (200 keys flushed to an SSTable, 30 more left in the log by a
// SIGKILL); each case flips one byte in a fresh copy of it and starts lsmd
// on the copy. lsmd either refuses to start (exit 1, the damaged file named
// on stderr) or starts and answers every read of damaged data with error 13
// and every other read normally. It never returns a wrong value, and never
// loses an acknowledged write silently.
//
// Section offsets come from the file itself, as docs/FORMAT.md describes:
// the SSTable footer (its last 76 bytes) gives the index, filter and meta
// blocks, the index gives the data segments; the log's records here are one
// fragment each in its first 32 KiB block: a 7-byte header (fixed32
// checksum, fixed16 length, u8 type) and a payload.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "server/test_process.h"

namespace lsmd::test {
namespace {

namespace fs = std::filesystem;

constexpr int kTableKeys = 200;  // 13 data segments of 16 entries (the default interval)
constexpr int kLogKeys = 30;     // one log record each
constexpr size_t kFooterBytes = 76;
constexpr size_t kChecksumBytes = 8;
constexpr size_t kLogHeaderBytes = 7;
constexpr size_t kLogBlockBytes = 32 * 1024;

std::string TableKey(int i) { return "t" + std::to_string(1000 + i); }
std::string LogKey(int i) { return "l" + std::to_string(100 + i); }
std::string ValueOf(const std::string& key) { return "value of " + key + std::string(40, '.'); }

uint64_t Fixed64(const std::string& bytes, size_t at) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = value << 8 | static_cast<uint8_t>(bytes[at + i]);
  return value;
}
uint32_t Fixed32(const std::string& bytes, size_t at) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = value << 8 | static_cast<uint8_t>(bytes[at + i]);
  return value;
}
uint64_t Varint(const std::string& bytes, size_t* at) {
  uint64_t value = 0;
  for (int shift = 0; *at < bytes.size(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(bytes[(*at)++]);
    value |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) break;
  }
  return value;
}

// A byte range of a file: [offset, offset + size).
struct Section {
  uint64_t offset = 0;
  uint64_t size = 0;
};

// The sections of an SSTable, read from its footer and index.
struct TableLayout {
  std::vector<Section> segments;  // whole blocks, checksum included
  Section index, filter, meta, footer;
};

TableLayout ReadTableLayout(const std::string& file) {
  TableLayout layout;
  REQUIRE(file.size() > kFooterBytes);
  const size_t footer = file.size() - kFooterBytes;
  layout.footer = {footer, kFooterBytes};
  layout.index = {Fixed64(file, footer), Fixed64(file, footer + 8)};
  layout.filter = {Fixed64(file, footer + 16), Fixed64(file, footer + 24)};
  layout.meta = {Fixed64(file, footer + 32), Fixed64(file, footer + 40)};
  REQUIRE(layout.meta.offset + layout.meta.size == footer);
  size_t at = layout.index.offset;
  const size_t index_end = layout.index.offset + layout.index.size - kChecksumBytes;
  while (at < index_end) {
    const uint64_t key_length = Varint(file, &at);
    at += key_length;
    Section segment;
    segment.offset = Varint(file, &at);
    segment.size = Varint(file, &at);
    layout.segments.push_back(segment);
  }
  REQUIRE(at == index_end);
  return layout;
}

// The log records' offsets, each the start of its first fragment's header.
std::vector<uint64_t> ReadLogRecords(const std::string& file) {
  std::vector<uint64_t> records;
  for (uint64_t at = 0; at + kLogHeaderBytes <= file.size();) {
    if (kLogBlockBytes - at % kLogBlockBytes < kLogHeaderBytes) {  // a block's zero trailer
      at += kLogBlockBytes - at % kLogBlockBytes;
      continue;
    }
    const uint8_t type = static_cast<uint8_t>(file[at + 6]);
    if (type == 1 || type == 2) records.push_back(at);  // FULL or FIRST
    at += kLogHeaderBytes + (Fixed32(file, static_cast<size_t>(at) + 4) & 0xffff);
  }
  return records;
}

void FlipByte(const std::string& path, uint64_t offset, uint8_t mask = 0x55) {
  std::string bytes = ReadFile(path);
  REQUIRE(offset < bytes.size());
  bytes[offset] = static_cast<char>(bytes[offset] ^ mask);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out.good());
}

// The store every case starts from, built once.
class Store {
 public:
  Store() : dir_(work_.File("store")) {
    LsmdServer server(work_, dir_);
    REQUIRE(server.ready());
    LineClient client;
    REQUIRE(client.Connect(server.port()));
    uint64_t msg_id = 1;
    auto put = [&](const std::string& key) {
      REQUIRE(client.SendLine(PutLine(msg_id, key, ValueOf(key))));
      std::optional<std::string> reply = client.ReadLine();
      REQUIRE(reply);
      REQUIRE(TypeOf(ReplyBody(*reply)) == "put_ok");
      ++msg_id;
    };
    for (int i = 0; i < kTableKeys; ++i) put(TableKey(i));
    REQUIRE(client.SendLine(R"({"type":"sstable_flush","msg_id":0})"));
    std::optional<std::string> flushed = client.ReadLine(30s);
    REQUIRE(flushed);
    boost::json::object body = ReplyBody(*flushed);
    REQUIRE(TypeOf(body) == "sstable_flush_ok");
    table_ = std::string(body.at("sstable_file").as_string());
    // Sent one at a time, so each put is a log record of its own.
    for (int i = 0; i < kLogKeys; ++i) put(LogKey(i));
    // A crash keeps them in the log (a clean shutdown would too, but this is
    // the state a crash leaves).
    server.process().Signal(SIGKILL);
    REQUIRE(server.process().Wait(10s).has_value());
    for (const auto& entry : fs::directory_iterator(dir_)) {
      if (entry.path().extension() == ".wal" && fs::file_size(entry.path()) > 0) {
        REQUIRE(log_.empty());
        log_ = entry.path().filename().string();
      }
    }
    REQUIRE_FALSE(log_.empty());
    layout_ = ReadTableLayout(ReadFile(dir_ + "/" + table_));
    REQUIRE(layout_.segments.size() == (kTableKeys + 15) / 16);
    log_records_ = ReadLogRecords(ReadFile(dir_ + "/" + log_));
    REQUIRE(log_records_.size() == kLogKeys);
  }

  const std::string& table() const { return table_; }
  const std::string& log() const { return log_; }
  const TableLayout& layout() const { return layout_; }
  const std::vector<uint64_t>& log_records() const { return log_records_; }
  std::string Contents(const std::string& file) const { return ReadFile(dir_ + "/" + file); }

  // A fresh copy of the store for one case, removed with `work`.
  std::string Copy(const TempDir& work, const std::string& name) const {
    const std::string copy = work.File(name);
    fs::copy(dir_, copy, fs::copy_options::recursive);
    return copy;
  }

 private:
  TempDir work_;
  std::string dir_;
  std::string table_;
  std::string log_;
  TableLayout layout_;
  std::vector<uint64_t> log_records_;
};

const Store& TheStore() {
  static Store store;
  return store;
}

std::vector<std::string> AllKeys() {
  std::vector<std::string> keys;
  for (int i = 0; i < kTableKeys; ++i) keys.push_back(TableKey(i));
  for (int i = 0; i < kLogKeys; ++i) keys.push_back(LogKey(i));
  return keys;
}

// Flips the byte at `offset` of `file` in a copy of the store and starts lsmd
// on it. `affected` are the keys whose data the byte belongs to.
void CheckCorruption(const std::string& what, const std::string& file, uint64_t offset,
                     const std::set<std::string>& affected, uint8_t mask = 0x55) {
  INFO(what, ": byte ", offset, " of ", file, " ^= ", int{mask});
  TempDir work;
  const std::string dir = TheStore().Copy(work, "data");
  FlipByte(dir + "/" + file, offset, mask);
  LsmdServer server(work, dir);
  if (!server.ready()) {
    const std::optional<int> exit_code = server.process().Wait(10s);
    CHECK(exit_code == std::optional<int>(1));
    const std::string message = server.Stderr();
    CHECK_MESSAGE(message.find(file) != std::string::npos, "stderr does not name ", file, ":\n",
                  message);
    MESSAGE(what, ": refused to start");
    return;
  }
  LineClient client;
  REQUIRE(client.Connect(server.port()));
  uint64_t msg_id = 1;
  int errors = 0;
  for (const std::string& key : AllKeys()) {
    INFO("key ", key);
    REQUIRE(client.SendLine(GetLine(msg_id, key)));
    std::optional<std::string> reply = client.ReadLine();
    REQUIRE(reply);
    boost::json::object body = ReplyBody(*reply);
    if (affected.count(key) != 0) {
      CHECK_MESSAGE(IntField(body, "code") == 13, "expected error 13, got ", *reply);
      errors += IntField(body, "code") == 13;
    } else {
      const boost::json::value* value = body.if_contains("value");
      CHECK_MESSAGE((TypeOf(body) == "get_ok" && value && value->is_string() &&
                     value->get_string() == ValueOf(key)),
                    "expected ", ValueOf(key), ", got ", *reply);
    }
    ++msg_id;
  }
  // A scan over the damage fails as a whole rather than skipping keys.
  REQUIRE(client.SendLine(R"({"type":"scan","msg_id":0,"limit":10000})"));
  std::optional<std::string> scan = client.ReadLine();
  REQUIRE(scan);
  boost::json::object body = ReplyBody(*scan);
  if (TypeOf(body) == "scan_ok") {
    CHECK_MESSAGE(affected.empty(), "a scan over damaged data answered ", scan->substr(0, 200));
    CHECK(body.at("entries").as_array().size() == AllKeys().size());
  } else {
    CHECK_MESSAGE(IntField(body, "code") == 13, *scan);
  }
  MESSAGE(what, ": started; ", errors, " reads answered with error 13");
}

std::set<std::string> TableKeys(int first, int count) {
  std::set<std::string> keys;
  for (int i = first; i < first + count && i < kTableKeys; ++i) keys.insert(TableKey(i));
  return keys;
}

std::set<std::string> LogKeysFrom(int first) {
  std::set<std::string> keys;
  for (int i = first; i < kLogKeys; ++i) keys.insert(LogKey(i));
  return keys;
}

// The byte in the middle of a section's payload, and the first byte of its
// checksum.
uint64_t MiddleOfPayload(const Section& s) { return s.offset + (s.size - kChecksumBytes) / 2; }
uint64_t ChecksumOf(const Section& s) { return s.offset + s.size - kChecksumBytes; }

TEST_CASE("a flipped byte in a data segment: reads of that segment get error 13, others work") {
  const Store& store = TheStore();
  const Section& segment = store.layout().segments[3];  // keys 48..63
  CheckCorruption("segment payload", store.table(), MiddleOfPayload(segment), TableKeys(48, 16));
  CheckCorruption("segment first byte", store.table(), segment.offset, TableKeys(48, 16));
  CheckCorruption("segment checksum", store.table(), ChecksumOf(segment), TableKeys(48, 16));
  const Section& last = store.layout().segments.back();
  CheckCorruption("last segment payload", store.table(), MiddleOfPayload(last),
                  TableKeys(16 * (static_cast<int>(store.layout().segments.size()) - 1), 16));
}

TEST_CASE("a flipped byte in the index, filter, meta block or footer is never a wrong value") {
  const Store& store = TheStore();
  const TableLayout& layout = store.layout();
  const std::set<std::string> whole_table = TableKeys(0, kTableKeys);
  CheckCorruption("index payload", store.table(), MiddleOfPayload(layout.index), whole_table);
  CheckCorruption("index checksum", store.table(), ChecksumOf(layout.index), whole_table);
  CheckCorruption("filter payload", store.table(), MiddleOfPayload(layout.filter), whole_table);
  CheckCorruption("filter probe count", store.table(), ChecksumOf(layout.filter) - 1, whole_table);
  CheckCorruption("filter checksum", store.table(), ChecksumOf(layout.filter), whole_table);
  CheckCorruption("meta payload", store.table(), MiddleOfPayload(layout.meta), whole_table);
  for (uint64_t at : {0, 20, 48, 56, 60, 68}) {  // offsets, entries, version, magic, checksum
    CheckCorruption("footer byte " + std::to_string(at), store.table(), layout.footer.offset + at,
                    whole_table);
  }
}

TEST_CASE("a flipped byte in a log record with records after it is never silently dropped") {
  const Store& store = TheStore();
  const uint64_t middle = store.log_records()[kLogKeys / 2];
  REQUIRE(store.log_records().back() < kLogBlockBytes);  // all in one block, the last
  // The damaged record and every one after it: replaying past damage would
  // reorder writes, and dropping them loses acknowledged data.
  const std::set<std::string> from_middle = LogKeysFrom(kLogKeys / 2);
  CheckCorruption("record payload", store.log(), middle + kLogHeaderBytes + 10, from_middle);
  CheckCorruption("record checksum", store.log(), middle + 1, from_middle);
  CheckCorruption("record length, low byte", store.log(), middle + 4, from_middle, 0x01);
  CheckCorruption("record length, top bit", store.log(), middle + 5, from_middle, 0x80);
  CheckCorruption("record type", store.log(), middle + 6, from_middle);
}

TEST_CASE("a log length flipped to run past the end of the file is cut with a warning") {
  // A damage the log's framing cannot tell from a torn write (docs/
  // RELIABILITY.md): a record in the last block whose length now runs past
  // the end of the file. The default cuts the log there and says so in a
  // warning; absolute refuses.
  const Store& store = TheStore();
  const uint64_t middle = store.log_records()[kLogKeys / 2];
  TempDir work;
  const std::string dir = store.Copy(work, "data");
  FlipByte(dir + "/" + store.log(), middle + 5, 0x08);  // length + 2048
  {
    LsmdServer server(work, dir, {"--wal-recovery", "absolute"});
    REQUIRE_FALSE(server.ready());
    CHECK(server.process().Wait(10s) == std::optional<int>(1));
    CHECK_MESSAGE(server.Stderr().find(store.log() + ": torn record at offset " +
                                       std::to_string(middle)) != std::string::npos,
                  server.Stderr());
  }
  LsmdServer server(work, dir);
  REQUIRE(server.ready());
  const std::string message = server.Stderr();
  CHECK_MESSAGE(message.find(store.log() + " ends in a torn record") != std::string::npos, message);
  CHECK(message.find("truncating it at offset " + std::to_string(middle)) != std::string::npos);
  LineClient client;
  REQUIRE(client.Connect(server.port()));
  uint64_t msg_id = 1;
  for (const std::string& key : AllKeys()) {
    INFO("key ", key);
    REQUIRE(client.SendLine(GetLine(msg_id++, key)));
    std::optional<std::string> reply = client.ReadLine();
    REQUIRE(reply);
    boost::json::object body = ReplyBody(*reply);
    REQUIRE(TypeOf(body) == "get_ok");
    const boost::json::value* value = body.if_contains("value");
    if (LogKeysFrom(kLogKeys / 2).count(key) != 0) {
      CHECK_MESSAGE(value == nullptr, *reply);
    } else {
      CHECK_MESSAGE((value && value->is_string() && value->get_string() == ValueOf(key)), *reply);
    }
  }
}

TEST_CASE("a flipped byte in the MANIFEST is never a wrong value") {
  const std::string manifest = TheStore().Contents("MANIFEST");
  // Every table is listed there: damage could hide any of them.
  std::set<std::string> everything = TableKeys(0, kTableKeys);
  for (uint64_t at :
       {uint64_t{0}, uint64_t{9}, uint64_t{manifest.size() / 2}, uint64_t{manifest.size() - 1}}) {
    CheckCorruption("manifest", "MANIFEST", at, everything);
  }
}

}  // namespace
}  // namespace lsmd::test
