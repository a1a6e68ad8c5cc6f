// Checks of the store as a whole after a restart: every client's keys read
// back against its model, and the data directory free of leftovers.
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "torture/torture_model.h"

namespace lsmd::torture {

// Reads every key of every model from the server (one connection, pipelined
// gets). A key must hold a state its model allows after a crash and, if it
// holds a value, one its client wrote for it; the models then settle on what
// was read. Returns every problem found (empty: all good).
std::vector<std::string> VerifyKeys(uint16_t port, std::vector<ClientModel>& models);

// The names of the live tables in the server's stats reply; sets *error
// (and returns nothing) if it cannot get them.
std::set<std::string> LiveTables(uint16_t port, std::string* error);

// The *.tmp files and the *.sst files in dir.
std::vector<std::string> FilesEndingWith(const std::string& dir, const std::string& suffix);

// Waits, up to timeout, for a running server's data directory to settle:
// no *.tmp file, every table stats lists present on disk, and no *.sst on
// disk that stats does not list. A compaction in progress has a temporary
// file for a moment; a leftover from a crash never goes away. Returns "" or
// what was still wrong when time ran out.
std::string WaitForTidyDataDir(uint16_t port, const std::string& dir,
                               std::chrono::milliseconds timeout);

// After a clean shutdown: no *.tmp, and the *.sst files are exactly `tables`.
std::string CheckStoppedDataDir(const std::string& dir, const std::set<std::string>& tables);

}  // namespace lsmd::torture
