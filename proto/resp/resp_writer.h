// RESP2 replies: functions appending one reply (or an array header) to a
// string, byte for byte as Redis writes them. No allocation beyond the
// string's own growth: numbers go through std::to_chars on the stack.
//
//   AppendSimpleString(&out, "OK")          +OK\r\n
//   AppendError(&out, "ERR unknown ...")    -ERR unknown ...\r\n
//   AppendInteger(&out, -3)                 :-3\r\n
//   AppendBulk(&out, "a\r\nb")              $4\r\na\r\nb\r\n   (binary safe)
//   AppendNullBulk(&out)                    $-1\r\n
//   AppendArrayHeader(&out, 2)              *2\r\n   (then 2 replies of any type)
//   AppendNullArray(&out)                   *-1\r\n
//
// A simple string or an error is one line: a CR or LF in its text is written
// as a space (as Redis's addReplyErrorFormat and addReplyStatus callers do).
// AppendError writes the text as given after the '-': it should begin with an
// error code such as "ERR " or "WRONGTYPE ".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lsmd::proto::resp {

void AppendSimpleString(std::string* out, std::string_view text);
void AppendError(std::string* out, std::string_view text);
void AppendInteger(std::string* out, int64_t value);
void AppendBulk(std::string* out, std::string_view data);
void AppendNullBulk(std::string* out);
void AppendArrayHeader(std::string* out, size_t count);
void AppendNullArray(std::string* out);

// An array of bulk strings: how a client sends a command, and the reply
// shape of e.g. KEYS. AppendArrayHeader + AppendBulk for each.
void AppendBulkArray(std::string* out, const std::vector<std::string_view>& items);

}  // namespace lsmd::proto::resp
