#include "core/env.h"

#include <doctest/doctest.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "support/fault_injection_env.h"
#include "test_util.h"

namespace lsmd {
namespace {

using testing::TempDir;

TEST_CASE("WriteFileAtomically replaces the file and leaves no temporary behind") {
  TempDir dir;
  Env* env = Env::Default();
  REQUIRE(env->WriteFileAtomically(dir.path(), "f", "first").ok());
  REQUIRE(env->WriteFileAtomically(dir.path(), "f", "second").ok());
  std::string contents;
  REQUIRE(env->ReadFileToString(dir.File("f"), &contents).ok());
  CHECK(contents == "second");
  CHECK_FALSE(env->FileExists(dir.File("f.tmp")));
}

TEST_CASE("a second lock on the same file is refused with Busy") {
  TempDir dir;
  Env* env = Env::Default();
  auto first = env->LockFile(dir.File("LOCK"));
  REQUIRE(first.ok());
  // flock locks belong to the open file description, so a second open in the
  // same process conflicts just as another process would.
  auto second = env->LockFile(dir.File("LOCK"));
  CHECK(second.status().IsBusy());
  first->reset();
  CHECK(env->LockFile(dir.File("LOCK")).ok());
}

TEST_CASE("writes larger than the buffer and reads at offsets round-trip") {
  TempDir dir;
  Env* env = Env::Default();
  std::string big(200 * 1024, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  auto file = env->NewWritableFile(dir.File("big"));
  REQUIRE(file.ok());
  REQUIRE((*file)->Append("head").ok());
  REQUIRE((*file)->Append(big).ok());
  CHECK((*file)->Size() == big.size() + 4);
  REQUIRE((*file)->Sync().ok());
  REQUIRE((*file)->Close().ok());

  auto reader = env->NewRandomAccessFile(dir.File("big"));
  REQUIRE(reader.ok());
  std::string scratch;
  std::string_view got;
  REQUIRE((*reader)->Read(4 + 100000, 26, &scratch, &got).ok());
  CHECK(got == big.substr(100000, 26));
  REQUIRE((*reader)->Read(4 + big.size() - 3, 100, &scratch, &got).ok());
  CHECK(got.size() == 3);  // a short read at the end of the file
}

TEST_CASE("reads at or past the end of a table file give zero bytes, empty files too") {
  TempDir dir;
  Env* env = Env::Default();
  REQUIRE(env->WriteFileAtomically(dir.path(), "small", "0123456789").ok());
  REQUIRE(env->WriteFileAtomically(dir.path(), "empty", "").ok());
  auto small = env->NewRandomAccessFile(dir.File("small"));
  auto empty = env->NewRandomAccessFile(dir.File("empty"));
  REQUIRE(small.ok());
  REQUIRE(empty.ok());
  std::string scratch;
  std::string_view got = "not read";
  REQUIRE((*small)->Read(10, 4, &scratch, &got).ok());
  CHECK(got.empty());
  got = "not read";
  REQUIRE((*small)->Read(1000, 4, &scratch, &got).ok());
  CHECK(got.empty());
  got = "not read";
  REQUIRE((*empty)->Read(0, 4, &scratch, &got).ok());
  CHECK(got.empty());
}

// Past kMaxMappedFiles open tables the Env falls back to pread; a store with
// more tables than that must read every one of them the same way.
TEST_CASE("more open table files than can be mapped all read correctly") {
  TempDir dir;
  Env* env = Env::Default();
  REQUIRE(env->WriteFileAtomically(dir.path(), "t", "abcdefghijklmnopqrstuvwxyz").ok());
  std::vector<std::unique_ptr<RandomAccessFile>> open;
  for (int i = 0; i < kMaxMappedFiles + 10; ++i) {
    auto file = env->NewRandomAccessFile(dir.File("t"));
    REQUIRE(file.ok());
    open.push_back(std::move(*file));
  }
  std::string scratch;
  for (const auto& file : open) {
    std::string_view got;
    REQUIRE(file->Read(23, 10, &scratch, &got).ok());
    CHECK(got == "xyz");
  }
  // Views from different files stay valid together (a merge holds many).
  std::string scratch_first, scratch_last;
  std::string_view first, last;
  REQUIRE(open.front()->Read(0, 3, &scratch_first, &first).ok());
  REQUIRE(open.back()->Read(3, 3, &scratch_last, &last).ok());
  CHECK(first == "abc");
  CHECK(last == "def");
  // Closing frees the slots: new files are mapped or read again, either way correctly.
  open.clear();
  auto again = env->NewRandomAccessFile(dir.File("t"));
  REQUIRE(again.ok());
  std::string_view got;
  REQUIRE((*again)->Read(0, 26, &scratch, &got).ok());
  CHECK(got == "abcdefghijklmnopqrstuvwxyz");
}

TEST_CASE("FaultInjectionEnv fails only the filtered files, until cleared") {
  TempDir dir;
  FaultInjectionEnv env(Env::Default());
  env.SetWriteFault(ENOSPC, ".sst");
  auto log = env.NewWritableFile(dir.File("000001.log"));
  REQUIRE(log.ok());
  CHECK((*log)->Append("ok").ok());
  CHECK((*log)->Sync().ok());
  auto table = env.NewWritableFile(dir.File("L0_001.sst"));
  CHECK(table.status().IsNoSpace());
  CHECK(env.write_faults_injected() == 1);

  env.ClearFaults();
  table = env.NewWritableFile(dir.File("L0_001.sst"));
  REQUIRE(table.ok());
  CHECK((*table)->Append("data").ok());

  env.SetReadFault(EIO);
  auto reader = env.NewRandomAccessFile(dir.File("000001.log"));
  REQUIRE(reader.ok());
  std::string scratch;
  std::string_view got;
  Status s = (*reader)->Read(0, 2, &scratch, &got);
  CHECK(s.IsIOError());
  CHECK(s.message().find("000001.log") != std::string::npos);
}

}  // namespace
}  // namespace lsmd
