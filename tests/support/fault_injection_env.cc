// FaultInjectionEnv (fault_injection_env.h): file wrappers that consult the
// env before each call, and the fault bookkeeping.
#include "support/fault_injection_env.h"

namespace lsmd {
namespace {

class FaultyWritableFile final : public WritableFile {
 public:
  FaultyWritableFile(FaultInjectionEnv* env, std::string path, std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  Status Append(std::string_view data) override {
    if (int err = env_->WriteFaultFor(path_)) return Status::FromErrno(err, path_);
    return base_->Append(data);
  }
  Status Flush() override {
    if (int err = env_->WriteFaultFor(path_)) return Status::FromErrno(err, path_);
    return base_->Flush();
  }
  Status Sync() override {
    if (int err = env_->WriteFaultFor(path_)) return Status::FromErrno(err, path_);
    return base_->Sync();
  }
  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }

 private:
  FaultInjectionEnv* const env_;
  const std::string path_;
  std::unique_ptr<WritableFile> base_;
};

class FaultyRandomAccessFile final : public RandomAccessFile {
 public:
  FaultyRandomAccessFile(FaultInjectionEnv* env, std::string path,
                         std::unique_ptr<RandomAccessFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  Status Read(uint64_t offset, size_t n, std::string* scratch,
              std::string_view* result) const override {
    if (int err = env_->ReadFaultFor(path_)) return Status::FromErrno(err, path_);
    return base_->Read(offset, n, scratch, result);
  }

 private:
  FaultInjectionEnv* const env_;
  const std::string path_;
  std::unique_ptr<RandomAccessFile> base_;
};

class FaultySequentialFile final : public SequentialFile {
 public:
  FaultySequentialFile(FaultInjectionEnv* env, std::string path,
                       std::unique_ptr<SequentialFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  Status Read(size_t n, std::string* scratch, std::string_view* result) override {
    if (int err = env_->ReadFaultFor(path_)) return Status::FromErrno(err, path_);
    return base_->Read(n, scratch, result);
  }

 private:
  FaultInjectionEnv* const env_;
  const std::string path_;
  std::unique_ptr<SequentialFile> base_;
};

}  // namespace

void FaultInjectionEnv::SetWriteFault(int err, std::string path_filter) {
  std::lock_guard lock(mu_);
  write_errno_ = err;
  write_filter_ = std::move(path_filter);
}

void FaultInjectionEnv::SetReadFault(int err, std::string path_filter) {
  std::lock_guard lock(mu_);
  read_errno_ = err;
  read_filter_ = std::move(path_filter);
}

void FaultInjectionEnv::ClearFaults() {
  std::lock_guard lock(mu_);
  write_errno_ = 0;
  read_errno_ = 0;
}

int FaultInjectionEnv::write_faults_injected() const {
  std::lock_guard lock(mu_);
  return write_faults_;
}

int FaultInjectionEnv::read_faults_injected() const {
  std::lock_guard lock(mu_);
  return read_faults_;
}

int FaultInjectionEnv::WriteFaultFor(const std::string& path) {
  std::lock_guard lock(mu_);
  if (write_errno_ == 0 || path.find(write_filter_) == std::string::npos) return 0;
  ++write_faults_;
  return write_errno_;
}

int FaultInjectionEnv::ReadFaultFor(const std::string& path) {
  std::lock_guard lock(mu_);
  if (read_errno_ == 0 || path.find(read_filter_) == std::string::npos) return 0;
  ++read_faults_;
  return read_errno_;
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(const std::string& path) {
  if (int err = WriteFaultFor(path)) return Status::FromErrno(err, path);
  auto base = ForwardingEnv::NewWritableFile(path);
  if (!base.ok()) return base.status();
  return std::unique_ptr<WritableFile>(new FaultyWritableFile(this, path, std::move(*base)));
}

Result<std::unique_ptr<RandomAccessFile>> FaultInjectionEnv::NewRandomAccessFile(
    const std::string& path) {
  auto base = ForwardingEnv::NewRandomAccessFile(path);
  if (!base.ok()) return base.status();
  return std::unique_ptr<RandomAccessFile>(
      new FaultyRandomAccessFile(this, path, std::move(*base)));
}

Result<std::unique_ptr<SequentialFile>> FaultInjectionEnv::NewSequentialFile(
    const std::string& path) {
  auto base = ForwardingEnv::NewSequentialFile(path);
  if (!base.ok()) return base.status();
  return std::unique_ptr<SequentialFile>(new FaultySequentialFile(this, path, std::move(*base)));
}

Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  if (int err = WriteFaultFor(to)) return Status::FromErrno(err, to);
  return base()->RenameFile(from, to);
}

}  // namespace lsmd
