// WalReader's verdicts on damage (the tail rule in core/wal_reader.h): what a
// torn write can leave is a torn tail, cut at the last whole record; damage
// with a complete record after it, or damage no torn write leaves, is
// corruption at the damaged record's offset. Never a wrong record.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/wal_reader.h"
#include "core/wal_writer.h"
#include "wal_test_util.h"

namespace lsmd {
namespace {

using Outcome = LogRecordReader::Outcome;
using testing::AppendRecords;
using testing::EncodeLog;
using testing::LogLayout;
using testing::Payload;
using testing::ReadResult;

constexpr uint64_t kLog = 9;

// Hands out a string's bytes, at most max_chunk at a time, and remembers the
// largest read asked for and how far it got.
class MemoryFile final : public SequentialFile {
 public:
  explicit MemoryFile(std::string bytes) : bytes_(std::move(bytes)) {}
  Status Read(size_t n, std::string* scratch, std::string_view* result) override {
    largest_ = std::max(largest_, n);
    scratch->assign(bytes_.substr(std::min(pos_, bytes_.size()), n));
    pos_ += scratch->size();
    *result = *scratch;
    return Status::OK();
  }
  size_t largest_ = 0;
  size_t pos_ = 0;

 private:
  std::string bytes_;
};

struct Read {
  ReadResult result;
  size_t largest_read = 0;
  size_t bytes_read = 0;
};

Read ReadBytes(const std::string& log) {
  auto file = std::make_unique<MemoryFile>(log);
  MemoryFile* memory = file.get();
  WalReader reader(std::move(file), "000009.wal", log.size(), kLog);
  Read read;
  read.result = testing::ReadAll(&reader);
  read.largest_read = memory->largest_;
  read.bytes_read = std::min(memory->pos_, log.size());
  return read;
}

// One fragment, sealed for kLog (or not, with a wrong checksum).
std::string Fragment(WalFragmentType type, std::string_view payload, bool sealed = true) {
  std::string out(kWalHeaderSize, '\0');
  uint32_t sum = WalFragmentChecksum(kLog, type, payload);
  if (!sealed) sum ^= 0x5a5a5a5a;
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((sum >> (8 * i)) & 0xff);
  out[4] = static_cast<char>(payload.size() & 0xff);
  out[5] = static_cast<char>(payload.size() >> 8);
  out[6] = static_cast<char>(type);
  return out.append(payload);
}

std::vector<std::string> Mixed() {
  std::vector<std::string> records;
  for (int i = 0; i < 12; ++i) records.push_back(Payload(100 + 37 * i, i));
  records.push_back(Payload(3 * kWalBlockSize, 50));  // FIRST, MIDDLE, MIDDLE, LAST
  for (int i = 0; i < 5; ++i) records.push_back(Payload(200, 60 + i));
  records.push_back(Payload(kWalBlockSize + 999, 70));
  records.push_back(Payload(300, 80));  // so every record has a whole one in a later block
  return records;
}

std::vector<std::string> First(const std::vector<std::string>& records, size_t n) {
  return {records.begin(), records.begin() + static_cast<long>(n)};
}

void CheckCorruptionAt(const Read& read, uint64_t offset) {
  CHECK(read.result.end == Outcome::kCorruption);
  const std::string expected = "000009.wal: bad log record at offset " + std::to_string(offset);
  CHECK_MESSAGE(read.result.status.message().find(expected) == 0, read.result.status.ToString());
}

TEST_CASE("a log cut anywhere is a clean end or a torn tail, with every record before the cut") {
  const std::vector<std::string> records = Mixed();
  const std::string log = EncodeLog(kLog, records);
  const auto layout = LogLayout(log);
  REQUIRE(layout.size() == records.size());
  std::vector<uint64_t> cuts;
  for (const auto& r : layout) {
    for (const auto& f : r.fragments) {
      for (uint64_t d : {0, 1, 6, 7, 8, 100}) cuts.push_back(f.offset + d);
    }
    cuts.push_back(r.end - 1);
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) cuts.push_back(rng() % log.size());
  for (uint64_t cut : cuts) {
    if (cut > log.size()) continue;
    CAPTURE(cut);
    size_t whole = 0;
    while (whole < layout.size() && layout[whole].end <= cut) ++whole;
    const Read read = ReadBytes(log.substr(0, cut));
    CHECK(read.result.records == First(records, whole));
    CHECK(read.result.good_bytes == (whole == 0 ? 0 : layout[whole - 1].end));
    const bool clean = whole == layout.size() || cut <= layout[whole].start;
    CHECK(read.result.end == (clean ? Outcome::kEof : Outcome::kTornTail));
  }
}

// Zeros the 512-byte sectors [first_sector, last_sector) of log, but never a
// byte before `from`: the bytes of earlier, synced records stay.
std::string ZeroSectors(std::string log, uint64_t from, uint64_t first_sector, uint64_t sectors) {
  const uint64_t begin = std::max<uint64_t>(from, first_sector * 512);
  const uint64_t end = std::min<uint64_t>(log.size(), (first_sector + sectors) * 512);
  for (uint64_t i = begin; i < end; ++i) log[i] = 0;
  return log;
}

TEST_CASE("sectors of the final record lost to a power loss are a torn tail") {
  // The last record starts at each offset around a sector boundary, so its
  // header straddles one at every split point.
  for (uint64_t start : {uint64_t{500}, uint64_t{506}, uint64_t{507}, uint64_t{509}, uint64_t{511},
                         uint64_t{512}, uint64_t{1000}}) {
    CAPTURE(start);
    const std::vector<std::string> records = {Payload(start - kWalHeaderSize, 1),
                                              Payload(3 * kWalBlockSize + 5000, 2)};
    const std::string log = EncodeLog(kLog, records);
    REQUIRE(LogLayout(log)[1].start == start);
    const uint64_t sectors = (log.size() + 511) / 512;
    for (uint64_t first = start / 512; first < sectors; first += 7) {
      for (uint64_t count : {uint64_t{1}, uint64_t{3}, uint64_t{64}, uint64_t{1000}}) {
        CAPTURE(first);
        CAPTURE(count);
        const Read read = ReadBytes(ZeroSectors(log, start, first, count));
        CHECK(read.result.end == Outcome::kTornTail);
        CHECK(read.result.records == First(records, 1));
        CHECK(read.result.good_bytes == start);
      }
    }
  }
}

TEST_CASE("a final record with its first fragment, or a middle one, zeroed is a torn tail") {
  const std::vector<std::string> records = {Payload(1000, 1), Payload(4 * kWalBlockSize, 2)};
  const std::string log = EncodeLog(kLog, records);
  const auto layout = LogLayout(log);
  const auto& fragments = layout[1].fragments;
  REQUIRE(fragments.size() == 5);
  for (size_t zeroed = 0; zeroed < fragments.size(); ++zeroed) {
    CAPTURE(zeroed);
    std::string damaged = log;
    const uint64_t from = fragments[zeroed].offset;
    std::fill(damaged.begin() + static_cast<long>(from),
              damaged.begin() + static_cast<long>(from + kWalHeaderSize + fragments[zeroed].length),
              '\0');
    const Read read = ReadBytes(damaged);
    CHECK(read.result.end == Outcome::kTornTail);
    CHECK(read.result.records == First(records, 1));
    CHECK(read.result.good_bytes == layout[0].end);
  }
}

TEST_CASE("damage with a complete record in a later block is corruption at its offset") {
  const std::vector<std::string> records = Mixed();
  const std::string log = EncodeLog(kLog, records);
  const auto layout = LogLayout(log);
  for (size_t i : {size_t{0}, size_t{5}, size_t{12}, size_t{14}}) {
    const uint64_t at = layout[i].start;
    struct Flip {
      const char* what;
      uint64_t offset;
      uint8_t mask;
    };
    for (const Flip& flip : {Flip{"payload", at + kWalHeaderSize + 50, 0x04},
                             Flip{"checksum", at + 2, 0x01}, Flip{"length, low bit", at + 4, 0x01},
                             Flip{"length, high byte", at + 5, 0x80}, Flip{"type", at + 6, 0x55},
                             Flip{"type to zero", at + 6, static_cast<uint8_t>(log[at + 6])},
                             Flip{"last byte", layout[i].end - 1, 0x10}}) {
      CAPTURE(i);
      INFO(flip.what);
      std::string damaged = log;
      damaged[flip.offset] ^= static_cast<char>(flip.mask);
      const Read read = ReadBytes(damaged);
      CheckCorruptionAt(read, at);
      CHECK(read.result.records == First(records, i));
      CHECK(read.result.good_bytes == (i == 0 ? 0 : layout[i - 1].end));
    }
  }
}

TEST_CASE("damage with data after it in the last block is corruption, bar one case") {
  std::vector<std::string> records;
  for (int i = 0; i < 30; ++i) records.push_back(Payload(60, i));  // all in block 0
  const std::string log = EncodeLog(kLog, records);
  const auto layout = LogLayout(log);
  const uint64_t at = layout[15].start;
  for (auto damage : {std::pair<uint64_t, uint8_t>{at + kWalHeaderSize + 10, 0x55},
                              {at + 1, 0x55},
                              {at + 4, 0x01},
                              {at + 4, 0x20},
                              {at + 4, 0x40},
                              {at + 5, 0x80},
                              {at + 6, 0x55},
                              {at + 6, 0x02}}) {
    const uint64_t offset = damage.first;
    const uint8_t mask = damage.second;
    CAPTURE(offset - at);
    CAPTURE(int{mask});
    std::string damaged = log;
    damaged[offset] ^= static_cast<char>(mask);
    const Read read = ReadBytes(damaged);
    CheckCorruptionAt(read, at);
    CHECK(read.result.records == First(records, 15));
  }
  // The documented limit: a length grown so that the fragment seems to run
  // past the end of the file is what a torn write looks like too, and a
  // header whose type lost its bit reads as a torn sector. The records after
  // it in this block are cut with it.
  for (auto damage : {std::pair<uint64_t, uint8_t>{at + 5, 0x08}, {at + 6, 0x01}}) {
    const uint64_t offset = damage.first;
    const uint8_t mask = damage.second;
    std::string damaged = log;
    damaged[offset] ^= static_cast<char>(mask);
    const Read read = ReadBytes(damaged);
    CHECK(read.result.end == Outcome::kTornTail);
    CHECK(read.result.records == First(records, 15));
    CHECK(read.result.good_bytes == at);
  }
}

TEST_CASE("after damage, orphan MIDDLE and LAST fragments do not count, but a FIRST..LAST chain does") {
  const std::string r0 = Payload(500, 1);
  const std::string torn = Payload(3 * kWalBlockSize, 2);
  std::string log = EncodeLog(kLog, {r0, torn});
  const uint64_t torn_at = LogLayout(log)[1].start;
  log[torn_at + kWalHeaderSize + 9] ^= 0x01;  // its FIRST fragment's payload
  Read read = ReadBytes(log);
  CHECK(read.result.end == Outcome::kTornTail);
  CHECK(read.result.records == std::vector<std::string>{r0});

  // A whole record after the orphans: a chain over two blocks, or a FULL one.
  for (size_t size : {size_t{kWalBlockSize}, size_t{10}}) {
    CAPTURE(size);
    std::string more = log;
    AppendRecords(&more, kLog, {Payload(size, 3)});
    const uint64_t later = LogLayout(EncodeLog(kLog, {r0, torn, Payload(size, 3)}))[2].start;
    read = ReadBytes(more);
    CheckCorruptionAt(read, torn_at);
    CHECK(read.result.status.message().find("a complete record follows at offset " +
                                            std::to_string(later)) != std::string::npos);
    CHECK(read.result.records == std::vector<std::string>{r0});
  }
}

TEST_CASE("fragments out of order are damage") {
  using T = WalFragmentType;
  const std::string a = Fragment(T::kFull, "a");
  // A FIRST with no LAST, then a complete record: corruption at the FIRST.
  Read read = ReadBytes(a + Fragment(T::kFirst, "half") + Fragment(T::kFull, "b"));
  CheckCorruptionAt(read, 8);
  CHECK(read.result.records == std::vector<std::string>{"a"});
  read =
      ReadBytes(a + Fragment(T::kFirst, "x") + Fragment(T::kFirst, "y") + Fragment(T::kLast, "z"));
  CheckCorruptionAt(read, 8);
  // An orphan LAST, with nothing complete after it: the rest of a torn record.
  read = ReadBytes(a + Fragment(T::kLast, "tail") + Fragment(T::kMiddle, "m"));
  CHECK(read.result.end == Outcome::kTornTail);
  CHECK(read.result.good_bytes == 8);
  // A FIRST whose LAST never came: torn.
  read = ReadBytes(a + Fragment(T::kFirst, "x"));
  CHECK(read.result.end == Outcome::kTornTail);
  CHECK(read.result.records == std::vector<std::string>{"a"});
  // A FIRST that does not end at its block's end was not made by a writer,
  // but garbage after a crash can look like one: corruption only when a
  // complete record follows.
  read = ReadBytes(a + Fragment(T::kFirst, "x", /*sealed=*/false) + std::string(100, '\0'));
  CHECK(read.result.end == Outcome::kTornTail);
  CHECK(read.result.good_bytes == 8);
  read = ReadBytes(a + Fragment(T::kFirst, "x", /*sealed=*/false) + Fragment(T::kFull, "b"));
  CheckCorruptionAt(read, 8);
}

TEST_CASE("bytes inside a value are never taken for a record boundary") {
  // Values made of well-formed fragments of this very log, at every
  // alignment: a reader that looked for records at byte offsets would find
  // them after the damage and call it corruption.
  std::string planted;
  for (int i = 0; i < 64; ++i) {
    planted += std::string(static_cast<size_t>(i % 7), '\0') +
               Fragment(WalFragmentType::kFull, "planted") +
               Fragment(WalFragmentType::kFirst, "p1") + Fragment(WalFragmentType::kLast, "p2");
  }
  std::string big;
  while (big.size() < 2 * kWalBlockSize) big += planted;
  const std::vector<std::string> records = {"v:" + planted, "v:" + big, Payload(70000, 3)};
  const std::string log = EncodeLog(kLog, records);
  const auto layout = LogLayout(log);
  // Cut mid-way through the last record.
  Read read = ReadBytes(log.substr(0, layout[2].start + 40000));
  CHECK(read.result.end == Outcome::kTornTail);
  CHECK(read.result.records == First(records, 2));
  // The big value's first fragment zeroed: its orphans are full of frames.
  std::string zeroed = log.substr(0, layout[2].start);
  const auto& first = layout[1].fragments[0];
  std::fill(zeroed.begin() + static_cast<long>(first.offset),
            zeroed.begin() + static_cast<long>(first.offset + kWalHeaderSize + first.length), '\0');
  read = ReadBytes(zeroed);
  CHECK(read.result.end == Outcome::kTornTail);
  CHECK(read.result.records == First(records, 1));
  // Only the header zeroed: the rest of its block is all frames, and skipped.
  zeroed = log.substr(0, layout[2].start);
  std::fill(zeroed.begin() + static_cast<long>(first.offset),
            zeroed.begin() + static_cast<long>(first.offset + kWalHeaderSize), '\0');
  read = ReadBytes(zeroed);
  CHECK(read.result.end == Outcome::kTornTail);
  CHECK(read.result.records == First(records, 1));
  // A torn record whose header and last part reached the disk but not its
  // middle: the frames in its intact part are never looked at.
  std::string torn = EncodeLog(kLog, {"a", "v:" + planted.substr(0, 3000)});
  const auto torn_layout = LogLayout(torn);
  REQUIRE(torn_layout[1].fragments.size() == 1);
  std::fill(torn.begin() + static_cast<long>(torn_layout[1].start + kWalHeaderSize + 10),
            torn.begin() + static_cast<long>(torn_layout[1].start + kWalHeaderSize + 600), '\0');
  read = ReadBytes(torn);
  CHECK(read.result.end == Outcome::kTornTail);
  CHECK(read.result.records == std::vector<std::string>{"a"});
}

TEST_CASE("garbage after the last whole record is a torn tail, a whole record after it is not") {
  // What a power loss can leave past the last synced record on a file system
  // that exposes stale blocks: any bytes at all. Half the rounds start the
  // garbage with a header of a known type and a length that fits its block.
  std::mt19937_64 random(20261202);
  const std::vector<std::string> records = {Payload(100, 1), Payload(kWalBlockSize + 5, 2),
                                            Payload(300, 3)};
  const std::string good = EncodeLog(kLog, records);
  for (int round = 0; round < 1000; ++round) {
    CAPTURE(round);
    std::string log = good;
    const size_t garbage = 1 + random() % (3 * kWalBlockSize);
    for (size_t i = 0; i < garbage; ++i) log.push_back(static_cast<char>(random()));
    if (round % 2 == 1 && garbage >= kWalHeaderSize) {
      log[good.size() + 4] = static_cast<char>(random() % 200);
      log[good.size() + 5] = 0;
      log[good.size() + 6] = static_cast<char>(1 + random() % kWalMaxFragmentType);
    }
    Read read = ReadBytes(log);
    CHECK(read.result.end == Outcome::kTornTail);
    CHECK(read.result.records == records);
    CHECK(read.result.good_bytes == good.size());
    CHECK(read.largest_read <= kWalBlockSize);
    if (round % 100 == 0) {
      // The same garbage, then a complete record in a later block: not a crash.
      const uint64_t next_block = (log.size() / kWalBlockSize + 1) * kWalBlockSize;
      for (uint64_t i = log.size(); i < next_block; ++i) log.push_back(static_cast<char>(random()));
      AppendRecords(&log, kLog, {"later"});
      read = ReadBytes(log);
      CheckCorruptionAt(read, good.size());
      CHECK(read.result.records == records);
    }
  }
}

TEST_CASE("a run of writer's headers whose checksums fail is corruption") {
  // Records whose checksums all fail: damage wider than one record, or
  // another log's file.
  std::vector<std::string> records;
  for (int i = 0; i < 8; ++i) records.push_back(Payload(40, i));
  const std::string log = EncodeLog(kLog, records);
  const auto layout = LogLayout(log);
  // The last four damaged, nothing after them: not a torn tail.
  std::string bad = log;
  for (size_t i = 4; i < 8; ++i) bad[layout[i].start] ^= 0x01;
  Read read = ReadBytes(bad);
  CheckCorruptionAt(read, layout[4].start);
  CHECK(read.result.records == First(records, 4));
  // Three damaged at the end: the framing cannot tell them from a crash.
  bad = log;
  for (size_t i = 5; i < 8; ++i) bad[layout[i].start] ^= 0x01;
  read = ReadBytes(bad);
  CHECK(read.result.end == Outcome::kTornTail);
  CHECK(read.result.records == First(records, 5));
}

TEST_CASE("after damage the reader moves on block by block, one block at a time") {
  std::string log = EncodeLog(kLog, {"first", "second"});
  log[kWalHeaderSize + 2] ^= 0x01;  // "first"; "second" follows in block 0: corruption
  Read read = ReadBytes(log);
  CheckCorruptionAt(read, 0);

  std::string zeros = EncodeLog(kLog, {"only"});
  zeros[kWalHeaderSize] ^= 0x01;
  zeros.resize(65 * kWalBlockSize, '\0');  // a zero-filled tail of 64 blocks
  read = ReadBytes(zeros);
  CHECK(read.result.end == Outcome::kTornTail);
  CHECK(read.result.good_bytes == 0);
  CHECK(read.largest_read <= kWalBlockSize);
  CHECK(read.bytes_read == zeros.size());

  std::string later = zeros;
  AppendRecords(&later, kLog, {"later"});  // a whole record at block 65
  read = ReadBytes(later);
  CheckCorruptionAt(read, 0);
  CHECK(read.result.status.message().find("follows at offset " +
                                          std::to_string(65 * kWalBlockSize)) != std::string::npos);
  CHECK(read.largest_read <= kWalBlockSize);
}

TEST_CASE("zeros: a zero-filled tail is torn, a later complete record makes it corruption") {
  const std::string good = EncodeLog(kLog, {"one", "two"});
  Read read = ReadBytes(good + std::string(4096, '\0'));
  CHECK(read.result.records == std::vector<std::string>{"one", "two"});
  CHECK(read.result.end == Outcome::kTornTail);
  CHECK(read.result.good_bytes == good.size());
  // Zeros then data in the same block: a torn record whose first part was
  // lost, as far as anyone can tell.
  read = ReadBytes(good + std::string(64, '\0') + "x" + std::string(100, 'y'));
  CHECK(read.result.end == Outcome::kTornTail);
  // Zeros, then a complete record in a later block: damage, not a crash.
  std::string later = good;
  later.resize(kWalBlockSize, '\0');
  AppendRecords(&later, kLog, {"three"});
  read = ReadBytes(later);
  CheckCorruptionAt(read, good.size());
  // A trailer's zeros at the end of the file are no damage at all.
  std::string trailer = EncodeLog(kLog, {Payload(kWalBlockSize - kWalHeaderSize - 3, 1)});
  read = ReadBytes(trailer + std::string(3, '\0'));
  CHECK(read.result.end == Outcome::kEof);
  CHECK(read.result.good_bytes == trailer.size());
}

TEST_CASE("what each recovery mode does with each verdict") {
  using M = WalRecoveryMode;
  using A = WalDamageAction;
  CHECK(ActionOnDamage(M::kTolerateCorruptedTail, Outcome::kTornTail) == A::kCutAndGoOn);
  CHECK(ActionOnDamage(M::kTolerateCorruptedTail, Outcome::kCorruption) == A::kRefuse);
  CHECK(ActionOnDamage(M::kPointInTime, Outcome::kTornTail) == A::kCutAndStop);
  CHECK(ActionOnDamage(M::kPointInTime, Outcome::kCorruption) == A::kCutAndStop);
  CHECK(ActionOnDamage(M::kAbsolute, Outcome::kTornTail) == A::kRefuse);
  CHECK(ActionOnDamage(M::kAbsolute, Outcome::kCorruption) == A::kRefuse);
  CHECK(EffectiveWalRecovery(M::kDefault, SyncMode::kAlways) == M::kTolerateCorruptedTail);
  CHECK(EffectiveWalRecovery(M::kDefault, SyncMode::kNone) == M::kPointInTime);
  CHECK(EffectiveWalRecovery(M::kAbsolute, SyncMode::kNone) == M::kAbsolute);
}

}  // namespace
}  // namespace lsmd
