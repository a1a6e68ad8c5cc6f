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
  // Our own (docs/SECURITY.md): a password is set and this connection has not
  // logged in with auth.
  kAuthenticationRequired = 1001,
  // auth with a password that matches none (or none is configured).
  kWrongPassword = 1002,
  // The request needs the admin password (compact, a threshold change).
  kAdminRequired = 1003,
  // Protected mode: no password is set and the client is not on loopback.
  kDenied = 1004,
};

}  // namespace lsmd::proto
