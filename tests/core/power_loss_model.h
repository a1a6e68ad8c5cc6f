// What a power-loss test knows about the writes it made, and the check of a
// recovered store against it (tests/core/power_loss_test.cc and
// power_loss_cases_test.cc).
//
// Every write gets a unique value, so a value tells which write produced it.
// After a crash, a key must hold the result of the last write to it that had
// to survive, or the result of a write made after that one (its outcome was
// unknown: it got an error, or was in flight at the crash). Any other value,
// an older one included, is a violation, and so is a key never written.
#pragma once

#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/db.h"

namespace lsmd::testing {

class CrashModel {
 public:
  // Records a write (a put of *value, or a delete) before it is issued;
  // returns its id for End. Writes of one batch pass the same batch id.
  int Begin(const std::string& key, std::optional<std::string> value, int batch = -1) {
    std::lock_guard lock(mu_);
    ops_.push_back(Op{key, std::move(value), batch});
    by_key_[key].push_back(static_cast<int>(ops_.size() - 1));
    return static_cast<int>(ops_.size() - 1);
  }
  // ok: the write was acknowledged (its call returned OK).
  void End(int id, bool ok) {
    std::lock_guard lock(mu_);
    ops_[id].state = ok ? State::kAcked : State::kFailed;
  }
  int NewBatch() {
    std::lock_guard lock(mu_);
    return next_batch_++;
  }
  // A unique value for the next write to key, `pad` bytes longer than needed.
  std::string ValueFor(const std::string& key, size_t pad) {
    std::lock_guard lock(mu_);
    return key + "#" + std::to_string(ops_.size()) + ":" + std::string(pad, 'v');
  }

  // The writes acknowledged so far. After a Flush or CompactAll that was
  // asked for later returns OK, MarkDurable(those) records that they are on
  // disk whatever the sync mode (a clean Close does the same).
  std::vector<int> Acked() const {
    std::lock_guard lock(mu_);
    std::vector<int> ids;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (ops_[i].state == State::kAcked) ids.push_back(static_cast<int>(i));
    }
    return ids;
  }
  void MarkDurable(const std::vector<int>& ids) {
    std::lock_guard lock(mu_);
    for (int id : ids) ops_[id].durable = true;
  }

  // Checks db against the model; "" or the first violation found.
  // acked_must_survive: sync always, where acknowledged means durable;
  // otherwise (sync none) only writes MarkDurable named must survive.
  std::string Check(DB& db, bool acked_must_survive) const {
    std::lock_guard lock(mu_);
    ScanResult all;
    Status s = db.Scan("", "", size_t{1} << 30, &all);
    if (!s.ok()) return "scan failed: " + s.ToString();
    std::map<std::string, std::string> seen(all.entries.begin(), all.entries.end());
    for (const auto& [key, value] : seen) {
      if (by_key_.count(key) == 0) return "key " + key + " was never written (value " + value + ")";
    }
    std::map<std::string, std::optional<std::string>> observed;
    for (const auto& [key, ids] : by_key_) {
      std::optional<std::string> got;
      if (auto it = seen.find(key); it != seen.end()) got = it->second;
      std::string value;
      Status g = db.Get(key, &value);
      if (!(g.ok() ? got == value : g.IsNotFound() && !got)) {
        return "Get(" + key + ") disagrees with Scan: " + g.ToString();
      }
      observed[key] = got;
      if (std::string problem = CheckKey(key, ids, got, acked_must_survive); !problem.empty()) {
        return problem;
      }
    }
    return CheckBatchesAtomic(observed);
  }

 private:
  enum class State { kPending, kAcked, kFailed };
  struct Op {
    std::string key;
    std::optional<std::string> value;  // nullopt: a delete
    int batch = -1;
    State state = State::kPending;
    bool durable = false;
  };

  static std::string Show(const std::optional<std::string>& v) {
    return v ? "'" + v->substr(0, 40) + "'" : "absent";
  }

  std::string CheckKey(const std::string& key, const std::vector<int>& ids,
                       const std::optional<std::string>& got, bool acked_must_survive) const {
    // The last write to key that had to survive; writes after it may show.
    int last = -1;
    for (size_t i = 0; i < ids.size(); ++i) {
      const Op& op = ops_[ids[i]];
      if (op.state == State::kAcked && (acked_must_survive || op.durable)) {
        last = static_cast<int>(i);
      }
    }
    std::optional<std::string> must = last >= 0 ? ops_[ids[last]].value : std::nullopt;
    if (got == must) return "";
    for (size_t i = last + 1; i < ids.size(); ++i) {
      if (got == ops_[ids[i]].value) return "";
    }
    std::string problem = "key " + key + " is " + Show(got) + " but must be " + Show(must);
    problem += last >= 0 ? " (write " + std::to_string(ids[last]) + " had to survive)"
                         : " (no write to it had to survive)";
    if (static_cast<size_t>(last + 1) < ids.size()) {
      problem += " or the result of one of the " + std::to_string(ids.size() - last - 1) +
                 " writes after it";
    }
    return problem;
  }

  // A batch is one log record: where none of its keys was written again, a
  // batch that was not acknowledged shows on all of them or on none.
  std::string CheckBatchesAtomic(
      const std::map<std::string, std::optional<std::string>>& observed) const {
    std::map<int, std::pair<int, int>> shown;  // batch -> (keys showing it, keys not)
    for (size_t id = 0; id < ops_.size(); ++id) {
      const Op& op = ops_[id];
      if (op.batch < 0 || op.state == State::kAcked) continue;
      if (by_key_.at(op.key).back() != static_cast<int>(id)) continue;
      auto& [yes, no] = shown[op.batch];
      ++(observed.at(op.key) == op.value ? yes : no);
    }
    for (const auto& [batch, counts] : shown) {
      if (counts.first > 0 && counts.second > 0) {
        return "batch " + std::to_string(batch) + " shows on " + std::to_string(counts.first) +
               " of its keys and not on " + std::to_string(counts.second);
      }
    }
    return "";
  }

  mutable std::mutex mu_;
  std::vector<Op> ops_;                             // GUARDED_BY(mu_)
  std::map<std::string, std::vector<int>> by_key_;  // GUARDED_BY(mu_); in write order
  int next_batch_ = 0;                              // GUARDED_BY(mu_)
};

// --- the workload's operations, recorded in a model ---

// Each returns whether the write was acknowledged.
inline bool ModelPut(DB& db, CrashModel& m, const std::string& key, size_t pad) {
  std::string value = m.ValueFor(key, pad);
  const int id = m.Begin(key, value);
  const bool ok = db.Put(key, value).ok();
  m.End(id, ok);
  return ok;
}

inline bool ModelDelete(DB& db, CrashModel& m, const std::string& key) {
  const int id = m.Begin(key, std::nullopt);
  const bool ok = db.Delete(key).ok();
  m.End(id, ok);
  return ok;
}

// Puts to distinct keys as one WriteBatch: one log record.
inline bool ModelBatch(DB& db, CrashModel& m, const std::vector<std::string>& keys, size_t pad) {
  WriteBatch batch;
  std::vector<int> ids;
  const int batch_id = m.NewBatch();
  for (const std::string& key : keys) {
    std::string value = m.ValueFor(key, pad);
    batch.Put(key, value);
    ids.push_back(m.Begin(key, value, batch_id));
  }
  std::promise<Status> done;
  db.WriteAsync(std::move(batch), [&done](Status s) { done.set_value(s); });
  const bool ok = done.get_future().get().ok();
  for (int id : ids) m.End(id, ok);
  return ok;
}

}  // namespace lsmd::testing
