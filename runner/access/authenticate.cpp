// Token checks and approver matching over an access snapshot.
#include "runner/access/authenticate.hpp"

#include <algorithm>

#include "runner/access/secret_hash.hpp"
#include "runner/access/token_format.hpp"

namespace sluice::access {

namespace {

std::unexpected<Denial> deny(DenialReason reason, std::string message, std::string token_id = {},
                             std::string user = {}) {
    return std::unexpected(
        Denial{reason, std::move(message), std::move(token_id), std::move(user)});
}

std::string ticked(std::string_view text) { return "`" + std::string(text) + "`"; }

}  // namespace

std::string_view to_string(DenialReason reason) {
    switch (reason) {
        case DenialReason::missing_token:
            return "missing_token";
        case DenialReason::malformed_token:
            return "malformed_token";
        case DenialReason::unknown_token:
            return "unknown_token";
        case DenialReason::wrong_secret:
            return "wrong_secret";
        case DenialReason::revoked_token:
            return "revoked_token";
        case DenialReason::unknown_user:
            return "unknown_user";
        case DenialReason::disabled_user:
            return "disabled_user";
        case DenialReason::not_token_owner:
            return "not_token_owner";
    }
    return "unknown";
}

util::Error Denial::error() const { return util::Error{util::ErrorCode::bad_input, message, {}}; }

Authentication authenticate(const AccessSnapshot& snapshot, std::string_view token,
                            std::string_view as_user) {
    std::string claimed(as_user);
    if (token.empty()) {
        return deny(DenialReason::missing_token,
                    "no token: pass --token or set " + std::string(k_token_variable) +
                        " (a user's token comes from `sluice access add-token USER`)",
                    {}, claimed);
    }
    if (token.starts_with(k_environment_token_prefix)) {
        return deny(DenialReason::malformed_token,
                    "that is an environment's token, not a user's: pass your own token "
                    "(`sluice access add-token USER`)",
                    {}, claimed);
    }
    auto id = token_id_of(token);
    if (!id) {
        return deny(DenialReason::malformed_token,
                    "the token is not a sluice token (one looks like slc_tok_3f9a2c_ and 64 hex "
                    "digits)",
                    {}, claimed);
    }
    const TokenRecord* record = snapshot.find_token(*id);
    if (record == nullptr) {
        return deny(DenialReason::unknown_token,
                    "token " + *id +
                        " is unknown here (revoked and removed, or issued for "
                        "another state directory)",
                    *id, claimed);
    }
    if (!verify_secret(record->hash, token)) {
        return deny(DenialReason::wrong_secret,
                    "the token's secret is wrong for token " + *id + " (check for a copy mistake)",
                    *id, claimed);
    }
    if (record->revoked()) {
        return deny(DenialReason::revoked_token,
                    "token " + *id + " of user " + ticked(record->user) + " has been revoked", *id,
                    record->user);
    }
    const User* user = snapshot.find_user(record->user);
    if (user == nullptr) {
        return deny(DenialReason::unknown_user,
                    "token " + *id + " belongs to " + ticked(record->user) +
                        ", who is not a user in the access file",
                    *id, record->user);
    }
    if (user->disabled) {
        return deny(DenialReason::disabled_user,
                    "user " + ticked(user->name) + " has been revoked (disabled)", *id, user->name);
    }
    if (!claimed.empty() && claimed != user->name) {
        if (snapshot.find_user(claimed) == nullptr) {
            return deny(
                DenialReason::unknown_user,
                "there is no user " + ticked(claimed) + " (`sluice access list` shows the users)",
                *id, claimed);
        }
        return deny(DenialReason::not_token_owner,
                    "the token is " + ticked(user->name) + "'s, not " + ticked(claimed) + "'s", *id,
                    claimed);
    }
    return Identity{user->name, *id, user->groups, user->email, user->display, user->accounts};
}

bool may_approve(const AccessSnapshot& snapshot, const std::string& user,
                 const std::vector<std::string>& approvers) {
    const User* found = snapshot.find_user(user);
    if (found == nullptr || found->disabled) return false;
    return std::ranges::any_of(approvers, [&](const std::string& entry) {
        return entry == found->name || std::ranges::binary_search(found->groups, entry);
    });
}

std::vector<std::string> unknown_approvers(const AccessSnapshot& snapshot,
                                           const std::vector<std::string>& approvers) {
    std::vector<std::string> out;
    for (const auto& entry : approvers) {
        if (snapshot.find_user(entry) == nullptr && !snapshot.has_group(entry)) {
            out.push_back(entry);
        }
    }
    return out;
}

}  // namespace sluice::access
