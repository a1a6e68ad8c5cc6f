// Running compactions on the compaction strand and installing their results:
// the manifest drops the inputs and lists the outputs in one atomic rewrite;
// inputs are deleted only once no Version or reader holds them, and always
// on this strand (SweepObsoleteTables), never by a reader letting go.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <set>

#include "core/compaction.h"
#include "core/db_impl.h"

namespace lsmd {
namespace {

// Table names for a log line, bounded: a full compaction can take hundreds.
std::string DescribeTables(const TableList& tables) {
  constexpr size_t kMaxNamed = 6;
  std::string out;
  if (tables.size() <= kMaxNamed) {
    for (const auto& t : tables) out += (out.empty() ? "" : " ") + t->name();
    return out;
  }
  return tables.front()->name() + " ... " + tables.back()->name();
}

// "L0 4 tables (L0_010.sst ... L0_013.sst), L1 2 tables (...)".
std::string DescribeInputs(const Compaction& c) {
  std::array<TableList, kNumLevels> by_level;
  for (const auto& t : c.AllInputs()) by_level[t->meta().level].push_back(t);
  std::string out;
  for (int n = 0; n < kNumLevels; ++n) {
    if (by_level[n].empty()) continue;
    out += fmt::format("{}L{} {} tables ({})", out.empty() ? "" : ", ", n, by_level[n].size(),
                       DescribeTables(by_level[n]));
  }
  return out;
}

// What made the compaction run, with the figures that did.
std::string DescribeTrigger(const Compaction& c, const Version& base, const Options& options) {
  switch (c.reason) {
    case CompactionReason::kL0Files:
      return fmt::format("{}: {} files, trigger {}", CompactionReasonText(c.reason),
                         base.NumFiles(0), options.l0_compaction_trigger);
    case CompactionReason::kLevelBytes:
      return fmt::format("{}: L{} holds {} bytes, budget {}", CompactionReasonText(c.reason),
                         c.level, base.LevelBytes(c.level), MaxBytesForLevel(options, c.level));
    case CompactionReason::kManual:
      break;
  }
  return CompactionReasonText(c.reason);
}

}  // namespace

void DB::Impl::MaybeScheduleCompaction() {
  if (compaction_scheduled_ || paused_ || compaction_paused_ || closing_ ||
      shutting_down_.load(std::memory_order_relaxed)) {
    return;
  }
  if (!manual_compaction_ && !PickCompaction(*current_, options_, manifest_.compact_pointers)) {
    return;
  }
  compaction_scheduled_ = true;
  boost::asio::post(compaction_strand_, [this] { BackgroundCompaction(); });
}

void DB::Impl::CompactAllAsync(CompactCallback done) {
  // Flush first, so what the MemTable deletes is dropped from disk too.
  FlushAsync(
      [this, done = std::move(done)](Result<FlushResult> flushed) mutable {
        if (!flushed.ok()) {
          done(flushed.status());
          return;
        }
        MutexLock lock(&mu_);
        if (closing_ || shutting_down_.load(std::memory_order_relaxed)) {
          lock.Unlock();
          done(Status::Busy("the server is shutting down: compaction not started"));
          return;
        }
        compact_waiters_.push_back(std::move(done));
        manual_compaction_ = true;
        MaybeScheduleCompaction();
      },
      FlushReason::kCompactAll);
}

void DB::Impl::BeginShutdown() {
  shutting_down_.store(true);
  std::vector<CompactCallback> waiters;
  {
    MutexLock lock(&mu_);
    // With a compaction running, it answers them when it stops; otherwise
    // (paused, or queued behind nothing) nobody would.
    if (!compaction_scheduled_ && !compaction_running_) {
      waiters.swap(compact_waiters_);
      manual_compaction_ = false;
    }
  }
  for (auto& done : waiters) {
    done(Status::Busy("the server is shutting down: compaction abandoned"));
  }
}

void DB::Impl::BackgroundCompaction() {
  MutexLock lock(&mu_);
  compaction_scheduled_ = false;
  if (paused_ || compaction_paused_ || closing_ || shutting_down_.load()) {
    if (shutting_down_.load() && manual_compaction_) {
      manual_compaction_ = false;
      std::vector<CompactCallback> waiters;
      waiters.swap(compact_waiters_);
      lock.Unlock();
      for (auto& done : waiters) {
        done(Status::Busy("the server is shutting down: compaction abandoned"));
      }
    }
    return;
  }
  compaction_running_ = true;
  const bool manual = manual_compaction_;
  std::shared_ptr<const Version> base = current_;
  std::optional<Compaction> picked =
      manual ? PickFullCompaction(*base)
             : PickCompaction(*base, options_, manifest_.compact_pointers);
  const auto start = std::chrono::steady_clock::now();
  Status s;
  uint64_t bytes_read = 0, bytes_written = 0;
  if (picked) {
    lock.Unlock();
    const Compaction& c = *picked;
    bytes_read = c.InputBytes();
    CompactionJob job(
        env_, dir_, options_, *base, c,
        [this] {
          MutexLock guard(&mu_);
          return manifest_.next_table_number++;
        },
        &shutting_down_);
    s = job.Run();
    bytes_written = job.bytes_written();
    if (s.ok()) {
      // Taken before mu_ (the lock order), held from the snapshot to the install.
      MutexLock manifest_lock(&manifest_mu_);
      lock.Lock();
      // A flush may have added L0 tables since base: build on current_,
      // which keeps them, minus this compaction's inputs.
      const TableList inputs = c.AllInputs();
      const std::set<const TableHandle*> removed = [&] {
        std::set<const TableHandle*> set;
        for (const auto& t : inputs) set.insert(t.get());
        return set;
      }();
      std::array<TableList, kNumLevels> levels;
      for (int n = 0; n < kNumLevels; ++n) {
        for (const auto& t : current_->level(n)) {
          if (!removed.count(t.get())) levels[n].push_back(t);
        }
      }
      TableList& out = levels[c.output_level];
      out.insert(out.end(), job.outputs().begin(), job.outputs().end());
      std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a->meta().smallest < b->meta().smallest;
      });
      auto next_version = std::make_shared<Version>(std::move(levels));

      ManifestState next = ManifestSnapshot();
      next.tables = next_version->AllFiles();
      if (!c.full && c.level > 0) {  // L0 takes all its files: no pointer
        std::string largest;
        for (const auto& t : c.sources.front()) largest = std::max(largest, t->meta().largest);
        next.compact_pointers[c.level] = largest;
      }
      lock.Unlock();
      uint64_t manifest_bytes = 0;
      s = SaveManifest(env_, dir_, next, &manifest_bytes);
      const bool keep_outputs = !s.ok() && ManifestMayList(env_, dir_, [&] {
        std::vector<uint64_t> numbers;
        for (const auto& t : job.outputs()) numbers.push_back(t->meta().number);
        return numbers;
      }());
      lock.Lock();
      if (s.ok()) {
        manifest_.compact_pointers = next.compact_pointers;
        current_ = std::move(next_version);
        RebuildReadView();
        RetireTables(inputs);
        counters_.manifest_bytes.store(manifest_bytes, std::memory_order_relaxed);
        counters_.RecordCompaction(
            c.output_level, bytes_read, bytes_written,
            static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                      std::chrono::steady_clock::now() - start)
                                      .count()));
      } else if (!keep_outputs) {
        for (const auto& t : job.outputs()) t->MarkObsolete();
      } else {
        // The disk may hold either manifest, so both file sets stay; the
        // next Open removes whichever set the surviving manifest omits.
        spdlog::warn("compaction: manifest may list the new tables; keeping them until reopen");
      }
    } else {
      lock.Lock();
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    if (s.ok()) {
      spdlog::info(
          "compaction ({}): L{} -> L{}: in {}; out {} tables{}{}{}; {} bytes read, {} "
          "bytes written in {} ms",
          DescribeTrigger(c, *base, options_), c.level, c.output_level, DescribeInputs(c),
          job.outputs().size(), job.outputs().empty() ? "" : " (", DescribeTables(job.outputs()),
          job.outputs().empty() ? "" : ")", bytes_read, bytes_written, ms);
    } else {
      spdlog::error("compaction ({}) L{} -> L{} failed after {} ms, inputs kept: {}",
                    DescribeTrigger(c, *base, options_), c.level, c.output_level, ms, s.ToString());
    }
  }

  compaction_running_ = false;
  std::vector<CompactCallback> waiters;
  CompactResult result;
  if (manual) {
    manual_compaction_ = false;
    waiters.swap(compact_waiters_);
    for (int n = 0; n < kNumLevels; ++n) {
      result.levels.push_back(
          LevelInfo{n, static_cast<uint64_t>(current_->NumFiles(n)), current_->LevelBytes(n)});
    }
    result.duration_ms =
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - start)
                                  .count());
  }
  // After a failure, wait for the next flush to try again rather than spin.
  if (s.ok()) MaybeScheduleCompaction();
  lock.Unlock();
  bg_cv_.SignalAll();
  for (auto& done : waiters) {
    if (s.ok()) {
      done(result);
    } else {
      done(s);
    }
  }
}

void DB::Impl::RetireTables(const TableList& tables) {
  for (const auto& t : tables) {
    t->MarkObsolete();
    obsolete_tables_.push_back(t);
  }
  MaybeScheduleSweep();
}

void DB::Impl::MaybeScheduleSweep() {
  if (sweep_scheduled_ || obsolete_tables_.empty() || shutting_down_.load()) return;
  sweep_scheduled_ = true;
  boost::asio::post(compaction_strand_, [this] { SweepObsoleteTables(); });
}

void DB::Impl::SweepObsoleteTables() {
  TableList released;
  {
    MutexLock lock(&mu_);
    sweep_scheduled_ = false;
    // use_count() == 1: only this list holds the table, and no one without a
    // reference can take a new one, so the count cannot rise again.
    auto unheld = std::stable_partition(obsolete_tables_.begin(), obsolete_tables_.end(),
                                        [](const auto& t) { return t.use_count() > 1; });
    released.assign(std::make_move_iterator(unheld),
                    std::make_move_iterator(obsolete_tables_.end()));
    obsolete_tables_.erase(unheld, obsolete_tables_.end());
    if (!obsolete_tables_.empty() && !shutting_down_.load()) {
      // A reader still holds some: look again shortly. Scans hold a table
      // for as long as they take, so this may take a few rounds.
      sweep_scheduled_ = true;
      sweep_timer_.expires_after(std::chrono::milliseconds(100));
      sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;  // cancelled by Close, which removes the rest itself
        SweepObsoleteTables();
      });
    }
  }
  released.clear();  // unmaps and unlinks, outside mu_
}

}  // namespace lsmd
