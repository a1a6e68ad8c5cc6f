// One torture client: random puts, deletes and gets on its own keys, sent in
// pipelined windows over one connection, until the server is killed. Every
// reply is checked against the client's model as it arrives.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "torture/torture_model.h"

namespace lsmd::torture {

struct ClientTally {
  uint64_t puts_acknowledged = 0;
  uint64_t deletes_acknowledged = 0;
  uint64_t gets_answered = 0;
  uint64_t refused = 0;  // error 11 replies (a write stall past its timeout)
  std::string failure;   // the first thing that broke a promise; "" if none
};

// Runs until the connection ends. `server_killed` is set by the caller just
// before it kills the server: a lost connection is expected after that and a
// failure before it.
ClientTally RunClient(uint16_t port, ClientModel& model, uint32_t seed,
                      const std::atomic<bool>& server_killed);

}  // namespace lsmd::torture
