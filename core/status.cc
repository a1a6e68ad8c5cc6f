#include "core/status.h"

#include <cerrno>
#include <cstring>

namespace lsmd {

Status Status::FromErrno(int err, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return NoSpace(msg);
  if (err == ENOENT) return NotFound(msg);
  return IOError(msg);
}

std::string Status::ToString() const {
  const char* prefix = "OK";
  switch (code_) {
    case Code::kOk:
      return "OK";
    case Code::kNotFound:
      prefix = "Not found: ";
      break;
    case Code::kCorruption:
      prefix = "Corruption: ";
      break;
    case Code::kIOError:
      prefix = "I/O error: ";
      break;
    case Code::kNoSpace:
      prefix = "No space: ";
      break;
    case Code::kInvalidArgument:
      prefix = "Invalid argument: ";
      break;
    case Code::kBusy:
      prefix = "Busy: ";
      break;
  }
  return prefix + message_;
}

}  // namespace lsmd
