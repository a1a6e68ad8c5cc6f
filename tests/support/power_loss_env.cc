// PowerLossEnv (power_loss_env.h): the bookkeeping of written and synced
// bytes and of unsynced directory operations, the freeze, and the injected
// faults. What the power cut then leaves is power_loss_env_simulate.cc.
#include "support/power_loss_env.h"

#include <algorithm>
#include <cerrno>
#include <thread>

namespace lsmd {
namespace {

// Mirrors the POSIX Env: bytes reach the OS on Flush, Sync, Close, or when
// this much is buffered.
constexpr size_t kBufferBytes = 64 * 1024;

std::string NormalizeDir(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

std::string ParentDir(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return NormalizeDir(path.substr(0, slash));
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool Matches(const std::string& path, const std::string& filter) {
  return path.find(filter) != std::string::npos;
}

}  // namespace

std::string PowerLossEnv::DirOp::ToString() const {
  switch (kind) {
    case Kind::kCreate:
      return "create " + BaseName(path);
    case Kind::kRename:
      return "rename " + BaseName(path) + " -> " + BaseName(to);
    case Kind::kUnlink:
      return "unlink " + BaseName(path);
  }
  return "?";
}

std::string PowerLossEnv::SyncPoint::ToString() const {
  std::string out = "sync point " + std::to_string(number) + ": ";
  if (!dir) return out + "Sync " + BaseName(path);
  out += "SyncDir " + path + " [";
  for (size_t i = 0; i < pending.size(); ++i) {
    if (i > 0) out += ", ";
    out += pending[i].ToString();
  }
  return out + "]";
}

// A writable file whose bytes this env counts. It buffers like the POSIX
// file; its base file never holds buffered bytes of its own after a call
// returns (every write is Append then Flush), so closing the base after a
// freeze writes nothing.
class PowerLossEnv::File final : public WritableFile {
 public:
  File(PowerLossEnv* env, std::string path, std::shared_ptr<FileState> state,
       std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), state_(std::move(state)), base_(std::move(base)) {}
  ~File() override { Close(); }

  Status Append(std::string_view data) override {
    std::lock_guard lock(env_->mu_);
    if (env_->frozen_) return env_->Dead(path_);
    size_ += data.size();
    buffer_.append(data);
    return buffer_.size() < kBufferBytes ? Status::OK() : WriteBufferLocked();
  }

  Status Flush() override {
    std::lock_guard lock(env_->mu_);
    if (env_->frozen_) return env_->Dead(path_);
    return WriteBufferLocked();
  }

  Status Sync() override {
    std::chrono::microseconds delay;
    {
      std::lock_guard lock(env_->mu_);
      delay = env_->sync_delay_;
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    std::lock_guard lock(env_->mu_);
    if (env_->frozen_) return env_->Dead(path_);
    SyncPoint point;
    point.path = path_;
    if (env_->ReachSyncPoint(std::move(point))) return env_->Dead(path_);
    Status s = WriteBufferLocked();
    if (!s.ok()) return s;
    if (env_->TakeSyncFault(path_)) {
      return Status::FromErrno(EIO, path_ + " (PowerLossEnv: injected fsync failure)");
    }
    state_->synced = state_->written;
    return Status::OK();
  }

  Status Close() override {
    std::lock_guard lock(env_->mu_);
    if (closed_) return Status::OK();
    closed_ = true;
    Status s;
    if (env_->frozen_) {
      buffer_.clear();  // the power is off: these bytes never reach the file
      s = env_->Dead(path_);
    } else {
      s = WriteBufferLocked();
    }
    Status c = base_->Close();
    return s.ok() ? c : s;
  }

  uint64_t Size() const override { return size_; }

 private:
  Status WriteBufferLocked() {
    if (buffer_.empty()) return Status::OK();
    std::string data;
    data.swap(buffer_);  // dropped on error, as the POSIX file does
    return env_->WriteOut(base_.get(), path_, state_.get(), data);
  }

  PowerLossEnv* const env_;
  const std::string path_;                  // as opened; used for filters and messages
  const std::shared_ptr<FileState> state_;  // moves with renames in env_->files_
  const std::unique_ptr<WritableFile> base_;
  std::string buffer_;  // GUARDED_BY(env_->mu_)
  uint64_t size_ = 0;
  bool closed_ = false;  // GUARDED_BY(env_->mu_)
};

PowerLossEnv::PowerLossEnv(Env* base) : ForwardingEnv(base) {}

PowerLossEnv::~PowerLossEnv() = default;

void PowerLossEnv::FreezeAtSyncPoint(int n) {
  std::lock_guard lock(mu_);
  const int target = sync_points_ + n;
  freeze_when_ = [target](const SyncPoint& p) { return p.number == target; };
}

void PowerLossEnv::FreezeWhen(std::function<bool(const SyncPoint&)> pred) {
  std::lock_guard lock(mu_);
  freeze_when_ = std::move(pred);
}

void PowerLossEnv::FreezeNow() {
  std::lock_guard lock(mu_);
  if (frozen_) return;
  frozen_ = true;
  frozen_at_ = "FreezeNow";
}

bool PowerLossEnv::frozen() const {
  std::lock_guard lock(mu_);
  return frozen_;
}

std::string PowerLossEnv::frozen_at() const {
  std::lock_guard lock(mu_);
  return frozen_at_;
}

void PowerLossEnv::FailWrite(int n, std::string path_filter) {
  std::lock_guard lock(mu_);
  fail_write_countdown_ = n;
  fail_write_filter_ = std::move(path_filter);
}

void PowerLossEnv::FailSync(int n, std::string path_filter) {
  std::lock_guard lock(mu_);
  fail_sync_countdown_ = n;
  fail_sync_filter_ = std::move(path_filter);
}

void PowerLossEnv::SetSyncDelay(std::chrono::microseconds delay) {
  std::lock_guard lock(mu_);
  sync_delay_ = delay;
}

int PowerLossEnv::sync_points() const {
  std::lock_guard lock(mu_);
  return sync_points_;
}

int PowerLossEnv::file_syncs() const {
  std::lock_guard lock(mu_);
  return file_syncs_;
}

int PowerLossEnv::dir_syncs() const {
  std::lock_guard lock(mu_);
  return dir_syncs_;
}

int PowerLossEnv::file_syncs_matching(std::string_view filter) const {
  std::lock_guard lock(mu_);
  return static_cast<int>(std::count_if(trace_.begin(), trace_.end(), [&](const SyncPoint& p) {
    return !p.dir && p.path.find(filter) != std::string::npos;
  }));
}

std::vector<PowerLossEnv::SyncPoint> PowerLossEnv::sync_trace() const {
  std::lock_guard lock(mu_);
  return trace_;
}

uint64_t PowerLossEnv::written_bytes(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  return it == files_.end() ? 0 : it->second->written;
}

uint64_t PowerLossEnv::synced_bytes(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  return it == files_.end() ? 0 : it->second->synced;
}

bool PowerLossEnv::ReachSyncPoint(SyncPoint point) {
  point.number = ++sync_points_;
  ++(point.dir ? dir_syncs_ : file_syncs_);
  const bool freeze = freeze_when_ && freeze_when_(point);
  if (freeze) {
    frozen_ = true;
    frozen_at_ = point.ToString();
    freeze_when_ = nullptr;
  }
  trace_.push_back(std::move(point));
  return freeze;
}

Status PowerLossEnv::Dead(const std::string& path) const {
  return Status::FromErrno(EIO, path + " (PowerLossEnv: the power is off)");
}

Status PowerLossEnv::WriteOut(WritableFile* f, const std::string& path, FileState* state,
                              std::string_view data) {
  if (fail_write_countdown_ > 0 && Matches(path, fail_write_filter_) &&
      --fail_write_countdown_ == 0) {
    const size_t half = data.size() / 2;
    Status s = f->Append(data.substr(0, half));
    if (s.ok()) s = f->Flush();
    if (!s.ok()) return s;
    state->written += half;
    return Status::FromErrno(EIO, path + " (PowerLossEnv: torn write, " + std::to_string(half) +
                                      " of " + std::to_string(data.size()) + " bytes written)");
  }
  Status s = f->Append(data);
  if (s.ok()) s = f->Flush();
  if (s.ok()) state->written += data.size();
  return s;
}

bool PowerLossEnv::TakeSyncFault(const std::string& path) {
  return fail_sync_countdown_ > 0 && Matches(path, fail_sync_filter_) &&
         --fail_sync_countdown_ == 0;
}

Result<std::unique_ptr<WritableFile>> PowerLossEnv::NewWritableFile(const std::string& path) {
  std::lock_guard lock(mu_);
  if (frozen_) return Dead(path);
  const bool existed = base()->FileExists(path);
  auto file = base()->NewWritableFile(path);
  if (!file.ok()) return file.status();
  auto state = std::make_shared<FileState>();
  files_[path] = state;
  if (!existed) {
    PendingOp pending;
    pending.op = DirOp{DirOp::Kind::kCreate, path, ""};
    pending_[ParentDir(path)].push_back(std::move(pending));
  }
  return std::unique_ptr<WritableFile>(new File(this, path, std::move(state), std::move(*file)));
}

Status PowerLossEnv::SaveAside(const std::string& path, Saved* saved) {
  Status s = base()->ReadFileToString(path, &saved->bytes);
  if (!s.ok()) return s;
  saved->state = nullptr;
  if (auto it = files_.find(path); it != files_.end()) {
    // A copy: a file still open after its unlink must not change what comes back.
    saved->state = std::make_shared<FileState>(*it->second);
    saved->state->written = saved->bytes.size();
    saved->state->synced = std::min<uint64_t>(saved->state->synced, saved->bytes.size());
  }
  return Status::OK();
}

Status PowerLossEnv::RenameFile(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  if (frozen_) return Dead(from);
  const std::string dir = ParentDir(from);
  if (ParentDir(to) != dir) {
    return Status::InvalidArgument(
        "PowerLossEnv models renames within one directory only: " + from + " -> " + to);
  }
  if (!base()->FileExists(from)) return base()->RenameFile(from, to);  // its own error
  PendingOp pending;
  pending.op = DirOp{DirOp::Kind::kRename, from, to};
  if (base()->FileExists(to)) {
    Status s = SaveAside(to, &pending.saved);
    if (!s.ok()) return s;
    pending.has_saved = true;
  }
  Status s = base()->RenameFile(from, to);
  if (!s.ok()) return s;
  std::shared_ptr<FileState> state;
  if (auto it = files_.find(from); it != files_.end()) {
    state = std::move(it->second);
    files_.erase(it);
  }
  if (state) {
    files_[to] = std::move(state);
  } else {
    files_.erase(to);
  }
  pending_[dir].push_back(std::move(pending));
  return Status::OK();
}

Status PowerLossEnv::RemoveFile(const std::string& path) {
  std::lock_guard lock(mu_);
  if (frozen_) return Dead(path);
  if (!base()->FileExists(path)) return base()->RemoveFile(path);  // its own error
  PendingOp pending;
  pending.op = DirOp{DirOp::Kind::kUnlink, path, ""};
  Status s = SaveAside(path, &pending.saved);
  if (!s.ok()) return s;
  pending.has_saved = true;
  s = base()->RemoveFile(path);
  if (!s.ok()) return s;
  files_.erase(path);
  pending_[ParentDir(path)].push_back(std::move(pending));
  return Status::OK();
}

Status PowerLossEnv::TruncateFile(const std::string& path, uint64_t size) {
  std::lock_guard lock(mu_);
  if (frozen_) return Dead(path);
  Status s = base()->TruncateFile(path, size);
  if (!s.ok()) return s;
  if (auto it = files_.find(path); it != files_.end()) {
    it->second->written = size;
    it->second->synced = std::min(it->second->synced, size);
  }
  return Status::OK();
}

Status PowerLossEnv::CreateDirIfMissing(const std::string& dir) {
  std::lock_guard lock(mu_);
  if (frozen_) return Dead(dir);
  return base()->CreateDirIfMissing(dir);
}

Status PowerLossEnv::SyncDir(const std::string& dir) {
  std::lock_guard lock(mu_);
  if (frozen_) return Dead(dir);
  if (!base()->FileExists(dir)) return Status::FromErrno(ENOENT, dir);
  const std::string key = NormalizeDir(dir);
  SyncPoint point;
  point.dir = true;
  point.path = key;
  if (auto it = pending_.find(key); it != pending_.end()) {
    for (const PendingOp& p : it->second) point.pending.push_back(p.op);
  }
  if (ReachSyncPoint(std::move(point))) return Dead(dir);
  pending_.erase(key);  // every operation in it is durable now, saved bytes released
  return Status::OK();
}

}  // namespace lsmd
