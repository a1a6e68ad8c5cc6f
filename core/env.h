// Env: the one seam through which the engine touches files (as LevelDB's Env).
// Tests swap in FaultInjectionEnv to make writes fail with ENOSPC or reads with
// EIO; nothing in core/ calls open/write/pread directly.
//
// Thread safety: an Env is shared by all threads. A WritableFile or
// SequentialFile is used by one thread at a time; a RandomAccessFile may be read
// by many threads at once (a mapping or pread keeps no file position).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"

namespace lsmd {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Buffers in user space; Flush() hands the buffer to the OS.
  virtual Status Append(std::string_view data) = 0;
  // write()s the buffer: after this the bytes survive a process crash.
  virtual Status Flush() = 0;
  // Flush() then fdatasync(): after this the bytes survive a power loss.
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
  // Bytes appended so far, buffered ones included.
  virtual uint64_t Size() const = 0;
};

class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset; fewer bytes than n means the file ended.
  // *result points into scratch or, for a mapped file, into the mapping; it
  // stays valid until the next Read with the same scratch or until this
  // object is destroyed, whichever comes first.
  virtual Status Read(uint64_t offset, size_t n, std::string* scratch,
                      std::string_view* result) const = 0;
};

class SequentialFile {
 public:
  virtual ~SequentialFile() = default;
  // Reads up to n bytes; an empty *result means end of file.
  virtual Status Read(size_t n, std::string* scratch, std::string_view* result) = 0;
};

// Held while a process owns a data directory; released on destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

// Table files the POSIX Env keeps mapped at once (see NewRandomAccessFile).
constexpr int kMaxMappedFiles = 1000;

class Env {
 public:
  virtual ~Env() = default;
  // The POSIX Env; lives for the whole process.
  static Env* Default();

  // Creates or truncates.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  // For files that do not change while open (tables): the POSIX Env maps up
  // to kMaxMappedFiles of them into memory and reads the rest with pread.
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;
  virtual Result<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) = 0;

  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  virtual Status TruncateFile(const std::string& path, uint64_t size) = 0;
  virtual Result<uint64_t> GetFileSize(const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  // Names (not paths) of the entries in dir, without "." and "..".
  virtual Status GetChildren(const std::string& dir, std::vector<std::string>* names) = 0;
  virtual Status CreateDirIfMissing(const std::string& dir) = 0;
  // fsync() on the directory so a rename or create in it is durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  // An exclusive advisory lock; Busy if another process holds it.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;

  // Whole-file helpers built on the calls above.
  Status ReadFileToString(const std::string& path, std::string* out);
  // Writes to path + ".tmp", syncs, renames over path, syncs the directory.
  Status WriteFileAtomically(const std::string& dir, const std::string& name,
                             std::string_view contents);
};

// Wraps another Env and fails chosen operations, for tests of the error paths.
// Faults apply to files whose path contains `path_filter` ("" matches all).
class FaultInjectionEnv : public Env {
 public:
  explicit FaultInjectionEnv(Env* base) : base_(base) {}

  // Append, Flush, Sync and Close of writable files, file creation and
  // renames fail with errno `err` (ENOSPC, EIO, ...) until cleared.
  void SetWriteFault(int err, std::string path_filter = "");
  // Reads of random-access and sequential files fail with errno `err`.
  void SetReadFault(int err, std::string path_filter = "");
  void ClearFaults();

  // Counts of operations failed so far (for assertions).
  int write_faults_injected() const;
  int read_faults_injected() const;

  // Returns the errno to fail with, or 0. Used by the wrapped file objects.
  int WriteFaultFor(const std::string& path);
  int ReadFaultFor(const std::string& path);

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override;
  Result<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override { return base_->RemoveFile(path); }
  Status TruncateFile(const std::string& path, uint64_t size) override {
    return base_->TruncateFile(path, size);
  }
  Result<uint64_t> GetFileSize(const std::string& path) override {
    return base_->GetFileSize(path);
  }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  Status GetChildren(const std::string& dir, std::vector<std::string>* names) override {
    return base_->GetChildren(dir, names);
  }
  Status CreateDirIfMissing(const std::string& dir) override {
    return base_->CreateDirIfMissing(dir);
  }
  Status SyncDir(const std::string& dir) override { return base_->SyncDir(dir); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return base_->LockFile(path);
  }

 private:
  Env* const base_;
  mutable Mutex mu_;
  int write_errno_ GUARDED_BY(mu_) = 0;
  std::string write_filter_ GUARDED_BY(mu_);
  int read_errno_ GUARDED_BY(mu_) = 0;
  std::string read_filter_ GUARDED_BY(mu_);
  int write_faults_ GUARDED_BY(mu_) = 0;
  int read_faults_ GUARDED_BY(mu_) = 0;
};

}  // namespace lsmd
