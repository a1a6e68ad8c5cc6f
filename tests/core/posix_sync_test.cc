// The POSIX Env's syncs reach the kernel: WritableFile::Sync calls fdatasync
// on the file and SyncDir calls fsync on the directory. PowerLossEnv only
// books syncs (it never cuts the power for real, so it skips the syscalls),
// which leaves this link to be checked here: without it, every power-loss
// test would pass against an Env whose Sync did nothing.
//
// The test executable defines fdatasync and fsync itself. Its definitions
// take precedence over libc's for every call in the executable (the engine is
// linked in statically), count the call and its descriptor, and make the real
// system call.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "core/db.h"
#include "test_util.h"

namespace {

std::atomic<int> g_fdatasyncs{0};
std::atomic<int> g_fsyncs{0};
std::atomic<ino_t> g_last_inode{0};  // of the last descriptor synced either way

void NoteInode(int fd) {
  struct stat st;
  if (::fstat(fd, &st) == 0) g_last_inode.store(st.st_ino);
}

}  // namespace

extern "C" int fdatasync(int fd) {
  g_fdatasyncs.fetch_add(1);
  NoteInode(fd);
  return static_cast<int>(::syscall(SYS_fdatasync, fd));
}

extern "C" int fsync(int fd) {
  g_fsyncs.fetch_add(1);
  NoteInode(fd);
  return static_cast<int>(::syscall(SYS_fsync, fd));
}

namespace lsmd {
namespace {

using testing::TempDir;

ino_t InodeOf(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_ino;
}

TEST_CASE("WritableFile::Sync is one fdatasync of that file, Flush and Close sync nothing") {
  TempDir dir;
  auto file = Env::Default()->NewWritableFile(dir.File("000001.log"));
  REQUIRE(file.ok());
  const int fdatasyncs = g_fdatasyncs.load(), fsyncs = g_fsyncs.load();
  REQUIRE((*file)->Append("record").ok());
  REQUIRE((*file)->Flush().ok());
  CHECK(g_fdatasyncs.load() == fdatasyncs);
  REQUIRE((*file)->Sync().ok());
  CHECK(g_fdatasyncs.load() == fdatasyncs + 1);
  CHECK(g_last_inode.load() == InodeOf(dir.File("000001.log")));
  REQUIRE((*file)->Close().ok());
  CHECK(g_fdatasyncs.load() == fdatasyncs + 1);
  CHECK(g_fsyncs.load() == fsyncs);
}

TEST_CASE("SyncDir is one fsync of the directory") {
  TempDir dir;
  const int fsyncs = g_fsyncs.load();
  REQUIRE(Env::Default()->SyncDir(dir.path()).ok());
  CHECK(g_fsyncs.load() == fsyncs + 1);
  CHECK(g_last_inode.load() == InodeOf(dir.path()));
}

TEST_CASE("WriteFileAtomically syncs the new file, then the directory") {
  TempDir dir;
  const int fdatasyncs = g_fdatasyncs.load(), fsyncs = g_fsyncs.load();
  REQUIRE(Env::Default()->WriteFileAtomically(dir.path(), "MANIFEST", "contents").ok());
  CHECK(g_fdatasyncs.load() == fdatasyncs + 1);
  CHECK(g_fsyncs.load() == fsyncs + 1);
  CHECK(g_last_inode.load() == InodeOf(dir.path()));  // the directory came last
}

TEST_CASE("a Put under sync always reaches fdatasync, under sync none it does not") {
  TempDir dir;
  for (SyncMode mode : {SyncMode::kAlways, SyncMode::kNone}) {
    Options options;
    options.sync = mode;
    auto db = DB::Open(options, dir.path());
    REQUIRE(db.ok());
    const int fdatasyncs = g_fdatasyncs.load();
    REQUIRE((*db)->Put("key", "value").ok());
    CHECK(g_fdatasyncs.load() == fdatasyncs + (mode == SyncMode::kAlways ? 1 : 0));
  }
}

}  // namespace
}  // namespace lsmd
