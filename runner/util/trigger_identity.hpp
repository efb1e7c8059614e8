// Who started a run, as recorded with it for `self_approval: false`: the OS account of
// a local run (local_identity.hpp), later the sender of a webhook. An identity that
// cannot be determined is kept as unknown, with why, and never guessed.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace sluice::util {

struct TriggerIdentity {
    std::string name;                  // the account (or sender); empty when unknown
    std::string source;                // "passwd" (a local run), "webhook"; "" in an older record
    std::optional<long long> uid;      // the effective uid a local run ran as
    std::vector<std::string> claimed;  // other names the environment gave ($USER, $LOGNAME)
    std::string unknown_why;           // when name is empty: why it could not be known

    bool known() const { return !name.empty(); }
    // Every name that counts as the trigger: `name` and each claimed one.
    std::vector<std::string> names() const;
    // "alice", "alice (also claimed: carol)", "unknown (no passwd entry for uid 1000 ...)".
    std::string describe() const;
};

// As kept in a run's options under "trigger_identity".
nlohmann::json to_json(const TriggerIdentity& identity);

// The trigger recorded in a run's options: "trigger_identity" when there is one, else
// unknown (an older record's "triggered_by", taken from $USER alone, is only claimed).
TriggerIdentity trigger_identity_of(const nlohmann::json& run_options);

}  // namespace sluice::util
