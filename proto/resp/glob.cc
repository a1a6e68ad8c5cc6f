#include "proto/resp/glob.h"

namespace lsmd::proto::resp {
namespace {

// Matches a class starting after '[' at pattern[*i]; leaves *i on the ']'
// (or the end). True if c is in the class.
bool MatchClass(std::string_view pattern, size_t* i, unsigned char c) {
  size_t p = *i;
  bool negate = false;
  if (p < pattern.size() && pattern[p] == '^') {
    negate = true;
    ++p;
  }
  bool match = false;
  while (p < pattern.size() && pattern[p] != ']') {
    if (pattern[p] == '\\' && p + 1 < pattern.size()) {
      ++p;
      if (static_cast<unsigned char>(pattern[p]) == c) match = true;
    } else if (p + 2 < pattern.size() && pattern[p + 1] == '-' && pattern[p + 2] != ']') {
      unsigned char lo = pattern[p], hi = pattern[p + 2];
      if (lo > hi) std::swap(lo, hi);
      if (c >= lo && c <= hi) match = true;
      p += 2;
    } else if (static_cast<unsigned char>(pattern[p]) == c) {
      match = true;
    }
    ++p;
  }
  *i = p;  // on ']' or at the end (an unterminated class ends the pattern)
  return negate ? !match : match;
}

}  // namespace

// Iterative with one backtrack point for the last '*': linear in practice,
// never exponential (Redis's recursive matcher needed a nesting limit).
bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      const char pc = pattern[p];
      if (pc == '*') {
        while (p < pattern.size() && pattern[p] == '*') ++p;
        if (p == pattern.size()) return true;
        star = p;
        star_text = t;
        continue;
      }
      if (pc == '?') {
        ++p;
        ++t;
        continue;
      }
      if (pc == '[') {
        size_t q = p + 1;
        if (MatchClass(pattern, &q, static_cast<unsigned char>(text[t]))) {
          p = q < pattern.size() ? q + 1 : q;
          ++t;
          continue;
        }
      } else {
        size_t q = p;
        if (pc == '\\' && q + 1 < pattern.size()) ++q;
        if (pattern[q] == text[t]) {
          p = q + 1;
          ++t;
          continue;
        }
      }
    }
    if (star == std::string_view::npos) return false;
    p = star;
    t = ++star_text;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string GlobLiteralPrefix(std::string_view pattern) {
  std::string prefix;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '*' || c == '?' || c == '[') break;
    if (c == '\\') {
      if (i + 1 == pattern.size()) break;
      prefix += pattern[++i];
      continue;
    }
    prefix += c;
  }
  return prefix;
}

}  // namespace lsmd::proto::resp
