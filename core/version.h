// Version: an immutable snapshot of the live SSTables, level by level. The DB
// installs a new Version after every flush or compaction; readers hold a
// shared_ptr to the one they started with, so the files they read stay open
// and on disk until the last reader lets go (TableHandle's destructor removes
// a file only once it is marked obsolete and no Version or reader holds it).
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "core/iterator.h"
#include "core/manifest.h"
#include "core/sstable_reader.h"

namespace lsmd {

// One open, live SSTable. Shared by every Version that lists it.
class TableHandle {
 public:
  TableHandle(Env* env, std::string dir, FileMeta meta, std::unique_ptr<SSTableReader> reader);
  ~TableHandle();  // removes the file if MarkObsolete() was called

  const FileMeta& meta() const { return meta_; }
  const std::string& name() const { return name_; }
  const SSTableReader& reader() const { return *reader_; }
  // Called once a compaction's new manifest no longer lists this table.
  void MarkObsolete() { obsolete_.store(true, std::memory_order_release); }

 private:
  Env* const env_;
  const std::string path_;
  const std::string name_;
  const FileMeta meta_;
  const std::unique_ptr<SSTableReader> reader_;
  std::atomic<bool> obsolete_{false};
};

using TableList = std::vector<std::shared_ptr<TableHandle>>;

class Version {
 public:
  // levels[0] newest first (they may overlap); levels[1..] sorted by smallest
  // key, non-overlapping.
  explicit Version(std::array<TableList, kNumLevels> levels) : levels_(std::move(levels)) {}

  const TableList& level(int n) const { return levels_[n]; }
  int NumFiles(int n) const { return static_cast<int>(levels_[n].size()); }
  uint64_t LevelBytes(int n) const;
  // Every table, L0 first.
  std::vector<FileMeta> AllFiles() const;
  // The live table with this exact name, or null.
  std::shared_ptr<TableHandle> FindTable(std::string_view name) const;

  // Tables that may hold key, in the order a read must try them: L0 newest
  // first, then at most one per deeper level.
  TableList TablesForKey(std::string_view key) const;

  // Iterators in priority order (newest first) over every table: one per L0
  // file, one concatenating iterator per deeper level. Each keeps its tables
  // alive through shared_ptrs.
  void AddIterators(std::vector<std::unique_ptr<Iterator>>* out) const;

 private:
  const std::array<TableList, kNumLevels> levels_;
};

// Iterates a sorted run of non-overlapping tables, opening each table's
// iterator only when reached, so memory stays one segment.
std::unique_ptr<Iterator> NewConcatenatingIterator(TableList tables);

}  // namespace lsmd
