// Running compactions on the background strand and installing their results:
// the manifest drops the inputs and lists the outputs in one atomic rewrite;
// inputs are deleted only once no Version or reader holds them.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <set>

#include "core/compaction.h"
#include "core/db_impl.h"

namespace lsmd {

void DB::Impl::MaybeScheduleCompaction() {
  if (compaction_scheduled_ || paused_ || compaction_paused_ || closing_) return;
  if (!manual_compaction_ && !PickCompaction(*current_, options_, manifest_.compact_pointers)) {
    return;
  }
  compaction_scheduled_ = true;
  boost::asio::post(bg_strand_, [this] { BackgroundCompaction(); });
}

void DB::Impl::CompactAllAsync(CompactCallback done) {
  // Flush first, so what the MemTable deletes is dropped from disk too.
  FlushAsync([this, done = std::move(done)](Result<FlushResult> flushed) mutable {
    if (!flushed.ok()) {
      done(flushed.status());
      return;
    }
    std::unique_lock lock(mu_);
    if (closing_) {
      lock.unlock();
      done(Status::IOError("engine closed before the compaction started"));
      return;
    }
    compact_waiters_.push_back(std::move(done));
    manual_compaction_ = true;
    MaybeScheduleCompaction();
  });
}

void DB::Impl::BackgroundCompaction() {
  std::unique_lock lock(mu_);
  compaction_scheduled_ = false;
  if (paused_ || compaction_paused_ || closing_) return;
  const bool manual = manual_compaction_;
  std::shared_ptr<const Version> base = current_;
  std::optional<Compaction> picked =
      manual ? PickFullCompaction(*base)
             : PickCompaction(*base, options_, manifest_.compact_pointers);
  const auto start = std::chrono::steady_clock::now();
  Status s;
  uint64_t bytes_read = 0, bytes_written = 0;
  if (picked) {
    lock.unlock();
    const Compaction& c = *picked;
    bytes_read = c.InputBytes();
    CompactionJob job(
        env_, dir_, options_, *base, c,
        [this] {
          std::lock_guard guard(mu_);
          return manifest_.next_table_number++;
        },
        &shutting_down_);
    s = job.Run();
    bytes_written = job.bytes_written();
    lock.lock();
    if (s.ok()) {
      // Flushes share this strand, so current_ is still base; building on
      // current_ keeps the install right should that ever change.
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
      lock.unlock();
      s = SaveManifest(env_, dir_, next);
      const bool keep_outputs = !s.ok() && ManifestMayList(env_, dir_, [&] {
        std::vector<uint64_t> numbers;
        for (const auto& t : job.outputs()) numbers.push_back(t->meta().number);
        return numbers;
      }());
      lock.lock();
      if (s.ok()) {
        manifest_.compact_pointers = next.compact_pointers;
        current_ = std::move(next_version);
        RebuildReadView();
        for (const auto& t : inputs) t->MarkObsolete();
        compactions_.fetch_add(1, std::memory_order_relaxed);
        compaction_bytes_read_.fetch_add(bytes_read, std::memory_order_relaxed);
        compaction_bytes_written_.fetch_add(bytes_written, std::memory_order_relaxed);
      } else if (!keep_outputs) {
        for (const auto& t : job.outputs()) t->MarkObsolete();
      } else {
        // The disk may hold either manifest, so both file sets stay; the
        // next Open removes whichever set the surviving manifest omits.
        spdlog::warn("compaction: manifest may list the new tables; keeping them until reopen");
      }
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    if (s.ok()) {
      spdlog::info("compaction: L{} -> L{}: {} tables, {} bytes read, {} bytes written in {} ms",
                   c.level, c.output_level, c.AllInputs().size(), bytes_read, bytes_written, ms);
    } else {
      spdlog::error("compaction L{} -> L{} failed, inputs kept: {}", c.level, c.output_level,
                    s.ToString());
    }
  }

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
  lock.unlock();
  bg_cv_.notify_all();
  for (auto& done : waiters) {
    if (s.ok()) {
      done(result);
    } else {
      done(s);
    }
  }
}

}  // namespace lsmd
