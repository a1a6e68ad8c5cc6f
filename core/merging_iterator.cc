#include "core/merging_iterator.h"

#include <string>

namespace lsmd {
namespace {

// The number of sources is small (MemTables, L0 files, one per level), so a
// linear pass for the smallest key beats a heap's bookkeeping.
class MergingIterator final : public Iterator {
 public:
  explicit MergingIterator(std::vector<std::unique_ptr<Iterator>> children)
      : children_(std::move(children)) {}

  bool Valid() const override { return current_ != nullptr && status_.ok(); }

  void SeekToFirst() override {
    for (auto& child : children_) child->SeekToFirst();
    FindSmallest();
  }

  void Seek(std::string_view target) override {
    for (auto& child : children_) child->Seek(target);
    FindSmallest();
  }

  void Next() override {
    // Every source positioned at this key holds an older version or the one
    // just yielded: step all of them past it.
    last_key_.assign(current_->key());
    for (auto& child : children_) {
      if (child->Valid() && child->key() == last_key_) child->Next();
    }
    FindSmallest();
  }

  std::string_view key() const override { return current_->key(); }
  std::string_view value() const override { return current_->value(); }
  ValueKind kind() const override { return current_->kind(); }
  Status status() const override { return status_; }

 private:
  // Strict < keeps the earliest (newest) source on ties. A source that
  // stopped on an error ends the merge: skipping it would resurrect older
  // versions of its keys.
  void FindSmallest() {
    current_ = nullptr;
    for (auto& child : children_) {
      if (!child->Valid()) {
        Status s = child->status();
        if (!s.ok() && status_.ok()) status_ = s;
        continue;
      }
      if (current_ == nullptr || child->key() < current_->key()) current_ = child.get();
    }
  }

  std::vector<std::unique_ptr<Iterator>> children_;
  Iterator* current_ = nullptr;
  std::string last_key_;
  Status status_;
};

}  // namespace

std::unique_ptr<Iterator> NewMergingIterator(std::vector<std::unique_ptr<Iterator>> children) {
  return std::make_unique<MergingIterator>(std::move(children));
}

}  // namespace lsmd
