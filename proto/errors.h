// Error codes of error replies: Maelstrom's numbering, so a Maelstrom client
// classifies our errors the way it classifies any node's. Codes of our own,
// if ever needed, start at 1000 to stay clear of Maelstrom's range.
#pragma once

namespace lsmd::proto {

enum class ErrorCode : int {
  // The message type is not one this node serves.
  kNotSupported = 10,
  // Try again later: a write stalled past its timeout, too many connections.
  kTemporarilyUnavailable = 11,
  // The request cannot be understood: not JSON, a field missing or invalid.
  kMalformedRequest = 12,
  // The engine failed (I/O error, full disk, corruption); the text says how.
  kCrash = 13,
  // The named thing does not exist (an SSTable name that is not live).
  kKeyDoesNotExist = 20,
};

}  // namespace lsmd::proto
