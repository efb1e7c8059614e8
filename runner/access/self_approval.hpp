// `self_approval: false`: whether an approver can be shown to differ from the people
// behind a run, who triggered it and who wrote its commit. A pure rule over what the
// run recorded; a trigger that is unknown proves nobody differs, so everyone is
// refused (fail closed) rather than the protection turning off.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runner/access/authenticate.hpp"

namespace sluice::access {

// Who is behind a run, as recorded with it.
struct RunAuthorship {
    std::string run;                   // its id, for messages
    std::string triggered_by;          // the triggering account (or sender); empty: unknown
    std::vector<std::string> claimed;  // other names given for the trigger ($USER, $LOGNAME)
    std::string unknown_why;           // when triggered_by is empty: why
    std::string author;                // the commit's "Name <email>"; empty outside git
};

struct SelfApprovalDenial {
    std::string reason;   // "trigger_unknown" or "self_approval", for the audit trail
    std::string message;  // for the person: what, and why
};

// nullopt when `approver` may approve the run under self_approval: false. The trigger
// is theirs when its account (or a claimed name) is their user name or one of the
// accounts the access file lists for them; the commit is theirs when their name or
// email is its author's. An unknown trigger refuses everyone.
std::optional<SelfApprovalDenial> check_self_approval(const Identity& approver,
                                                      const RunAuthorship& run);

}  // namespace sluice::access
