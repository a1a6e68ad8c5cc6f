// Keys and values are bytes; JSON strings are Unicode. These helpers let the
// JSON codec carry any bytes losslessly (docs/PROTOCOL.md, "Bytes that are
// not UTF-8"): valid UTF-8 as a string, anything else as base64.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lsmd::proto {

// True if text is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view text);

// Standard base64 (RFC 4648, "+/" alphabet, '=' padding).
std::string Base64Encode(std::string_view bytes);
// nullopt unless text is canonical standard base64 with padding.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace lsmd::proto
