// PowerLossEnv::SimulatePowerLoss (power_loss_env.h): what the power cut
// leaves. First the directory operations no SyncDir covered are undone
// (newest first), bringing back renamed-over and unlinked files from the bytes
// kept aside; then each file's unsynced bytes are cut, kept in part, garbled
// or zeroed.
#include <set>

#include "support/power_loss_env.h"

namespace lsmd {

Status PowerLossEnv::Restore(const std::string& path, const Saved& saved) {
  auto file = base()->NewWritableFile(path);
  if (!file.ok()) return file.status();
  Status s = (*file)->Append(saved.bytes);
  Status c = (*file)->Close();
  if (!s.ok()) return s;
  if (!c.ok()) return c;
  if (saved.state) {
    files_[path] = std::make_shared<FileState>(*saved.state);
  } else {
    files_.erase(path);  // never written here: durable as it was
  }
  return Status::OK();
}

Status PowerLossEnv::Undo(const PendingOp& pending) {
  const DirOp& op = pending.op;
  switch (op.kind) {
    case DirOp::Kind::kCreate:
      files_.erase(op.path);
      return base()->FileExists(op.path) ? base()->RemoveFile(op.path) : Status::OK();
    case DirOp::Kind::kRename: {
      Status s = base()->RenameFile(op.to, op.path);
      if (!s.ok()) return s;
      std::shared_ptr<FileState> state;
      if (auto it = files_.find(op.to); it != files_.end()) {
        state = std::move(it->second);
        files_.erase(it);
      }
      if (state) files_[op.path] = std::move(state);
      return pending.has_saved ? Restore(op.to, pending.saved) : Status::OK();
    }
    case DirOp::Kind::kUnlink:
      return Restore(op.path, pending.saved);
  }
  return Status::OK();
}

Status PowerLossEnv::LoseUnsyncedBytes(const std::string& path, const FileState& state,
                                       UnsyncedData mode, std::mt19937_64& rng) {
  auto size = base()->GetFileSize(path);
  if (!size.ok()) return Status::OK();  // gone (a leftover the engine removed): nothing to lose
  const uint64_t synced = std::min(state.synced, *size);
  if (*size == synced) return Status::OK();
  switch (mode) {
    case UnsyncedData::kDrop:
      return base()->TruncateFile(path, synced);
    case UnsyncedData::kKeepRandomPrefix:
      return base()->TruncateFile(path, synced + rng() % (*size - synced + 1));
    case UnsyncedData::kGarbage:
    case UnsyncedData::kZeroFill: {
      std::string bytes;
      Status s = base()->ReadFileToString(path, &bytes);
      if (!s.ok()) return s;
      for (size_t i = synced; i < bytes.size(); ++i) {
        bytes[i] = mode == UnsyncedData::kZeroFill ? '\0' : static_cast<char>(rng());
      }
      auto file = base()->NewWritableFile(path);
      if (!file.ok()) return file.status();
      s = (*file)->Append(bytes);
      Status c = (*file)->Close();
      return s.ok() ? c : s;
    }
  }
  return Status::OK();
}

Status PowerLossEnv::SimulatePowerLoss(const PowerLoss& how) {
  std::lock_guard lock(mu_);
  std::mt19937_64 rng(how.seed);
  Status first_error;
  auto note = [&](const Status& s) {
    if (first_error.ok() && !s.ok()) first_error = s;
  };

  for (auto& [dir, ops] : pending_) {
    // Which operations persisted: a prefix per name, any subset across names.
    std::vector<bool> undo(ops.size(), false);
    std::set<std::string> lost_names;
    for (size_t i = 0; i < ops.size(); ++i) {
      const DirOp& op = ops[i].op;
      const bool after_lost = lost_names.count(op.path) > 0 ||
                              (op.kind == DirOp::Kind::kRename && lost_names.count(op.to) > 0);
      bool keep = false;
      if (!after_lost) {
        if (how.keep_dir_op) {
          keep = how.keep_dir_op(op);
        } else if (how.dir == UnsyncedDirOps::kKeepRandomSubset) {
          keep = (rng() & 1) != 0;
        }
      }
      if (!keep) {
        undo[i] = true;
        lost_names.insert(op.path);
        if (op.kind == DirOp::Kind::kRename) lost_names.insert(op.to);
      }
    }
    // Newest first: each undone operation's names are then as it left them,
    // since every later operation on them was undone before it.
    for (size_t i = ops.size(); i-- > 0;) {
      if (undo[i]) note(Undo(ops[i]));
    }
  }

  for (const auto& [path, state] : files_) note(LoseUnsyncedBytes(path, *state, how.data, rng));
  ResetLocked();
  return first_error;
}

void PowerLossEnv::ResetLocked() {
  files_.clear();
  pending_.clear();
  frozen_ = false;
  frozen_at_.clear();
  freeze_when_ = nullptr;
  fail_write_countdown_ = 0;
  fail_sync_countdown_ = 0;
  sync_points_ = file_syncs_ = dir_syncs_ = 0;
  trace_.clear();
}

}  // namespace lsmd
