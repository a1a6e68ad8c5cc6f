// The manifest: the set of live SSTables (with level, size and key range) and
// the counters that must survive a restart. It is rewritten whole on every
// change, to MANIFEST.tmp, synced, then renamed over MANIFEST and the
// directory synced, so a crash leaves either the old or the new file set.
//
// Encoding, byte by byte (integers little-endian; see docs/FORMAT.md):
//   8 bytes  magic "LSMDMANI"
//   fixed32  format version (1)
//   fixed64  next_table_number   the next SSTable number to hand out
//   fixed64  next_log_number     the next log number to hand out
//   fixed64  log_number          logs numbered below this are flushed; at or above, replayed
//   fixed32  table count, then per table:
//              u8 level | fixed64 number | fixed64 size | fixed64 entries |
//              fixed64 bloom_bits | varint len + smallest key | varint len + largest key
//   fixed32  level count, then per level: varint len + compaction pointer
//            (the largest key the last compaction of that level consumed)
//   fixed64  XXH3-64 of every byte above
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "core/status.h"

namespace lsmd {

inline constexpr int kNumLevels = 7;

// What the manifest knows about one live SSTable.
struct FileMeta {
  int level = 0;
  uint64_t number = 0;
  uint64_t size = 0;
  uint64_t entries = 0;
  uint64_t bloom_bits = 0;
  std::string smallest;
  std::string largest;
};

struct ManifestState {
  uint64_t next_table_number = 1;
  uint64_t next_log_number = 1;
  uint64_t log_number = 0;
  std::vector<FileMeta> tables;
  std::vector<std::string> compact_pointers = std::vector<std::string>(kNumLevels);
};

std::string EncodeManifest(const ManifestState& state);
// Corruption naming what is wrong if the bytes are not a valid manifest.
Status DecodeManifest(std::string_view data, ManifestState* state);

// Atomic replace of dir/MANIFEST. On success *bytes (if given) is the new
// file's size.
Status SaveManifest(Env* env, const std::string& dir, const ManifestState& state,
                    uint64_t* bytes = nullptr);
// *exists is false (and state untouched) for a directory without a manifest.
Status LoadManifest(Env* env, const std::string& dir, ManifestState* state, bool* exists);

// After a failed SaveManifest: whether the manifest on disk may list any of
// the tables numbered in `numbers`. The save can fail after its rename (the
// directory sync failed), leaving the new manifest in place; only one that
// reads back without them proves those tables may be deleted.
bool ManifestMayList(Env* env, const std::string& dir, const std::vector<uint64_t>& numbers);

}  // namespace lsmd
