// Who may run what (docs/SECURITY.md). Every request, whichever port and
// codec it came through, needs one of three privileges, decided here once:
//   kOpen   PING, HELLO, AUTH / auth, QUIT, RESET: answered before any login
//   kData   every read and write of keys, stats, introspection
//   kAdmin  commands that change configuration or touch files: compact, and
//           sstable_flush when it changes the flush threshold
// AccessPolicy holds the passwords (shared by every connection, immutable
// after start); ClientAccess is one connection's login state.
//
// Without any password every connection starts with kAdmin. With only a data
// password, that password grants kAdmin as well; with an admin password too,
// it grants kData and the admin password kAdmin. With only an admin password,
// connections start with kData.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proto/command.h"

namespace lsmd::proto {

enum class Privilege : uint8_t { kOpen = 0, kData = 1, kAdmin = 2 };

// What running `command` needs.
Privilege RequiredPrivilege(const Command& command);

struct Passwords {
  std::optional<std::string> data;
  std::optional<std::string> admin;
};

// Thread safety: const after construction, except the atomic counter.
class AccessPolicy {
 public:
  explicit AccessPolicy(Passwords passwords);
  AccessPolicy(const AccessPolicy&) = delete;
  AccessPolicy& operator=(const AccessPolicy&) = delete;

  // A data password is set: connections must log in before kData requests.
  bool requires_login() const { return data_.has_value(); }
  // Any password is set (protected mode stays off then).
  bool any_password() const { return data_.has_value() || admin_.has_value(); }
  Privilege initial_privilege() const;
  // The privilege `password` grants, or nullopt. `user` is RESP's user name:
  // "default" (or none) tries both passwords, "admin" the admin one only.
  // Compares digests, so the time taken does not depend on how much of a
  // password matched.
  std::optional<Privilege> Check(std::string_view user, std::string_view password) const;

  // Failed attempts on every connection, for stats and INFO.
  uint64_t failed_attempts() const { return failed_.load(std::memory_order_relaxed); }
  void CountFailure() const { failed_.fetch_add(1, std::memory_order_relaxed); }

 private:
  struct Digest {
    uint64_t low = 0, high = 0;
  };
  Digest Hash(std::string_view password) const;
  static bool Equal(const Digest& a, const Digest& b);

  uint64_t seed_;  // random per process: digests are useless outside it
  std::optional<Digest> data_;
  std::optional<Digest> admin_;
  mutable std::atomic<uint64_t> failed_{0};
};

// One connection's login. Used by that connection's thread only.
class ClientAccess {
 public:
  // Each failed attempt delays that reply by kFailureDelay times the
  // connection's failures so far (at most kMaxFailureDelay); the
  // kMaxFailures-th closes the connection.
  static constexpr std::chrono::milliseconds kFailureDelay{100};
  static constexpr std::chrono::milliseconds kMaxFailureDelay{1000};
  static constexpr int kMaxFailures = 10;

  explicit ClientAccess(const AccessPolicy& policy)
      : policy_(policy), privilege_(policy.initial_privilege()) {}

  const AccessPolicy& policy() const { return policy_; }
  Privilege privilege() const { return privilege_; }
  bool Permits(Privilege needed) const { return privilege_ >= needed; }

  enum class Login {
    kOk,          // privilege() is what the password grants
    kNoPassword,  // no password is configured at all
    kWrong,       // delay() says how long to hold the reply
    kTooMany,     // wrong again, the last allowed: reply, then close
  };
  Login Authenticate(std::string_view user, std::string_view password);
  // The connection has used up its attempts: close it after this reply.
  bool exhausted() const { return failures_ >= kMaxFailures; }
  // RESET: back to what a new connection has.
  void Reset() { privilege_ = policy_.initial_privilege(); }

  // How long to hold the reply to the request just handled (after a failed
  // login), and clears it.
  std::chrono::milliseconds TakeDelay() {
    auto delay = pending_delay_;
    pending_delay_ = std::chrono::milliseconds(0);
    return delay;
  }

 private:
  const AccessPolicy& policy_;
  Privilege privilege_;
  int failures_ = 0;
  std::chrono::milliseconds pending_delay_{0};
};

}  // namespace lsmd::proto
