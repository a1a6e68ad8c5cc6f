#include "core/version.h"

#include <algorithm>

#include "core/filename.h"

namespace lsmd {

TableHandle::TableHandle(Env* env, std::string dir, FileMeta meta,
                         std::unique_ptr<SSTableReader> reader)
    : env_(env),
      path_(dir + "/" + TableFileName(meta.level, meta.number)),
      name_(TableFileName(meta.level, meta.number)),
      meta_(std::move(meta)),
      reader_(std::move(reader)) {}

TableHandle::~TableHandle() {
  if (obsolete_.load(std::memory_order_acquire)) {
    // Best effort: a file left behind is removed at the next open.
    env_->RemoveFile(path_);
  }
}

uint64_t Version::LevelBytes(int n) const {
  uint64_t total = 0;
  for (const auto& t : levels_[n]) total += t->meta().size;
  return total;
}

std::vector<FileMeta> Version::AllFiles() const {
  std::vector<FileMeta> files;
  for (const TableList& level : levels_) {
    for (const auto& t : level) files.push_back(t->meta());
  }
  return files;
}

std::shared_ptr<TableHandle> Version::FindTable(std::string_view name) const {
  for (const TableList& level : levels_) {
    for (const auto& t : level) {
      if (t->name() == name) return t;
    }
  }
  return nullptr;
}

TableList Version::TablesForKey(std::string_view key) const {
  TableList out;
  for (const auto& t : levels_[0]) {
    if (key >= t->meta().smallest && key <= t->meta().largest) out.push_back(t);
  }
  for (int n = 1; n < kNumLevels; ++n) {
    const TableList& files = levels_[n];
    // First file whose largest key is >= key; it holds key if its range does.
    auto it = std::partition_point(files.begin(), files.end(),
                                   [&](const auto& t) { return t->meta().largest < key; });
    if (it != files.end() && key >= (*it)->meta().smallest) out.push_back(*it);
  }
  return out;
}

namespace {

class ConcatenatingIterator final : public Iterator {
 public:
  explicit ConcatenatingIterator(TableList tables) : tables_(std::move(tables)) {}

  bool Valid() const override { return current_ != nullptr && current_->Valid(); }

  void SeekToFirst() override {
    OpenTable(0);
    if (current_) current_->SeekToFirst();
    SkipEmptyTables();
  }

  void Seek(std::string_view target) override {
    auto it = std::partition_point(tables_.begin(), tables_.end(),
                                   [&](const auto& t) { return t->meta().largest < target; });
    OpenTable(static_cast<size_t>(it - tables_.begin()));
    if (current_) current_->Seek(target);
    SkipEmptyTables();
  }

  void Next() override {
    current_->Next();
    SkipEmptyTables();
  }

  std::string_view key() const override { return current_->key(); }
  std::string_view value() const override { return current_->value(); }
  ValueKind kind() const override { return current_->kind(); }
  Status status() const override { return status_; }

 private:
  void OpenTable(size_t index) {
    index_ = index;
    current_.reset();
    if (index_ < tables_.size()) current_ = tables_[index_]->reader().NewIterator();
  }

  // Moves to the next table whenever the current one is exhausted; stops at
  // the first error so a corrupt table is reported, not skipped.
  void SkipEmptyTables() {
    while (current_ && !current_->Valid()) {
      Status s = current_->status();
      if (!s.ok()) {
        status_ = s;
        current_.reset();
        return;
      }
      OpenTable(index_ + 1);
      if (current_) current_->SeekToFirst();
    }
  }

  const TableList tables_;
  size_t index_ = 0;
  std::unique_ptr<Iterator> current_;
  Status status_;
};

// Holds a table alive for as long as its iterator lives.
class OwningTableIterator final : public Iterator {
 public:
  explicit OwningTableIterator(std::shared_ptr<TableHandle> table)
      : table_(std::move(table)), it_(table_->reader().NewIterator()) {}
  bool Valid() const override { return it_->Valid(); }
  void SeekToFirst() override { it_->SeekToFirst(); }
  void Seek(std::string_view target) override { it_->Seek(target); }
  void Next() override { it_->Next(); }
  std::string_view key() const override { return it_->key(); }
  std::string_view value() const override { return it_->value(); }
  ValueKind kind() const override { return it_->kind(); }
  Status status() const override { return it_->status(); }

 private:
  std::shared_ptr<TableHandle> table_;
  std::unique_ptr<Iterator> it_;
};

}  // namespace

std::unique_ptr<Iterator> NewConcatenatingIterator(TableList tables) {
  return std::make_unique<ConcatenatingIterator>(std::move(tables));
}

void Version::AddIterators(std::vector<std::unique_ptr<Iterator>>* out) const {
  for (const auto& t : levels_[0]) out->push_back(std::make_unique<OwningTableIterator>(t));
  for (int n = 1; n < kNumLevels; ++n) {
    if (!levels_[n].empty()) out->push_back(NewConcatenatingIterator(levels_[n]));
  }
}

}  // namespace lsmd
