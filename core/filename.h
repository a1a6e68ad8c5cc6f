// Names of the files in a data directory. The engine only ever opens paths it
// built from these functions; a name a client sends is matched against the
// live set, never turned into a path.
//
//   L<level>_<number>.sst   an SSTable (number zero-padded to 3 digits, grows forever)
//   <number>.wal            the write-ahead log of one MemTable (wal_writer.h)
//   <number>.log            a write-ahead log in the legacy format: read at
//                           Open, never written (wal_legacy_reader.h)
//   MANIFEST                the live file set (manifest.h)
//   LOCK                    held by the process that owns the directory
//   *.tmp                   a file being written; removed at the next open
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lsmd {

enum class FileType { kTable, kLog, kManifest, kLock, kTemp, kUnknown };

std::string TableFileName(int level, uint64_t number);
// The name new logs get.
std::string LogFileName(uint64_t number);
std::string LegacyLogFileName(uint64_t number);
inline constexpr const char* kManifestFileName = "MANIFEST";
inline constexpr const char* kLockFileName = "LOCK";
inline constexpr const char* kTempSuffix = ".tmp";

struct ParsedFileName {
  FileType type = FileType::kUnknown;
  int level = 0;            // kTable only
  uint64_t number = 0;      // kTable and kLog
  bool legacy_log = false;  // kLog: a `.log` file, the legacy record format
};

ParsedFileName ParseFileName(std::string_view name);

}  // namespace lsmd
