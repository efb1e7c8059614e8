// Who is asking, and may they: pure checks over an access snapshot. authenticate()
// turns a presented token into an identity or a denial whose reason callers record
// in the audit log; may_approve() matches a user against an approvers list of user
// and group names. Environment tokens are checked in environment_token.hpp.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "runner/access/access_model.hpp"
#include "runner/util/error.hpp"

namespace sluice::access {

// Why a token was not accepted. Each has a stable word (to_string) for audit records.
enum class DenialReason {
    missing_token,    // no token at all
    malformed_token,  // not shaped like a user's token (an environment token, a typo)
    unknown_token,    // well formed, but no record has its id
    wrong_secret,     // the record exists; the secret does not match its hash
    revoked_token,    // the secret matches, but the token was revoked
    unknown_user,     // the token's user (or the user claimed with --as) does not exist
    disabled_user,    // the token's user was revoked as a whole
    not_token_owner,  // a valid token, but of another user than the one claimed
};

// "missing_token", "malformed_token", ... as in the enum.
std::string_view to_string(DenialReason reason);

struct Denial {
    DenialReason reason = DenialReason::missing_token;
    std::string message;   // for the person: what is wrong, never the token's secret
    std::string token_id;  // when the token named one
    std::string user;      // when known (the token's owner, else the claimed user)

    // The denial as an error: ErrorCode::bad_input (exit status 2) with the message.
    util::Error error() const;
};

struct Identity {
    std::string user;
    std::string token_id;
    std::vector<std::string> groups;  // sorted
    std::string email;
    std::string display;
    std::vector<std::string> accounts;  // the OS accounts that are this user (User::accounts)
};

using Authentication = std::expected<Identity, Denial>;

// The identity `token` proves. With `as_user` non-empty, the token must also be that
// user's (`sluice approve --as USER`). Runs one PBKDF2 check at most; never puts the
// token's text in a message.
Authentication authenticate(const AccessSnapshot& snapshot, std::string_view token,
                            std::string_view as_user = {});

// Whether `user` (existing, not disabled) is named in `approvers` directly or through
// one of their groups. An empty approvers list admits nobody.
bool may_approve(const AccessSnapshot& snapshot, const std::string& user,
                 const std::vector<std::string>& approvers);

// The entries of `approvers` that are neither a user nor a group in the snapshot
// (worth a warning where a pipeline is validated against the access file).
std::vector<std::string> unknown_approvers(const AccessSnapshot& snapshot,
                                           const std::vector<std::string>& approvers);

}  // namespace sluice::access
