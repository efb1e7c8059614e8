// Who this process runs as, for the runs it starts: the OS account of its effective
// uid from the passwd database. $USER and $LOGNAME are only a cross-check (anyone can
// set them): a name they give that differs from the account is kept as claimed, never
// instead of it. With no passwd entry (a container's arbitrary uid) the identity is
// unknown, and `self_approval: false` then admits nobody (access/self_approval.hpp).
#pragma once

#include <optional>
#include <string>

#include "runner/util/trigger_identity.hpp"

namespace sluice::util {

// What the OS says about this process, gathered in one place so the rule is pure.
struct AccountFacts {
    long long uid = 0;
    std::optional<std::string> account;  // the passwd entry's name; nullopt when none
    std::string lookup_error;            // why the passwd database could not be read
    std::string user_env;                // $USER, "" when unset
    std::string logname_env;             // $LOGNAME, "" when unset
};

// The rule: the account when there is one, claimed names from the environment.
TriggerIdentity identity_from(const AccountFacts& facts);

// getpwuid_r(geteuid()), $USER and $LOGNAME of this process.
AccountFacts current_account_facts();

// identity_from(current_account_facts()).
TriggerIdentity local_identity();

}  // namespace sluice::util
