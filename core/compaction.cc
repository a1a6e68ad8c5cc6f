#include "core/compaction.h"

#include <algorithm>

#include "core/background_yield.h"
#include "core/merging_iterator.h"
#include "core/table_file.h"

namespace lsmd {
namespace {

// Tables of a sorted level that overlap [smallest, largest].
TableList Overlapping(const TableList& level, std::string_view smallest, std::string_view largest) {
  TableList out;
  for (const auto& t : level) {
    if (t->meta().largest >= smallest && t->meta().smallest <= largest) out.push_back(t);
  }
  return out;
}

void KeyRange(const TableList& tables, std::string* smallest, std::string* largest) {
  for (size_t i = 0; i < tables.size(); ++i) {
    const FileMeta& m = tables[i]->meta();
    if (i == 0 || m.smallest < *smallest) *smallest = m.smallest;
    if (i == 0 || m.largest > *largest) *largest = m.largest;
  }
}

}  // namespace

const char* CompactionReasonText(CompactionReason reason) {
  switch (reason) {
    case CompactionReason::kL0Files:
      return "L0 file count";
    case CompactionReason::kLevelBytes:
      return "level size";
    case CompactionReason::kManual:
      return "CompactAll";
  }
  return "unknown";
}

TableList Compaction::AllInputs() const {
  TableList all;
  for (const TableList& source : sources) all.insert(all.end(), source.begin(), source.end());
  return all;
}

uint64_t Compaction::InputBytes() const {
  uint64_t bytes = 0;
  for (const auto& t : AllInputs()) bytes += t->meta().size;
  return bytes;
}

uint64_t MaxBytesForLevel(const Options& options, int level) {
  uint64_t bytes = options.level1_max_bytes;
  for (int n = 1; n < level; ++n) bytes *= 10;
  return bytes;
}

std::optional<Compaction> PickCompaction(const Version& version, const Options& options,
                                         const std::vector<std::string>& compact_pointers) {
  // Score each level by how far past its trigger it is; the worst goes first.
  int best_level = -1;
  double best_score = 1.0;
  const double l0_score =
      static_cast<double>(version.NumFiles(0)) / std::max(1, options.l0_compaction_trigger);
  if (l0_score >= best_score) {
    best_level = 0;
    best_score = l0_score;
  }
  // Once writers are being slowed, L0 is the most urgent whatever the deeper
  // levels owe: otherwise flushes keep landing between their compactions and
  // L0 climbs toward the stop trigger.
  const bool l0_urgent = version.NumFiles(0) >= options.l0_slowdown_trigger;
  for (int n = 1; n < kNumLevels - 1 && !l0_urgent; ++n) {
    const double score = static_cast<double>(version.LevelBytes(n)) / MaxBytesForLevel(options, n);
    if (score > best_score) {
      best_level = n;
      best_score = score;
    }
  }
  if (best_level < 0) return std::nullopt;

  Compaction c;
  c.reason = best_level == 0 ? CompactionReason::kL0Files : CompactionReason::kLevelBytes;
  c.level = best_level;
  c.output_level = best_level + 1;
  std::string smallest, largest;
  if (best_level == 0) {
    // L0 tables overlap one another: take them all, newest first.
    for (const auto& t : version.level(0)) c.sources.push_back(TableList{t});
    KeyRange(version.level(0), &smallest, &largest);
  } else {
    // Round-robin over the key space: the first table past where the last
    // compaction of this level stopped, so every range gets its turn.
    const TableList& files = version.level(best_level);
    const std::string& pointer = compact_pointers[best_level];
    std::shared_ptr<TableHandle> chosen = files.front();
    for (const auto& t : files) {
      if (pointer.empty() || t->meta().largest > pointer) {
        chosen = t;
        break;
      }
    }
    c.sources.push_back(TableList{chosen});
    smallest = chosen->meta().smallest;
    largest = chosen->meta().largest;
  }
  TableList next = Overlapping(version.level(c.output_level), smallest, largest);
  if (!next.empty()) c.sources.push_back(std::move(next));
  return c;
}

std::optional<Compaction> PickFullCompaction(const Version& version) {
  Compaction c;
  c.reason = CompactionReason::kManual;
  c.full = true;
  c.level = 0;
  c.output_level = 1;
  for (int n = 1; n < kNumLevels; ++n) {
    if (version.NumFiles(n) > 0) c.output_level = n;
  }
  for (const auto& t : version.level(0)) c.sources.push_back(TableList{t});
  for (int n = 1; n < kNumLevels; ++n) {
    if (version.NumFiles(n) > 0) c.sources.push_back(version.level(n));
  }
  if (c.sources.empty()) return std::nullopt;
  return c;
}

uint64_t EstimatePendingCompactionBytes(const Version& version, const Options& options) {
  uint64_t pending = 0;
  // Bytes a compaction of the level above moves into this one: they count
  // toward this level's size before their own compaction happens.
  uint64_t incoming = 0;
  if (version.NumFiles(0) >= options.l0_compaction_trigger) {
    // L0 goes whole into L1 with the L1 tables it overlaps (at most all).
    incoming = version.LevelBytes(0);
    pending += incoming + version.LevelBytes(1);
  }
  // L6 has no budget: what reaches it stays.
  for (int n = 1; n < kNumLevels - 1; ++n) {
    const uint64_t size = version.LevelBytes(n) + incoming;
    const uint64_t target = MaxBytesForLevel(options, n);
    incoming = 0;
    if (size <= target) continue;
    // The excess leaves n, and takes with it the tables of n+1 it overlaps:
    // the next level's bytes in the proportion the excess is of this level.
    const uint64_t excess = size - target;
    const double next = static_cast<double>(version.LevelBytes(n + 1));
    pending += excess + static_cast<uint64_t>(static_cast<double>(excess) * next /
                                              static_cast<double>(size));
    incoming = excess;
  }
  return pending;
}

CompactionJob::CompactionJob(Env* env, std::string dir, const Options& options,
                             const Version& version, const Compaction& compaction,
                             NumberAllocator next_number, const std::atomic<bool>* shutting_down)
    : env_(env),
      dir_(std::move(dir)),
      options_(options),
      version_(version),
      compaction_(compaction),
      next_number_(std::move(next_number)),
      shutting_down_(shutting_down) {}

bool CompactionJob::IsBottommostForKey(std::string_view key) const {
  for (int n = compaction_.output_level + 1; n < kNumLevels; ++n) {
    const TableList& files = version_.level(n);
    auto it = std::partition_point(files.begin(), files.end(),
                                   [&](const auto& t) { return t->meta().largest < key; });
    if (it != files.end() && (*it)->meta().smallest <= key) return false;
  }
  return true;
}

void CompactionJob::RemoveOutputs() {
  for (auto& t : outputs_) t->MarkObsolete();
  outputs_.clear();
}

Status CompactionJob::Run() {
  std::vector<std::unique_ptr<Iterator>> children;
  for (const TableList& source : compaction_.sources) {
    children.push_back(NewConcatenatingIterator(source));
  }
  auto input = NewMergingIterator(std::move(children));
  std::unique_ptr<TableFileWriter> writer;
  Status s;

  auto finish_output = [&]() -> Status {
    auto table = writer->Finish();
    writer.reset();
    if (!table.ok()) return table.status();
    bytes_written_ += (*table)->meta().size;
    outputs_.push_back(std::move(*table));
    return Status::OK();
  };

  BackgroundYield yield;
  for (input->SeekToFirst(); input->Valid(); input->Next()) {
    yield.Tick();
    if (shutting_down_->load(std::memory_order_relaxed)) {
      s = Status::Busy("compaction abandoned: the engine is shutting down");
      break;
    }
    if (input->kind() == ValueKind::kTombstone && IsBottommostForKey(input->key())) {
      ++tombstones_dropped_;  // nothing older below can resurface
      continue;
    }
    if (!writer) {
      auto created =
          TableFileWriter::Create(env_, dir_, options_, compaction_.output_level, next_number_());
      if (!created.ok()) {
        s = created.status();
        break;
      }
      writer = std::move(*created);
    }
    s = writer->Add(input->key(), input->kind(), input->value());
    if (!s.ok()) break;
    if (writer->FileSize() >= options_.target_file_bytes) {
      s = finish_output();
      if (!s.ok()) break;
    }
  }
  if (s.ok()) s = input->status();
  if (s.ok() && writer) s = finish_output();
  writer.reset();  // an unfinished output removes its temporary file
  if (!s.ok()) RemoveOutputs();
  return s;
}

}  // namespace lsmd
