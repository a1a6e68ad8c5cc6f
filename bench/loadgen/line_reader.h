// LineReader: reads newline-terminated reply lines from a socket through one
// reusable buffer. Owned by the one coroutine that reads its socket.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lsmd::loadgen {

class LineReader {
 public:
  explicit LineReader(boost::asio::ip::tcp::socket& socket) : socket_(socket), buf_(64 << 10) {}

  // The next line without its '\n', valid until the next call; IOError when
  // the connection fails or closes.
  boost::asio::awaitable<Result<std::string_view>> Next();

 private:
  boost::asio::ip::tcp::socket& socket_;
  std::vector<char> buf_;
  size_t begin_ = 0;  // first unread byte
  size_t end_ = 0;    // one past the last byte read
};

}  // namespace lsmd::loadgen
