#include "server/password_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace lsmd::server {

Result<std::string> ReadPasswordFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status::InvalidArgument(std::string("cannot be read: ") + std::strerror(errno));
  std::string text;
  text.resize(kMaxPasswordFileBytes + 1);
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(file.gcount()));
  if (file.bad()) return Status::InvalidArgument("cannot be read");
  if (text.size() > kMaxPasswordFileBytes) {
    return Status::InvalidArgument("is longer than " + std::to_string(kMaxPasswordFileBytes) +
                                   " bytes");
  }
  const size_t end = text.find('\n');
  std::string password = text.substr(0, end);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (end != std::string::npos &&
      text.find_first_not_of("\r\n", end) != std::string::npos) {
    return Status::InvalidArgument("holds more than one line (the password is the first line)");
  }
  if (password.empty()) return Status::InvalidArgument("holds an empty password");
  return password;
}

}  // namespace lsmd::server
