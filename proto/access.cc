#include "proto/access.h"

#include <xxhash.h>

#include <algorithm>
#include <random>
#include <type_traits>
#include <variant>

namespace lsmd::proto {

Privilege RequiredPrivilege(const Command& command) {
  return std::visit(
      [](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, CompactCommand>) {
          return Privilege::kAdmin;
        } else if constexpr (std::is_same_v<T, FlushCommand>) {
          // Flushing is routine; changing the threshold is configuration.
          return c.memtable_size_bytes ? Privilege::kAdmin : Privilege::kData;
        } else {
          return Privilege::kData;
        }
      },
      command);
}

AccessPolicy::AccessPolicy(Passwords passwords) {
  std::random_device random;
  seed_ = (uint64_t{random()} << 32) ^ random();
  if (passwords.data) data_ = Hash(*passwords.data);
  if (passwords.admin) admin_ = Hash(*passwords.admin);
}

Privilege AccessPolicy::initial_privilege() const {
  if (data_) return Privilege::kOpen;
  return admin_ ? Privilege::kData : Privilege::kAdmin;
}

AccessPolicy::Digest AccessPolicy::Hash(std::string_view password) const {
  const XXH128_hash_t h = XXH3_128bits_withSeed(password.data(), password.size(), seed_);
  return {h.low64, h.high64};
}

bool AccessPolicy::Equal(const Digest& a, const Digest& b) {
  // No early exit: equal-time for every pair of digests.
  return ((a.low ^ b.low) | (a.high ^ b.high)) == 0;
}

std::optional<Privilege> AccessPolicy::Check(std::string_view user,
                                             std::string_view password) const {
  const bool as_admin = user == "admin";
  if (!as_admin && !user.empty() && user != "default") return std::nullopt;
  const Digest given = Hash(password);
  // Both comparisons always run: which password matched is not timed.
  const bool admin = admin_ && Equal(given, *admin_);
  const bool data = !as_admin && data_ && Equal(given, *data_);
  if (admin) return Privilege::kAdmin;
  // Without an admin password, the data password is the admin one too.
  if (data) return admin_ ? Privilege::kData : Privilege::kAdmin;
  return std::nullopt;
}

ClientAccess::Login ClientAccess::Authenticate(std::string_view user, std::string_view password) {
  if (!policy_.any_password()) return Login::kNoPassword;
  if (std::optional<Privilege> granted = policy_.Check(user, password)) {
    // The connection now has what this password grants (a data login
    // after an admin one drops admin rights), never less than it started with.
    privilege_ = std::max(*granted, policy_.initial_privilege());
    return Login::kOk;
  }
  policy_.CountFailure();
  ++failures_;
  pending_delay_ = std::min(kFailureDelay * failures_, kMaxFailureDelay);
  return failures_ >= kMaxFailures ? Login::kTooMany : Login::kWrong;
}

}  // namespace lsmd::proto
