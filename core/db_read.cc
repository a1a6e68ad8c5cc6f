// The read path. A get: ReadView (one shared_ptr copy under mu_) -> MemTable
// -> frozen MemTables newest first -> Version::TablesForKey (L0 newest first,
// then one table per level) -> SSTableReader::Get (Bloom filter, sparse
// index, one segment read). The first put or tombstone found decides.
#include "core/compaction.h"
#include "core/db_impl.h"
#include "core/filename.h"
#include "core/merging_iterator.h"

namespace lsmd {

Status DB::Impl::Get(std::string_view key, std::string* value) {
  std::shared_ptr<const ReadView> view = GetReadView();
  LookupState state = view->mem->Get(key, value);
  for (size_t i = 0; state == LookupState::kAbsent && i < view->frozen.size(); ++i) {
    state = view->frozen[i]->Get(key, value);
  }
  if (state == LookupState::kFound) return Status::OK();
  if (state == LookupState::kDeleted) return Status::NotFound("");

  for (const auto& table : view->version->TablesForKey(key)) {
    TableLookup lookup;
    Status s = table->reader().Get(key, &lookup);
    if (!s.ok()) return s;
    if (lookup.bloom_negative) {
      counters_.bloom_negatives.fetch_add(1, std::memory_order_relaxed);
    } else if (lookup.state == LookupState::kAbsent && lookup.disk_reads > 0) {
      counters_.bloom_false_positives.fetch_add(1, std::memory_order_relaxed);
    }
    if (lookup.state == LookupState::kFound) {
      *value = std::move(lookup.value);
      return Status::OK();
    }
    if (lookup.state == LookupState::kDeleted) return Status::NotFound("");
  }
  return Status::NotFound("");
}

Status DB::Impl::Scan(std::string_view start, std::string_view end, size_t limit,
                      const DB::ScanWhileVisitor& visit, bool* more) {
  *more = false;
  // The view keeps every MemTable and table file alive until the scan ends,
  // even if a flush or compaction replaces them meanwhile.
  std::shared_ptr<const ReadView> view = GetReadView();
  std::vector<std::unique_ptr<Iterator>> sources;
  sources.push_back(view->mem->NewIterator());
  for (const auto& frozen : view->frozen) sources.push_back(frozen->NewIterator());
  view->version->AddIterators(&sources);
  auto it = NewMergingIterator(std::move(sources));
  size_t visited = 0;
  for (it->Seek(start); it->Valid(); it->Next()) {
    if (!end.empty() && it->key() >= end) break;
    if (it->kind() == ValueKind::kTombstone) continue;
    if (visited == limit) {
      *more = true;
      break;
    }
    if (!visit(it->key(), it->value())) {
      *more = true;  // the entry the visitor declined is still in the range
      break;
    }
    ++visited;
  }
  return it->status();
}

Result<SSTableLookupResult> DB::Impl::LookupInSSTable(std::string_view name, std::string_view key) {
  std::shared_ptr<const ReadView> view = GetReadView();
  std::shared_ptr<TableHandle> table = view->version->FindTable(name);
  if (!table) {
    // Never echo a long client-supplied name back; never touch the disk for it.
    const std::string shown = name.size() <= 64 ? std::string(name) : "the named file";
    const ParsedFileName parsed = ParseFileName(name);
    uint64_t next_number;
    {
      MutexLock lock(&mu_);
      next_number = manifest_.next_table_number;
    }
    if (parsed.type == FileType::kTable && parsed.number < next_number &&
        name == TableFileName(parsed.level, parsed.number)) {
      return Status::NotFound(shown + " is no longer live: compaction merged it into other tables");
    }
    return Status::NotFound("no live SSTable named " + shown);
  }
  TableLookup lookup;
  Status s = table->reader().Get(key, &lookup);
  if (!s.ok()) return s;
  SSTableLookupResult result;
  result.found = lookup.state == LookupState::kFound;
  if (result.found) result.value = std::move(lookup.value);
  result.bloom_checked = lookup.bloom_checked;
  result.disk_reads = lookup.disk_reads;
  return result;
}

DBStats DB::Impl::GetStats() {
  DBStats stats;
  std::shared_ptr<const ReadView> view;
  uint64_t retired_table_bytes = 0;  // removed from the Version, still on disk
  {
    MutexLock lock(&mu_);
    view = view_;
    stats.memtable_threshold_bytes = memtable_threshold_;
    stats.frozen_memtables = imm_.size();
    for (const auto& t : obsolete_tables_) retired_table_bytes += t->meta().size;
  }
  stats.memtable_bytes = view->mem->ApproximateBytes();
  stats.memtable_entries = view->mem->entries();
  counters_.Fill(&stats);
  const Version& version = *view->version;
  stats.pending_compaction_bytes = EstimatePendingCompactionBytes(version, options_);
  stats.live_data_bytes += retired_table_bytes;
  for (int n = 0; n < kNumLevels; ++n) {
    stats.levels.push_back(
        LevelInfo{n, static_cast<uint64_t>(version.NumFiles(n)), version.LevelBytes(n)});
    stats.live_data_bytes += stats.levels.back().bytes;
    for (const auto& t : version.level(n)) {
      const FileMeta& m = t->meta();
      stats.tables.push_back(
          TableInfo{t->name(), m.level, m.entries, m.size, m.bloom_bits, m.smallest, m.largest});
    }
  }
  return stats;
}

}  // namespace lsmd
