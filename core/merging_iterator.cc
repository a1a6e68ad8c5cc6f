#include "core/merging_iterator.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace lsmd {
namespace {

// A min-heap of the sources by (current key, source order). With ~10 sources
// (MemTables, L0 files, one per level) a step costs about 2·log2(n) key
// compares instead of the 2n of a linear pass, which was the largest cost of
// a scan (bench/engine scan100, docs/BENCHMARKS.md). Each entry caches its
// source's current key, valid until that source moves, so comparing needs
// no virtual call.
class MergingIterator final : public Iterator {
 public:
  explicit MergingIterator(std::vector<std::unique_ptr<Iterator>> children)
      : children_(std::move(children)) {
    heap_.reserve(children_.size());
  }

  bool Valid() const override { return !heap_.empty() && status_.ok(); }

  void SeekToFirst() override {
    for (auto& child : children_) child->SeekToFirst();
    RebuildHeap();
  }

  void Seek(std::string_view target) override {
    for (auto& child : children_) child->Seek(target);
    RebuildHeap();
  }

  void Next() override {
    // Every source positioned at this key holds an older version or the one
    // just yielded: step all of them past it. Ties pop newest source first,
    // and each source yields a key at most once, so they surface in a row.
    last_key_.assign(heap_.front().key);
    do {
      Entry& top = heap_.front();
      top.source->Next();
      if (top.source->Valid()) {
        // Usually the same source still holds the smallest key (most keys
        // live in the deepest level), and the sift stops after one compare
        // per child: cheaper than a pop and a push.
        top.key = top.source->key();
      } else {
        NoteError(top.source);
        top = heap_.back();
        heap_.pop_back();
        if (heap_.empty()) return;
      }
      SiftDown();
    } while (status_.ok() && heap_.front().key == last_key_);
  }

  std::string_view key() const override { return heap_.front().key; }
  std::string_view value() const override { return heap_.front().source->value(); }
  ValueKind kind() const override { return heap_.front().source->kind(); }
  Status status() const override { return status_; }

 private:
  struct Entry {
    Iterator* source;
    std::string_view key;  // source->key(), cached
    uint32_t order;        // index in children_: lower is newer
  };

  // The heap order: a after b when its key is greater, or equal and from an
  // older source, so the newest version of the smallest key is on top.
  static bool After(const Entry& a, const Entry& b) {
    const int c = a.key.compare(b.key);
    return c > 0 || (c == 0 && a.order > b.order);
  }

  // A source that stopped on an error ends the merge: skipping it would
  // resurrect older versions of its keys.
  void NoteError(const Iterator* source) {
    Status s = source->status();
    if (!s.ok() && status_.ok()) status_ = s;
  }

  void RebuildHeap() {
    heap_.clear();
    for (size_t i = 0; i < children_.size(); ++i) {
      Iterator* source = children_[i].get();
      if (source->Valid()) {
        heap_.push_back(Entry{source, source->key(), static_cast<uint32_t>(i)});
      } else {
        NoteError(source);
      }
    }
    std::make_heap(heap_.begin(), heap_.end(), After);
  }

  // Restores the heap after the top entry changed (std::make_heap's order).
  void SiftDown() {
    const size_t n = heap_.size();
    const Entry moving = heap_.front();
    size_t hole = 0;
    for (size_t child = 1; child < n; child = 2 * hole + 1) {
      if (child + 1 < n && After(heap_[child], heap_[child + 1])) ++child;
      if (!After(moving, heap_[child])) break;
      heap_[hole] = heap_[child];
      hole = child;
    }
    heap_[hole] = moving;
  }

  std::vector<std::unique_ptr<Iterator>> children_;
  std::vector<Entry> heap_;
  std::string last_key_;
  Status status_;
};

}  // namespace

std::unique_ptr<Iterator> NewMergingIterator(std::vector<std::unique_ptr<Iterator>> children) {
  return std::make_unique<MergingIterator>(std::move(children));
}

}  // namespace lsmd
