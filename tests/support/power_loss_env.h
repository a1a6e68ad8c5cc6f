// PowerLossEnv: an Env over a real directory that remembers what a power cut
// would keep, and can cut the power (in the tradition of LevelDB's
// FaultInjectionTestEnv and RocksDB's FaultInjectionTestFS).
//
// The model is Linux ext4's, taken conservatively (what POSIX and ext4
// promise, not what they usually do):
// - Bytes written to a file (handed to the OS with write(2), i.e. Flush) but
//   not yet covered by a Sync (fdatasync) may be lost. Sync makes a file's
//   bytes durable, never its name.
// - A create, rename or unlink is durable only once its directory is synced
//   (SyncDir, fsync on the directory). fdatasync of a file does not make its
//   name durable, and a file's data being synced does not make its rename so.
// - Before that directory sync nothing is promised about which of those
//   operations reached the disk. kUndoAll drops them all; kKeepRandomSubset
//   keeps any subset that respects the order of operations on the same name
//   (a rename of X is never kept while X's create is dropped), which is what a
//   file system that reorders directory updates may leave.
// - What SimulatePowerLoss does with the unsynced bytes is chosen per call:
//   cut them (the usual result), keep a random prefix of them (the file's size
//   reached the disk with part of its data), or keep the size and fill the
//   unsynced range with random bytes or zeros (the size reached the disk, the
//   data did not: the blocks hold old contents, or read as unwritten).
//
// Simplifications, all on the side of losing more:
// - Reopening an existing file for writing (NewWritableFile truncates) and
//   TruncateFile are taken as durable at once; the engine never reopens a file
//   it depends on, and truncates only logs during recovery.
// - Files this env did not write (there before it was created) count as fully
//   synced, under durable names.
// - Directories are not tracked: tests create the data directory beforehand.
//   Renames must stay within one directory (InvalidArgument otherwise).
// - The bytes of a renamed-over or unlinked file are kept in memory until the
//   directory is synced, so an undo can bring them back: fine for test-sized
//   files.
//
// Syncs are bookkeeping only: Sync hands buffered bytes to the OS but calls no
// fdatasync, SyncDir calls no fsync. The power is never really cut, so a real
// sync would only cost time (milliseconds each on a disk; the exhaustive tests
// make thousands). That the POSIX Env really calls fdatasync and fsync is
// checked by tests/core/posix_sync_test.cc.
//
// Crashing at a chosen moment: a "sync point" is one call of
// WritableFile::Sync or Env::SyncDir, counted together in call order. When the
// armed sync point is reached the env freezes (the power is cut): that call and
// every later mutating call (writes, syncs, creates, renames, removes) fail
// with EIO and change nothing; reads still work. A test runs a workload,
// freezes at sync point N, destroys the DB (as the power cut would have ended
// the process), calls SimulatePowerLoss and reopens on a fresh Env.
//
// Thread-safe: one mutex guards all state, and is held across each file
// operation so that a freeze is one instant for every thread. The env must
// outlive the files it opened (destroy the DB first).
//
// Test-only: part of lsmd_test_env, never linked into the lsmd binary.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "support/forwarding_env.h"

namespace lsmd {

class PowerLossEnv : public ForwardingEnv {
 public:
  // What becomes of a file's bytes written since its last Sync.
  enum class UnsyncedData {
    kDrop,              // cut: the file ends at its synced size
    kKeepRandomPrefix,  // a random number of them (0..all) survive
    kGarbage,           // the size survives, the bytes are random
    kZeroFill,          // the size survives, the bytes read as zeros
  };
  // What becomes of the creates, renames and unlinks since a directory's
  // last SyncDir.
  enum class UnsyncedDirOps {
    kUndoAll,           // none reached the disk
    kKeepRandomSubset,  // some did, respecting per-name order (see above)
  };

  struct DirOp {
    enum class Kind { kCreate, kRename, kUnlink };
    Kind kind = Kind::kCreate;
    std::string path;  // the file created or unlinked; a rename's source
    std::string to;    // a rename's target
    std::string ToString() const;
  };

  struct PowerLoss {
    UnsyncedData data = UnsyncedData::kDrop;
    UnsyncedDirOps dir = UnsyncedDirOps::kUndoAll;
    uint64_t seed = 0;  // for the random choices of both
    // If set, replaces `dir`'s choice: asked for each unsynced operation that
    // may have persisted (every earlier operation on its names did); true
    // keeps it.
    std::function<bool(const DirOp&)> keep_dir_op;
  };

  struct SyncPoint {
    int number = 0;              // 1 for the first since construction or the last power loss
    bool dir = false;            // SyncDir; otherwise a file's Sync
    std::string path;            // the file, or the directory
    std::vector<DirOp> pending;  // SyncDir: the operations it would make durable
    std::string ToString() const;
  };

  explicit PowerLossEnv(Env* base = Env::Default());
  ~PowerLossEnv() override;

  // --- cutting the power ---
  // Freezes at the n-th sync point from now (n >= 1).
  void FreezeAtSyncPoint(int n);
  // Freezes at the first sync point from now for which pred is true. pred
  // runs under the env's lock: it must not call the env.
  void FreezeWhen(std::function<bool(const SyncPoint&)> pred);
  // Freezes at once, as if the power went between two calls.
  void FreezeNow();
  bool frozen() const;
  // The sync point that froze the env ("FreezeNow" or "" if none).
  std::string frozen_at() const;

  // Turns the real directory into what a power loss would leave: undoes the
  // directory operations not covered by a SyncDir, then treats each file's
  // unsynced bytes as `how` says. Call with every file of the env closed
  // (the DB destroyed): truncating a file under a live mapping would fault.
  // Afterwards the env starts afresh: nothing pending, not frozen, counters
  // and armed faults cleared, every file counted as synced.
  Status SimulatePowerLoss(const PowerLoss& how);
  Status SimulatePowerLoss() { return SimulatePowerLoss(PowerLoss()); }

  // --- other faults ---
  // The n-th write (from now) that hands bytes of a matching file to the OS
  // writes only the first half of them, then fails with EIO: a torn write
  // that reached the file. One-shot.
  void FailWrite(int n, std::string path_filter = "");
  // The n-th Sync (from now) of a matching file writes its buffered bytes,
  // then fails with EIO without making anything durable. One-shot.
  void FailSync(int n, std::string path_filter = "");
  // Every file Sync sleeps this long first (outside the lock), as a disk's
  // fdatasync would: lets group commit form groups in tests.
  void SetSyncDelay(std::chrono::microseconds delay);

  // --- counts, for assertions (since construction or the last power loss) ---
  int sync_points() const;  // Sync and SyncDir calls made while powered
  int file_syncs() const;
  int dir_syncs() const;
  // File Syncs whose path contains filter (e.g. ".log").
  int file_syncs_matching(std::string_view filter) const;
  std::vector<SyncPoint> sync_trace() const;
  // Bytes handed to the OS and bytes synced, of a file this env wrote.
  uint64_t written_bytes(const std::string& path) const;
  uint64_t synced_bytes(const std::string& path) const;

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  Status TruncateFile(const std::string& path, uint64_t size) override;
  Status CreateDirIfMissing(const std::string& dir) override;
  Status SyncDir(const std::string& dir) override;

 private:
  class File;
  struct FileState {
    uint64_t written = 0;  // bytes handed to the OS
    uint64_t synced = 0;   // of those, the durable prefix
  };
  // A file's bytes and state kept aside so an undo can restore it. A null
  // state means a file this env never wrote: durable as it was.
  struct Saved {
    std::string bytes;
    std::shared_ptr<FileState> state;
  };
  struct PendingOp {
    DirOp op;
    bool has_saved = false;  // rename over an existing target, or unlink
    Saved saved;
  };

  // REQUIRES: mu_. Counts a sync point; true if it freezes the env.
  bool ReachSyncPoint(SyncPoint point);
  Status Dead(const std::string& path) const;
  // REQUIRES: mu_. Writes data through base file f; applies a torn-write fault.
  Status WriteOut(WritableFile* f, const std::string& path, FileState* state,
                  std::string_view data);
  bool TakeSyncFault(const std::string& path);                  // REQUIRES: mu_
  Status SaveAside(const std::string& path, Saved* saved);      // REQUIRES: mu_
  Status Restore(const std::string& path, const Saved& saved);  // REQUIRES: mu_
  Status Undo(const PendingOp& pending);                        // REQUIRES: mu_
  Status LoseUnsyncedBytes(const std::string& path, const FileState& state, UnsyncedData mode,
                           std::mt19937_64& rng);  // REQUIRES: mu_
  void ResetLocked();                              // REQUIRES: mu_

  // Everything below is GUARDED_BY(mu_).
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<FileState>> files_;  // by current path
  std::map<std::string, std::vector<PendingOp>> pending_;    // by directory, in order
  bool frozen_ = false;
  std::string frozen_at_;
  std::function<bool(const SyncPoint&)> freeze_when_;
  int fail_write_countdown_ = 0;
  std::string fail_write_filter_;
  int fail_sync_countdown_ = 0;
  std::string fail_sync_filter_;
  std::chrono::microseconds sync_delay_{0};
  int sync_points_ = 0, file_syncs_ = 0, dir_syncs_ = 0;
  std::vector<SyncPoint> trace_;
};

}  // namespace lsmd
