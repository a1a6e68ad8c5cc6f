// Who may run what (proto/access.h): the privilege each command needs, what
// each password grants, and how failed logins are slowed and cut off.
#include "proto/access.h"

#include <doctest/doctest.h>

#include <chrono>

namespace lsmd::proto {
namespace {

using Login = ClientAccess::Login;
using std::chrono::milliseconds;

TEST_CASE("compact and a threshold change are admin, everything else data") {
  CHECK(RequiredPrivilege(Command{CompactCommand{}}) == Privilege::kAdmin);
  CHECK(RequiredPrivilege(Command{FlushCommand{uint64_t{4096}}}) == Privilege::kAdmin);
  CHECK(RequiredPrivilege(Command{FlushCommand{}}) == Privilege::kData);
  CHECK(RequiredPrivilege(Command{GetCommand{"k"}}) == Privilege::kData);
  CHECK(RequiredPrivilege(Command{PutCommand{"k", "v"}}) == Privilege::kData);
  CHECK(RequiredPrivilege(Command{ScanCommand{}}) == Privilege::kData);
  CHECK(RequiredPrivilege(Command{StatsCommand{}}) == Privilege::kData);
  CHECK(RequiredPrivilege(Command{LookupCommand{"L0_001.sst", "k"}}) == Privilege::kData);
  CHECK(RequiredPrivilege(Command{TransactionCommand{}}) == Privilege::kData);
}

TEST_CASE("without a password every connection may do everything") {
  AccessPolicy policy(Passwords{});
  CHECK_FALSE(policy.requires_login());
  CHECK_FALSE(policy.any_password());
  ClientAccess access(policy);
  CHECK(access.Permits(Privilege::kAdmin));
  CHECK(access.Authenticate("", "anything") == Login::kNoPassword);
  CHECK(access.Permits(Privilege::kAdmin));
  CHECK(policy.failed_attempts() == 0);
}

TEST_CASE("a data password alone: nothing before login, everything after") {
  AccessPolicy policy(Passwords{"pw", std::nullopt});
  ClientAccess access(policy);
  CHECK(access.privilege() == Privilege::kOpen);
  CHECK_FALSE(access.Permits(Privilege::kData));
  CHECK(access.Permits(Privilege::kOpen));
  CHECK(access.Authenticate("", "pw") == Login::kOk);
  CHECK(access.Permits(Privilege::kAdmin));
  access.Reset();
  CHECK_FALSE(access.Permits(Privilege::kData));
  CHECK(access.Authenticate("default", "pw") == Login::kOk);
  CHECK(access.Permits(Privilege::kAdmin));
  // The admin user has no password of its own here.
  CHECK(access.Authenticate("admin", "pw") == Login::kWrong);
  CHECK(access.Authenticate("nobody", "pw") == Login::kWrong);
}

TEST_CASE("data and admin passwords each grant their own privilege") {
  AccessPolicy policy(Passwords{"data-pw", "admin-pw"});
  ClientAccess access(policy);
  CHECK(access.Authenticate("", "data-pw") == Login::kOk);
  CHECK(access.privilege() == Privilege::kData);
  CHECK_FALSE(access.Permits(Privilege::kAdmin));
  CHECK(access.Authenticate("", "admin-pw") == Login::kOk);
  CHECK(access.privilege() == Privilege::kAdmin);
  CHECK(access.Authenticate("admin", "admin-pw") == Login::kOk);
  CHECK(access.Authenticate("admin", "data-pw") == Login::kWrong);
  // A failed login keeps what the last good one granted.
  CHECK(access.privilege() == Privilege::kAdmin);
  // A data login after an admin one drops the admin rights.
  CHECK(access.Authenticate("", "data-pw") == Login::kOk);
  CHECK(access.privilege() == Privilege::kData);
  // Near misses are misses.
  for (const char* guess : {"data-p", "data-pw ", "data-pwx", "DATA-PW", ""}) {
    CAPTURE(guess);
    CHECK(access.Authenticate("", guess) == Login::kWrong);
  }
}

TEST_CASE("an admin password alone leaves data open and guards admin commands") {
  AccessPolicy policy(Passwords{std::nullopt, "admin-pw"});
  CHECK_FALSE(policy.requires_login());
  CHECK(policy.any_password());
  ClientAccess access(policy);
  CHECK(access.Permits(Privilege::kData));
  CHECK_FALSE(access.Permits(Privilege::kAdmin));
  CHECK(access.Authenticate("", "wrong") == Login::kWrong);
  CHECK(access.Permits(Privilege::kData));
  CHECK(access.Authenticate("", "admin-pw") == Login::kOk);
  CHECK(access.Permits(Privilege::kAdmin));
}

TEST_CASE("each failed login delays its reply more, and the tenth ends the connection") {
  AccessPolicy policy(Passwords{"pw", std::nullopt});
  ClientAccess access(policy);
  CHECK(access.TakeDelay() == milliseconds(0));
  for (int i = 1; i < ClientAccess::kMaxFailures; ++i) {
    CAPTURE(i);
    CHECK(access.Authenticate("", "bad") == Login::kWrong);
    CHECK(access.TakeDelay() == std::min(ClientAccess::kFailureDelay * i,
                                         ClientAccess::kMaxFailureDelay));
    CHECK(access.TakeDelay() == milliseconds(0));  // taken once
    CHECK_FALSE(access.exhausted());
  }
  CHECK(access.Authenticate("", "bad") == Login::kTooMany);
  CHECK(access.exhausted());
  CHECK(policy.failed_attempts() == ClientAccess::kMaxFailures);
  // Other connections are not affected, but the count is shared.
  ClientAccess other(policy);
  CHECK(other.Authenticate("", "pw") == Login::kOk);
  CHECK(other.TakeDelay() == milliseconds(0));
}

}  // namespace
}  // namespace lsmd::proto
