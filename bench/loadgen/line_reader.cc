#include "bench/loadgen/line_reader.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>

namespace asio = boost::asio;

namespace lsmd::loadgen {

asio::awaitable<Result<std::string_view>> LineReader::Next() {
  size_t scanned = begin_;
  while (true) {
    const void* newline = std::memchr(buf_.data() + scanned, '\n', end_ - scanned);
    if (newline != nullptr) {
      const size_t at = static_cast<const char*>(newline) - buf_.data();
      std::string_view line(buf_.data() + begin_, at - begin_);
      begin_ = at + 1;
      co_return line;
    }
    // Make room: move the partial line to the front, grow if it fills all.
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
    scanned = end_;
    auto [ec, n] = co_await socket_.async_read_some(
        asio::buffer(buf_.data() + end_, buf_.size() - end_), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return Status::IOError("reading a reply: " + ec.message());
    end_ += n;
  }
}

}  // namespace lsmd::loadgen
