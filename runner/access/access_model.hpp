// What the access file holds: users and their groups, the hashed tokens issued to
// them, and the environments protected by a token of their own. Plain values; the
// store reads and writes them, authenticate() and may_approve() only look.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runner/access/secret_hash.hpp"

namespace sluice::access {

// The access file's format version; a file with a higher one is refused.
inline constexpr int k_access_file_version = 1;

struct User {
    std::string name;
    std::string email;                // empty when not given
    std::string display;              // a human name; empty when not given
    std::vector<std::string> groups;  // sorted, no duplicates
    std::int64_t created_ms = 0;
    bool disabled = false;  // revoked: no token of theirs authenticates
    std::optional<std::int64_t> disabled_ms;
    // The OS accounts that are this person (sorted, no duplicates): a run triggered by
    // one of them is theirs for `self_approval: false`, as is one triggered by an
    // account named like the user.
    std::vector<std::string> accounts;
};

struct TokenRecord {
    std::string id;  // public, e.g. `tok_3f9a2c`; also inside the token itself
    std::string user;
    std::string label;  // what it is for ("laptop", "ci"); may be empty
    SecretHash hash;    // of the whole token text
    std::int64_t created_ms = 0;
    std::optional<std::int64_t> revoked_ms;

    bool revoked() const { return revoked_ms.has_value(); }
};

// An environment whose writes (deploy, promote, rollback) need its own token.
struct ProtectedEnvironment {
    std::string name;
    SecretHash hash;  // of the whole environment token text
    std::int64_t created_ms = 0;
};

struct AccessSnapshot {
    int version = k_access_file_version;
    std::vector<User> users;
    std::vector<TokenRecord> tokens;
    std::vector<ProtectedEnvironment> environments;

    const User* find_user(const std::string& name) const;
    User* find_user(const std::string& name);
    const TokenRecord* find_token(const std::string& id) const;
    const ProtectedEnvironment* find_environment(const std::string& name) const;
    // Whether some user (disabled or not) is in group `name`.
    bool has_group(const std::string& name) const;
    // Every group with its members' names, both sorted.
    std::map<std::string, std::vector<std::string>> groups() const;
};

// A token just issued: `secret` is the whole token text, shown to its owner once and
// stored nowhere.
struct IssuedToken {
    std::string id;
    std::string user;
    std::string label;
    std::string secret;
    std::int64_t created_ms = 0;
};

// An environment token just issued; `replaced` when it supersedes an older one.
struct IssuedEnvironmentToken {
    std::string environment;
    std::string secret;
    std::int64_t created_ms = 0;
    bool replaced = false;
};

}  // namespace sluice::access
