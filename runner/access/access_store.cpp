// Locked read-modify-write of access.json.
#include "runner/access/access_store.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "runner/access/access_file.hpp"
#include "runner/access/names.hpp"
#include "runner/access/secret_hash.hpp"
#include "runner/access/token_format.hpp"
#include "runner/util/atomic_file.hpp"
#include "runner/util/file_lock.hpp"

namespace sluice::access {

namespace {

using util::ErrorCode;

std::string ticked(const std::string& text) { return "`" + text + "`"; }

util::Status check_groups(const AccessSnapshot& snapshot, const std::vector<std::string>& groups,
                          const std::string& new_user = {}) {
    for (const auto& group : groups) {
        if (auto ok = check_name("group name", group); !ok) return ok;
        if (group == new_user || snapshot.find_user(group) != nullptr) {
            return util::fail(
                ErrorCode::bad_input,
                "group name " + ticked(group) + " is a user's name; give the group another name");
        }
    }
    return {};
}

util::Status no_user(const std::string& name) {
    return util::fail(ErrorCode::not_found,
                      "there is no user " + ticked(name) + " (`sluice access list` shows them)");
}

void sort_unique(std::vector<std::string>& names) {
    std::ranges::sort(names);
    auto [first, last] = std::ranges::unique(names);
    names.erase(first, last);
}

}  // namespace

AccessStore::AccessStore(std::filesystem::path path, const util::Clock& clock)
    : path_(std::move(path)), lock_path_(path_.string() + ".lock"), clock_(&clock) {}

util::Result<AccessStore> AccessStore::open(std::filesystem::path path, const util::Clock& clock) {
    AccessStore store(std::move(path), clock);
    if (auto snapshot = store.read(); !snapshot) return std::unexpected(snapshot.error());
    return store;
}

util::Result<AccessSnapshot> AccessStore::read() const {
    errno = 0;
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
        if (errno == ENOENT) return AccessSnapshot{};
        return util::fail(ErrorCode::io,
                          "cannot read " + path_.string() + ": " + std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return util::fail(ErrorCode::io, "cannot read " + path_.string());
    return parse_access_file(text.str(), path_);
}

util::Status AccessStore::update(const std::function<util::Status(AccessSnapshot&)>& change) {
    auto lock = util::FileLock::acquire(lock_path_);
    if (!lock) return std::unexpected(lock.error());
    auto snapshot = read();
    if (!snapshot) return std::unexpected(snapshot.error());
    if (auto changed = change(*snapshot); !changed) return changed;
    // Hashes only, but nobody else has a reason to read them: created 0600.
    return util::write_file_atomically(path_, format_access_file(*snapshot), 0600);
}

util::Result<User> AccessStore::add_user(const NewUser& request) {
    if (auto ok = check_user_name(request.name); !ok) return std::unexpected(ok.error());
    if (!request.email.empty()) {
        if (auto ok = check_email(request.email); !ok) return std::unexpected(ok.error());
    }
    if (auto ok = check_free_text("display name", request.display); !ok) {
        return std::unexpected(ok.error());
    }
    for (const auto& account : request.accounts) {
        if (auto ok = check_name("account name", account); !ok) return std::unexpected(ok.error());
    }
    User user{request.name,       request.email, request.display, request.groups,
              clock_->epoch_ms(), false,         std::nullopt,    request.accounts};
    sort_unique(user.groups);
    sort_unique(user.accounts);
    auto done = update([&](AccessSnapshot& snapshot) -> util::Status {
        if (const User* existing = snapshot.find_user(user.name)) {
            return util::fail(ErrorCode::bad_input, "user " + ticked(user.name) +
                                                        " already exists" +
                                                        (existing->disabled ? " (disabled)" : ""));
        }
        if (snapshot.has_group(user.name)) {
            return util::fail(ErrorCode::bad_input,
                              ticked(user.name) + " is a group; give the user another name");
        }
        if (auto ok = check_groups(snapshot, user.groups, user.name); !ok) return ok;
        snapshot.users.push_back(user);
        return {};
    });
    if (!done) return std::unexpected(done.error());
    return user;
}

util::Result<User> AccessStore::add_to_groups(const std::string& name,
                                              const std::vector<std::string>& groups) {
    User result;
    auto done = update([&](AccessSnapshot& snapshot) -> util::Status {
        User* user = snapshot.find_user(name);
        if (user == nullptr) return no_user(name);
        if (auto ok = check_groups(snapshot, groups); !ok) return ok;
        user->groups.insert(user->groups.end(), groups.begin(), groups.end());
        sort_unique(user->groups);
        result = *user;
        return {};
    });
    if (!done) return std::unexpected(done.error());
    return result;
}

util::Result<User> AccessStore::remove_from_groups(const std::string& name,
                                                   const std::vector<std::string>& groups) {
    User result;
    auto done = update([&](AccessSnapshot& snapshot) -> util::Status {
        User* user = snapshot.find_user(name);
        if (user == nullptr) return no_user(name);
        for (const auto& group : groups) {
            if (!std::ranges::binary_search(user->groups, group)) {
                return util::fail(ErrorCode::not_found,
                                  "user " + ticked(name) + " is not in group " + ticked(group));
            }
        }
        std::erase_if(user->groups, [&](const std::string& g) {
            return std::ranges::find(groups, g) != groups.end();
        });
        result = *user;
        return {};
    });
    if (!done) return std::unexpected(done.error());
    return result;
}

util::Result<IssuedToken> AccessStore::add_token(const std::string& user,
                                                 const std::string& label) {
    if (auto ok = check_free_text("token label", label); !ok) return std::unexpected(ok.error());
    IssuedToken issued;
    auto done = update([&](AccessSnapshot& snapshot) -> util::Status {
        const User* owner = snapshot.find_user(user);
        if (owner == nullptr) return no_user(user);
        if (owner->disabled) {
            return util::fail(ErrorCode::conflict,
                              "user " + ticked(user) + " is disabled (revoked); no new tokens");
        }
        // Ids are 24 random bits: a clash with an existing one is rare but possible.
        std::string id;
        for (int attempt = 0; attempt < 100 && (id.empty() || snapshot.find_token(id)); ++attempt) {
            auto fresh = new_token_id();
            if (!fresh) return std::unexpected(fresh.error());
            id = *fresh;
        }
        if (snapshot.find_token(id) != nullptr) {
            return util::fail(ErrorCode::internal, "cannot find an unused token id");
        }
        auto secret = new_user_token(id);
        if (!secret) return std::unexpected(secret.error());
        auto hash = hash_secret(*secret);
        if (!hash) return std::unexpected(hash.error());
        std::int64_t now = clock_->epoch_ms();
        snapshot.tokens.push_back(TokenRecord{id, user, label, *hash, now, std::nullopt});
        issued = IssuedToken{id, user, label, std::move(*secret), now};
        return {};
    });
    if (!done) return std::unexpected(done.error());
    return issued;
}

util::Result<RevokeOutcome> AccessStore::revoke(const std::string& target) {
    RevokeOutcome outcome;
    auto done = update([&](AccessSnapshot& snapshot) -> util::Status {
        std::int64_t now = clock_->epoch_ms();
        if (is_token_id(target)) {
            auto it = std::ranges::find(snapshot.tokens, target, &TokenRecord::id);
            if (it == snapshot.tokens.end()) {
                return util::fail(ErrorCode::not_found, "there is no token " + target);
            }
            outcome.user = it->user;
            if (!it->revoked()) {
                it->revoked_ms = now;
                outcome.revoked_tokens.push_back(it->id);
            }
            return {};
        }
        User* user = snapshot.find_user(target);
        if (user == nullptr) {
            return util::fail(ErrorCode::not_found, "there is no user or token " + ticked(target) +
                                                        " (`sluice access list` shows them)");
        }
        outcome.user = user->name;
        for (auto& token : snapshot.tokens) {
            if (token.user == user->name && !token.revoked()) {
                token.revoked_ms = now;
                outcome.revoked_tokens.push_back(token.id);
            }
        }
        if (!user->disabled) {
            user->disabled = true;
            user->disabled_ms = now;
            outcome.disabled_user = true;
        }
        return {};
    });
    if (!done) return std::unexpected(done.error());
    return outcome;
}

util::Result<IssuedEnvironmentToken> AccessStore::protect_environment(
    const std::string& environment) {
    if (auto ok = check_name("environment name", environment); !ok) {
        return std::unexpected(ok.error());
    }
    IssuedEnvironmentToken issued;
    auto done = update([&](AccessSnapshot& snapshot) -> util::Status {
        auto secret = new_environment_token();
        if (!secret) return std::unexpected(secret.error());
        auto hash = hash_secret(*secret);
        if (!hash) return std::unexpected(hash.error());
        std::int64_t now = clock_->epoch_ms();
        auto it =
            std::ranges::find(snapshot.environments, environment, &ProtectedEnvironment::name);
        bool replaced = it != snapshot.environments.end();
        if (replaced) {
            it->hash = *hash;
            it->created_ms = now;
        } else {
            snapshot.environments.push_back(ProtectedEnvironment{environment, *hash, now});
        }
        issued = IssuedEnvironmentToken{environment, std::move(*secret), now, replaced};
        return {};
    });
    if (!done) return std::unexpected(done.error());
    return issued;
}

}  // namespace sluice::access
