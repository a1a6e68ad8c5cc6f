// Reading a password from a file (--password-file, --admin-password-file,
// a Docker secret): its first line, without the line end.
#pragma once

#include <string>

#include "core/status.h"

namespace lsmd::server {

// The longest password file read; a longer file is refused, not cut.
inline constexpr size_t kMaxPasswordFileBytes = 4096;

// InvalidArgument (the reason, without the path) if the file cannot be read,
// is longer than kMaxPasswordFileBytes, holds more than one line, or an
// empty password.
Result<std::string> ReadPasswordFile(const std::string& path);

}  // namespace lsmd::server
