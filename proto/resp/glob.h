// Redis's glob patterns (KEYS, SCAN MATCH, CONFIG GET): '*' any run, '?' one
// byte, [abc] [^a-z] classes, '\' escapes the next byte. Bytes, not
// characters, as Redis's stringmatchlen.
#pragma once

#include <string>
#include <string_view>

namespace lsmd::proto::resp {

bool GlobMatch(std::string_view pattern, std::string_view text);

// The bytes every match must start with: the pattern up to its first special
// character, escapes resolved. SCAN and KEYS seek there instead of scanning
// every key.
std::string GlobLiteralPrefix(std::string_view pattern);

}  // namespace lsmd::proto::resp
