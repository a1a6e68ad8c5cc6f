// FaultInjectionEnv: wraps another Env and fails chosen operations with an
// errno (ENOSPC, EIO, ...), for tests of the engine's error paths. Faults
// apply to files whose path contains a filter ("" matches all).
//
// It fails calls; it does not model what a crash keeps. For that see
// PowerLossEnv (power_loss_env.h). Test-only: part of lsmd_test_env.
#pragma once

#include <mutex>
#include <string>

#include "support/forwarding_env.h"

namespace lsmd {

class FaultInjectionEnv : public ForwardingEnv {
 public:
  explicit FaultInjectionEnv(Env* base) : ForwardingEnv(base) {}

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

 private:
  mutable std::mutex mu_;
  int write_errno_ = 0;       // GUARDED_BY(mu_)
  std::string write_filter_;  // GUARDED_BY(mu_)
  int read_errno_ = 0;        // GUARDED_BY(mu_)
  std::string read_filter_;   // GUARDED_BY(mu_)
  int write_faults_ = 0;      // GUARDED_BY(mu_)
  int read_faults_ = 0;       // GUARDED_BY(mu_)
};

}  // namespace lsmd
