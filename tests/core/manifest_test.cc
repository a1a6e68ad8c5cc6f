#include "core/manifest.h"

#include <doctest/doctest.h>

#include "core/filename.h"
#include "test_util.h"

namespace lsmd {
namespace {

ManifestState SampleState() {
  ManifestState state;
  state.next_table_number = 12;
  state.next_log_number = 30;
  state.log_number = 29;
  state.tables.push_back(FileMeta{0, 11, 4096, 100, 1000, "a", "m"});
  state.tables.push_back(FileMeta{1, 7, 2 << 20, 50000, 500000, std::string("\0k", 2), "zz"});
  state.compact_pointers[1] = "g";
  return state;
}

TEST_CASE("manifest round trip keeps every field") {
  ManifestState decoded;
  REQUIRE(DecodeManifest(EncodeManifest(SampleState()), &decoded).ok());
  const ManifestState expected = SampleState();
  CHECK(decoded.next_table_number == expected.next_table_number);
  CHECK(decoded.next_log_number == expected.next_log_number);
  CHECK(decoded.log_number == expected.log_number);
  REQUIRE(decoded.tables.size() == 2);
  CHECK(decoded.tables[1].level == 1);
  CHECK(decoded.tables[1].number == 7);
  CHECK(decoded.tables[1].size == (2u << 20));
  CHECK(decoded.tables[1].entries == 50000);
  CHECK(decoded.tables[1].bloom_bits == 500000);
  CHECK(decoded.tables[1].smallest == std::string("\0k", 2));
  CHECK(decoded.tables[1].largest == "zz");
  CHECK(decoded.compact_pointers[1] == "g");
}

TEST_CASE("every flipped byte and every truncation of a manifest is detected") {
  const std::string good = EncodeManifest(SampleState());
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x40;
    ManifestState state;
    CHECK_MESSAGE(DecodeManifest(bad, &state).IsCorruption(), "byte ", i);
  }
  for (size_t n = 0; n < good.size(); ++n) {
    ManifestState state;
    CHECK_MESSAGE(DecodeManifest(good.substr(0, n), &state).IsCorruption(), "length ", n);
  }
}

TEST_CASE("SaveManifest and LoadManifest through the file system") {
  testing::TempDir dir;
  Env* env = Env::Default();
  ManifestState state;
  bool exists = true;
  REQUIRE(LoadManifest(env, dir.path(), &state, &exists).ok());
  CHECK_FALSE(exists);
  REQUIRE(SaveManifest(env, dir.path(), SampleState()).ok());
  REQUIRE(LoadManifest(env, dir.path(), &state, &exists).ok());
  CHECK(exists);
  CHECK(state.tables.size() == 2);

  // A corrupt manifest names its file.
  std::string data;
  REQUIRE(env->ReadFileToString(dir.File("MANIFEST"), &data).ok());
  data[20] ^= 1;
  REQUIRE(env->WriteFileAtomically(dir.path(), "MANIFEST", data).ok());
  Status s = LoadManifest(env, dir.path(), &state, &exists);
  CHECK(s.IsCorruption());
  CHECK(s.message().find("MANIFEST") != std::string::npos);
}

TEST_CASE("file names parse back and the first table is L0_001.sst") {
  CHECK(TableFileName(0, 1) == "L0_001.sst");
  CHECK(TableFileName(1, 1234) == "L1_1234.sst");
  ParsedFileName p = ParseFileName("L2_017.sst");
  CHECK(p.type == FileType::kTable);
  CHECK(p.level == 2);
  CHECK(p.number == 17);
  CHECK(LogFileName(5) == "000005.wal");
  p = ParseFileName(LogFileName(5));
  CHECK(p.type == FileType::kLog);
  CHECK(p.number == 5);
  CHECK_FALSE(p.legacy_log);
  // Logs of the legacy format keep their old name and are told apart by it.
  CHECK(LegacyLogFileName(5) == "000005.log");
  p = ParseFileName("000005.log");
  CHECK(p.type == FileType::kLog);
  CHECK(p.number == 5);
  CHECK(p.legacy_log);
  CHECK(ParseFileName("x.wal").type == FileType::kUnknown);
  CHECK(ParseFileName("L0_001.sst.tmp").type == FileType::kTemp);
  CHECK(ParseFileName("../L0_001.sst").type == FileType::kUnknown);
  CHECK(ParseFileName("L0_.sst").type == FileType::kUnknown);
  CHECK(ParseFileName("Lx_001.sst").type == FileType::kUnknown);
}

}  // namespace
}  // namespace lsmd
