#include "core/filename.h"

#include <charconv>
#include <cstdio>

namespace lsmd {
namespace {

// Parses all of s as a decimal number; false on anything else.
bool ParseNumber(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

std::string TableFileName(int level, uint64_t number) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "L%d_%03llu.sst", level, static_cast<unsigned long long>(number));
  return buf;
}

std::string LogFileName(uint64_t number) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%06llu.wal", static_cast<unsigned long long>(number));
  return buf;
}

std::string LegacyLogFileName(uint64_t number) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%06llu.log", static_cast<unsigned long long>(number));
  return buf;
}

ParsedFileName ParseFileName(std::string_view name) {
  ParsedFileName parsed;
  if (name == kManifestFileName) {
    parsed.type = FileType::kManifest;
  } else if (name == kLockFileName) {
    parsed.type = FileType::kLock;
  } else if (name.ends_with(kTempSuffix)) {
    parsed.type = FileType::kTemp;
  } else if (name.ends_with(".wal") || name.ends_with(".log")) {
    if (ParseNumber(name.substr(0, name.size() - 4), &parsed.number)) {
      parsed.type = FileType::kLog;
      parsed.legacy_log = name.ends_with(".log");
    }
  } else if (name.starts_with("L") && name.ends_with(".sst")) {
    std::string_view body = name.substr(1, name.size() - 5);
    size_t underscore = body.find('_');
    uint64_t level = 0;
    if (underscore != std::string_view::npos && ParseNumber(body.substr(0, underscore), &level) &&
        level < 100 && ParseNumber(body.substr(underscore + 1), &parsed.number)) {
      parsed.type = FileType::kTable;
      parsed.level = static_cast<int>(level);
    }
  }
  return parsed;
}

}  // namespace lsmd
