// The torture test's main: takes --rounds and --seed (torture_config.h), then
// hands the remaining arguments to doctest.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "torture/torture_config.h"

namespace lsmd::torture {
namespace {

TortureConfig config;  // written by ParseConfig before any test runs

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

std::string SetRounds(std::string_view text, std::string_view source) {
  int rounds = 0;
  if (!ParseNumber(text, &rounds) || rounds < 1) {
    return std::string(source) + ": '" + std::string(text) + "' is not a positive whole number";
  }
  config.rounds = rounds;
  return "";
}

std::string SetSeed(std::string_view text, std::string_view source) {
  uint64_t seed = 0;
  if (!ParseNumber(text, &seed)) {
    return std::string(source) + ": '" + std::string(text) + "' is not an unsigned whole number";
  }
  config.seed = seed;
  return "";
}

}  // namespace

const TortureConfig& Config() { return config; }

std::string ParseConfig(int* argc, char** argv) {
  if (const char* rounds = std::getenv("LSMD_TORTURE_ROUNDS"); rounds && *rounds) {
    if (std::string error = SetRounds(rounds, "LSMD_TORTURE_ROUNDS"); !error.empty()) return error;
  }
  if (const char* seed = std::getenv("LSMD_TORTURE_SEED"); seed && *seed) {
    if (std::string error = SetSeed(seed, "LSMD_TORTURE_SEED"); !error.empty()) return error;
  }
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    std::string_view arg = argv[i];
    bool consumed = false;
    for (std::string_view flag : {"--rounds", "--seed"}) {
      std::string_view value;
      if (arg == flag) {
        if (i + 1 >= *argc) return std::string(flag) + " needs a value";
        value = argv[++i];
      } else if (arg.starts_with(std::string(flag) + "=")) {
        value = arg.substr(flag.size() + 1);
      } else {
        continue;
      }
      std::string error = flag == "--rounds" ? SetRounds(value, flag) : SetSeed(value, flag);
      if (!error.empty()) return error;
      consumed = true;
      break;
    }
    if (!consumed) argv[kept++] = argv[i];
  }
  *argc = kept;
  argv[kept] = nullptr;
  return "";
}

}  // namespace lsmd::torture

int main(int argc, char** argv) {
  std::string error = lsmd::torture::ParseConfig(&argc, argv);
  if (!error.empty()) {
    std::fprintf(stderr, "torture_test: %s\n", error.c_str());
    return 2;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
