// fuzz_manifest: DecodeManifest on arbitrary bytes must fail cleanly or give a
// state that survives EncodeManifest -> DecodeManifest unchanged.
//
// Input: one mode byte, then the manifest bytes. Mode bit 0 set: the trailing
// XXH3 is recomputed before decoding, so mutations reach the field parser
// instead of dying at the checksum (the seeds set it); clear: the bytes are
// decoded as they are.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/checksum.h"
#include "core/manifest.h"

namespace {

constexpr uint8_t kRepairChecksum = 1;
constexpr size_t kChecksumBytes = 8;

void Require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "fuzz_manifest: property violated: %s\n", what);
  std::abort();
}

// Overwrites the last 8 bytes with the XXH3 of everything before them.
void RepairChecksum(std::string* data) {
  if (data->size() < kChecksumBytes) return;
  const size_t body = data->size() - kChecksumBytes;
  uint64_t sum = lsmd::Checksum(data->data(), body);
  for (size_t i = 0; i < kChecksumBytes; ++i, sum >>= 8) {
    (*data)[body + i] = static_cast<char>(sum & 0xff);
  }
}

bool SameTable(const lsmd::FileMeta& a, const lsmd::FileMeta& b) {
  return a.level == b.level && a.number == b.number && a.size == b.size && a.entries == b.entries &&
         a.bloom_bits == b.bloom_bits && a.smallest == b.smallest && a.largest == b.largest;
}

bool SameState(const lsmd::ManifestState& a, const lsmd::ManifestState& b) {
  if (a.next_table_number != b.next_table_number || a.next_log_number != b.next_log_number ||
      a.log_number != b.log_number || a.tables.size() != b.tables.size() ||
      a.compact_pointers != b.compact_pointers) {
    return false;
  }
  for (size_t i = 0; i < a.tables.size(); ++i) {
    if (!SameTable(a.tables[i], b.tables[i])) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (mode & kRepairChecksum) RepairChecksum(&bytes);

  lsmd::ManifestState decoded;
  if (!lsmd::DecodeManifest(bytes, &decoded).ok()) return 0;
  Require(decoded.compact_pointers.size() == lsmd::kNumLevels,
          "a decoded state has one compaction pointer per level");
  for (const lsmd::FileMeta& table : decoded.tables) {
    Require(table.level >= 0 && table.level < lsmd::kNumLevels, "decoded level in range");
    Require(table.number < decoded.next_table_number,
            "decoded table number below next_table_number");
  }

  const std::string encoded = lsmd::EncodeManifest(decoded);
  lsmd::ManifestState again;
  Require(lsmd::DecodeManifest(encoded, &again).ok(), "EncodeManifest output decodes");
  Require(SameState(decoded, again), "decode(encode(state)) == state");
  Require(lsmd::EncodeManifest(again) == encoded, "encoding is a function of the state");
  return 0;
}
