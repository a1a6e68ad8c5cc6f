// Settings of a torture run, from the command line or the environment:
//
//   torture_torture_test [--rounds N] [--seed S] [doctest options...]
//
// --rounds N (or LSMD_TORTURE_ROUNDS): SIGKILLs per test case, default 10 (the
// CI form). --seed S (or LSMD_TORTURE_SEED): replays a run's random choices
// (kill delays, operations, value sizes); thread interleavings still differ.
// A flag wins over its variable. main() (torture_main.cc) parses both before
// doctest sees the rest of the command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace lsmd::torture {

struct TortureConfig {
  int rounds = 10;
  std::optional<uint64_t> seed;  // nullopt: a fresh random seed per test case
};

// The settings main() parsed; read-only once the tests run.
const TortureConfig& Config();

// Parses the torture flags out of argv (removing them) and the environment.
// Returns an error message, or "" on success.
std::string ParseConfig(int* argc, char** argv);

}  // namespace lsmd::torture
