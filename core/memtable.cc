// MemTable over a SkipList of entries stored in an Arena.
//
// Entry layout (8-byte aligned, right after the skiplist node's links):
//
//   uint64 tag = sequence << 8 | kind | uint32 key_len | uint32 value_len | key | value
//
// Entries are ordered by key (bytewise) ascending, then tag descending, so the
// newest version of a key comes first. Sequences fit in 56 bits.
#include "core/memtable.h"

#include <cassert>
#include <cstring>
#include <limits>

#include "core/arena.h"
#include "core/memtable_filter.h"
#include "core/skiplist.h"

namespace lsmd {
namespace {

struct EntryHeader {
  uint64_t tag;
  uint32_t key_len;
  uint32_t value_len;
};
static_assert(sizeof(EntryHeader) == 16);

// A decoded view of an entry; the bytes live in the arena.
struct EntryView {
  explicit EntryView(const char* entry) {
    EntryHeader header;
    std::memcpy(&header, entry, sizeof(header));
    tag = header.tag;
    key = std::string_view(entry + sizeof(header), header.key_len);
    value = std::string_view(entry + sizeof(header) + header.key_len, header.value_len);
  }
  ValueKind kind() const { return static_cast<ValueKind>(tag & 0xff); }

  uint64_t tag;
  std::string_view key;
  std::string_view value;
};

inline std::string_view EntryKey(const char* entry) {
  uint32_t key_len;
  std::memcpy(&key_len, entry + offsetof(EntryHeader, key_len), sizeof(key_len));
  return std::string_view(entry + sizeof(EntryHeader), key_len);
}

inline uint64_t EntryTag(const char* entry) {
  uint64_t tag;
  std::memcpy(&tag, entry, sizeof(tag));
  return tag;
}

// A probe for Seek: the position of (key, tag) in entry order.
struct LookupKey {
  std::string_view key;
  uint64_t tag;
};

// The largest tag sorts first among a key's versions: seeking it finds the
// newest version.
constexpr uint64_t kNewestTag = std::numeric_limits<uint64_t>::max();

struct EntryComparator {
  int operator()(const char* entry, const LookupKey& probe) const {
    int c = EntryKey(entry).compare(probe.key);
    if (c != 0) return c;
    uint64_t tag = EntryTag(entry);
    // Tags descending: a bigger tag (newer) sorts first.
    if (tag > probe.tag) return -1;
    if (tag < probe.tag) return 1;
    return 0;
  }
  int operator()(const char* a, const char* b) const {
    return (*this)(a, LookupKey{EntryKey(b), EntryTag(b)});
  }
};

using EntryList = SkipList<EntryComparator>;

// Yields the newest version of each key: skips the older versions that follow.
class MemTableIterator final : public Iterator {
 public:
  explicit MemTableIterator(const EntryList* list) : it_(list) {}

  bool Valid() const override { return it_.Valid(); }
  void SeekToFirst() override { it_.SeekToFirst(); }
  void Seek(std::string_view target) override { it_.Seek(LookupKey{target, kNewestTag}); }
  void Next() override {
    const std::string_view current = EntryKey(it_.entry());
    do {
      it_.Next();
    } while (it_.Valid() && EntryKey(it_.entry()) == current);
  }
  std::string_view key() const override { return EntryKey(it_.entry()); }
  std::string_view value() const override { return EntryView(it_.entry()).value; }
  ValueKind kind() const override { return EntryView(it_.entry()).kind(); }
  Status status() const override { return Status::OK(); }

 private:
  EntryList::Iterator it_;
};

}  // namespace

struct MemTable::Rep {
  explicit Rep(size_t budget_bytes) : filter(budget_bytes) {}

  Arena arena;  // Destroyed last: holds every node of list.
  EntryList list{EntryComparator{}, &arena};
  MemTableFilter filter;  // every key added; set before the entry is published
  // Written only by the writer (Add), read by any thread.
  std::atomic<size_t> approximate_bytes{0};
  std::atomic<size_t> entries{0};
};

MemTable::MemTable(size_t budget_bytes) : rep_(std::make_unique<Rep>(budget_bytes)) {}
MemTable::~MemTable() = default;

void MemTable::Add(uint64_t seq, ValueKind kind, std::string_view key, std::string_view value) {
  assert(seq < (uint64_t{1} << 56));
  assert(key.size() <= std::numeric_limits<uint32_t>::max());
  assert(value.size() <= std::numeric_limits<uint32_t>::max());
  const EntryHeader header{seq << 8 | static_cast<uint8_t>(kind), static_cast<uint32_t>(key.size()),
                           static_cast<uint32_t>(value.size())};
  rep_->filter.Add(key);
  rep_->list.Insert(sizeof(header) + key.size() + value.size(), [&](char* entry) {
    std::memcpy(entry, &header, sizeof(header));
    // memcpy from an empty view's data() (maybe nullptr) is not allowed.
    if (!key.empty()) std::memcpy(entry + sizeof(header), key.data(), key.size());
    if (!value.empty()) {
      std::memcpy(entry + sizeof(header) + key.size(), value.data(), value.size());
    }
  });
  // Single writer: a plain load + store is enough and avoids a locked add.
  const size_t charged = key.size() + value.size() + kEntryOverhead;
  rep_->approximate_bytes.store(rep_->approximate_bytes.load(std::memory_order_relaxed) + charged,
                                std::memory_order_relaxed);
  rep_->entries.store(rep_->entries.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

LookupState MemTable::Get(std::string_view key, std::string* value) const {
  if (!rep_->filter.MayContain(key)) return LookupState::kAbsent;
  EntryList::Iterator it(&rep_->list);
  it.Seek(LookupKey{key, kNewestTag});
  if (!it.Valid()) return LookupState::kAbsent;
  const EntryView entry(it.entry());
  if (entry.key != key) return LookupState::kAbsent;
  if (entry.kind() == ValueKind::kTombstone) return LookupState::kDeleted;
  value->assign(entry.value.data(), entry.value.size());
  return LookupState::kFound;
}

size_t MemTable::ApproximateBytes() const {
  return rep_->approximate_bytes.load(std::memory_order_relaxed);
}

size_t MemTable::entries() const { return rep_->entries.load(std::memory_order_relaxed); }

std::unique_ptr<Iterator> MemTable::NewIterator() const {
  return std::make_unique<MemTableIterator>(&rep_->list);
}

}  // namespace lsmd
