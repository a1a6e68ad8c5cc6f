#include "core/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

namespace lsmd {
namespace {

constexpr size_t kWriteBufferSize = 64 * 1024;

// Retries write() until all bytes are out (short writes happen on signals).
Status WriteAll(int fd, const char* data, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, path);
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status::OK();
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) Close();
  }

  Status Append(std::string_view data) override {
    size_ += data.size();
    if (buffer_.size() + data.size() <= kWriteBufferSize) {
      buffer_.append(data);
      return Status::OK();
    }
    Status s = Flush();
    if (!s.ok()) return s;
    if (data.size() < kWriteBufferSize) {
      buffer_.append(data);
      return Status::OK();
    }
    return WriteAll(fd_, data.data(), data.size(), path_);
  }

  Status Flush() override {
    if (buffer_.empty()) return Status::OK();
    Status s = WriteAll(fd_, buffer_.data(), buffer_.size(), path_);
    buffer_.clear();
    return s;
  }

  Status Sync() override {
    Status s = Flush();
    if (!s.ok()) return s;
    if (::fdatasync(fd_) != 0) return Status::FromErrno(errno, path_);
    return Status::OK();
  }

  Status Close() override {
    if (fd_ < 0) return Status::OK();
    Status s = Flush();
    if (::close(fd_) != 0 && s.ok()) s = Status::FromErrno(errno, path_);
    fd_ = -1;
    return s;
  }

  uint64_t Size() const override { return size_; }

 private:
  const std::string path_;
  int fd_;
  std::string buffer_;
  uint64_t size_ = 0;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  Status Read(uint64_t offset, size_t n, std::string* scratch,
              std::string_view* result) const override {
    scratch->resize(n);
    ssize_t r;
    do {
      r = ::pread(fd_, scratch->data(), n, static_cast<off_t>(offset));
    } while (r < 0 && errno == EINTR);
    if (r < 0) return Status::FromErrno(errno, path_);
    *result = std::string_view(scratch->data(), static_cast<size_t>(r));
    return Status::OK();
  }

 private:
  const std::string path_;
  const int fd_;
};

// Caps the number of table files mapped at once. Each mapping is one entry
// in the process's map table (vm.max_map_count, 65530 by default), so a
// store of many thousands of tables would run out; past the cap, files are
// read with pread instead. LevelDB makes the same trade (1000 on 64-bit).
class MmapLimiter {
 public:
  explicit MmapLimiter(int max_mappings) : available_(max_mappings) {}
  // Takes one slot; false if none is left. Thread-safe.
  bool Acquire() {
    int available = available_.load(std::memory_order_relaxed);
    while (available > 0) {
      if (available_.compare_exchange_weak(available, available - 1, std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }
  void Release() { available_.fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<int> available_;
};

MmapLimiter& TableMmapLimiter() {
  static MmapLimiter limiter(kMaxMappedFiles);
  return limiter;
}

// A read is a view into the mapping: no system call and no copy, the
// bytes come straight from the page cache. That is why a get or a scan
// over tables costs no pread; the checksum of each segment is still
// verified on every read by the caller, so a byte damaged on disk (or
// underneath us in the page cache) is still reported as corruption.
// The trade, as LevelDB makes it: a disk error under a mapped page arrives
// as SIGBUS and ends the process, where pread would have failed one read
// with EIO; a restart then reads the table again (and reports it corrupt
// if it is). The file must not shrink while mapped either, for the same
// reason. Tables are immutable once written, which is the
// contract of Env::NewRandomAccessFile.
class PosixMmapFile final : public RandomAccessFile {
 public:
  PosixMmapFile(const char* base, size_t length) : base_(base), length_(length) {}
  ~PosixMmapFile() override {
    ::munmap(const_cast<char*>(base_), length_);
    TableMmapLimiter().Release();
  }

  Status Read(uint64_t offset, size_t n, std::string* /*scratch*/,
              std::string_view* result) const override {
    if (offset >= length_) {
      *result = {};  // like pread at or past the end: zero bytes
      return Status::OK();
    }
    *result = std::string_view(base_ + offset, std::min<uint64_t>(n, length_ - offset));
    return Status::OK();
  }

 private:
  const char* const base_;
  const size_t length_;
};

class PosixSequentialFile final : public SequentialFile {
 public:
  PosixSequentialFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixSequentialFile() override { ::close(fd_); }

  Status Read(size_t n, std::string* scratch, std::string_view* result) override {
    scratch->resize(n);
    ssize_t r;
    do {
      r = ::read(fd_, scratch->data(), n);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return Status::FromErrno(errno, path_);
    *result = std::string_view(scratch->data(), static_cast<size_t>(r));
    return Status::OK();
  }

 private:
  const std::string path_;
  const int fd_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  const int fd_;
};

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Status::FromErrno(errno, path);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd));
  }

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, path);
    struct stat st;
    if (::fstat(fd, &st) == 0 && st.st_size > 0 && TableMmapLimiter().Acquire()) {
      const size_t length = static_cast<size_t>(st.st_size);
      void* base = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, 0);
      if (base != MAP_FAILED) {
        ::close(fd);  // the mapping keeps the file's pages reachable
        return std::unique_ptr<RandomAccessFile>(
            new PosixMmapFile(static_cast<const char*>(base), length));
      }
      TableMmapLimiter().Release();  // out of address space or map entries: pread
    }
    return std::unique_ptr<RandomAccessFile>(new PosixRandomAccessFile(path, fd));
  }

  Result<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, path);
    return std::unique_ptr<SequentialFile>(new PosixSequentialFile(path, fd));
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return Status::FromErrno(errno, from);
    return Status::OK();
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Status::FromErrno(errno, path);
    return Status::OK();
  }

  Status TruncateFile(const std::string& path, uint64_t size) override {
    if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) {
      return Status::FromErrno(errno, path);
    }
    return Status::OK();
  }

  Result<uint64_t> GetFileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, path);
    return static_cast<uint64_t>(st.st_size);
  }

  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  Status GetChildren(const std::string& dir, std::vector<std::string>* names) override {
    names->clear();
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return Status::FromErrno(errno, dir);
    while (struct dirent* e = ::readdir(d)) {
      std::string_view name(e->d_name);
      if (name == "." || name == "..") continue;
      names->emplace_back(name);
    }
    ::closedir(d);
    return Status::OK();
  }

  Status CreateDirIfMissing(const std::string& dir) override {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return Status::FromErrno(errno, dir);
    return Status::OK();
  }

  Status SyncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, dir);
    Status s;
    if (::fsync(fd) != 0) s = Status::FromErrno(errno, dir);
    ::close(fd);
    return s;
  }

  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::FromErrno(errno, path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return Status::Busy(path + " is locked: another lsmd process is using this data directory");
      }
      return Status::FromErrno(err, path);
    }
    return std::unique_ptr<FileLock>(new PosixFileLock(fd));
  }
};

// --- FaultInjectionEnv's file wrappers ---

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

Env* Env::Default() {
  static PosixEnv env;
  return &env;
}

Status Env::ReadFileToString(const std::string& path, std::string* out) {
  out->clear();
  auto file = NewSequentialFile(path);
  if (!file.ok()) return file.status();
  std::string scratch;
  while (true) {
    std::string_view chunk;
    Status s = (*file)->Read(64 * 1024, &scratch, &chunk);
    if (!s.ok()) return s;
    if (chunk.empty()) return Status::OK();
    out->append(chunk);
  }
}

Status Env::WriteFileAtomically(const std::string& dir, const std::string& name,
                                std::string_view contents) {
  const std::string path = dir + "/" + name;
  const std::string tmp = path + ".tmp";
  auto file = NewWritableFile(tmp);
  if (!file.ok()) return file.status();
  Status s = (*file)->Append(contents);
  if (s.ok()) s = (*file)->Sync();
  Status close = (*file)->Close();
  if (s.ok()) s = close;
  if (s.ok()) s = RenameFile(tmp, path);
  if (s.ok()) s = SyncDir(dir);
  if (!s.ok()) RemoveFile(tmp);
  return s;
}

void FaultInjectionEnv::SetWriteFault(int err, std::string path_filter) {
  MutexLock lock(&mu_);
  write_errno_ = err;
  write_filter_ = std::move(path_filter);
}

void FaultInjectionEnv::SetReadFault(int err, std::string path_filter) {
  MutexLock lock(&mu_);
  read_errno_ = err;
  read_filter_ = std::move(path_filter);
}

void FaultInjectionEnv::ClearFaults() {
  MutexLock lock(&mu_);
  write_errno_ = 0;
  read_errno_ = 0;
}

int FaultInjectionEnv::write_faults_injected() const {
  MutexLock lock(&mu_);
  return write_faults_;
}

int FaultInjectionEnv::read_faults_injected() const {
  MutexLock lock(&mu_);
  return read_faults_;
}

int FaultInjectionEnv::WriteFaultFor(const std::string& path) {
  MutexLock lock(&mu_);
  if (write_errno_ == 0 || path.find(write_filter_) == std::string::npos) return 0;
  ++write_faults_;
  return write_errno_;
}

int FaultInjectionEnv::ReadFaultFor(const std::string& path) {
  MutexLock lock(&mu_);
  if (read_errno_ == 0 || path.find(read_filter_) == std::string::npos) return 0;
  ++read_faults_;
  return read_errno_;
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(const std::string& path) {
  if (int err = WriteFaultFor(path)) return Status::FromErrno(err, path);
  auto base = base_->NewWritableFile(path);
  if (!base.ok()) return base.status();
  return std::unique_ptr<WritableFile>(new FaultyWritableFile(this, path, std::move(*base)));
}

Result<std::unique_ptr<RandomAccessFile>> FaultInjectionEnv::NewRandomAccessFile(
    const std::string& path) {
  auto base = base_->NewRandomAccessFile(path);
  if (!base.ok()) return base.status();
  return std::unique_ptr<RandomAccessFile>(
      new FaultyRandomAccessFile(this, path, std::move(*base)));
}

Result<std::unique_ptr<SequentialFile>> FaultInjectionEnv::NewSequentialFile(
    const std::string& path) {
  auto base = base_->NewSequentialFile(path);
  if (!base.ok()) return base.status();
  return std::unique_ptr<SequentialFile>(new FaultySequentialFile(this, path, std::move(*base)));
}

Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  if (int err = WriteFaultFor(to)) return Status::FromErrno(err, to);
  return base_->RenameFile(from, to);
}

}  // namespace lsmd
