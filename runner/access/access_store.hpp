// The access file in the state directory (STATE/access.json): users, groups, hashed
// tokens and protected environments. Every change is a read-modify-write under an
// exclusive lock on STATE/access.json.lock, written atomically with mode 0600, so two
// `sluice access` processes never lose each other's change and readers never see half
// a file. A file this sluice cannot read (corrupted, newer) is an error and is never
// overwritten.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "runner/access/access_model.hpp"
#include "runner/util/clock.hpp"
#include "runner/util/error.hpp"

namespace sluice::access {

struct NewUser {
    std::string name;
    std::vector<std::string> groups;
    std::string email;    // optional
    std::string display;  // optional
    std::vector<std::string> accounts;  // optional: the OS accounts that are this person
};

// What revoke() did.
struct RevokeOutcome {
    std::string user;                         // whose token(s)
    std::vector<std::string> revoked_tokens;  // ids revoked by this call
    bool disabled_user = false;               // the user was disabled by this call
    bool changed() const { return disabled_user || !revoked_tokens.empty(); }
};

class AccessStore {
  public:
    // The access file of a state directory.
    static std::filesystem::path file_in(const std::filesystem::path& state_root) {
        return state_root / "access.json";
    }

    // The store of the file at `path` (which need not exist yet: then it is empty).
    // Reads it once, so a corrupted or newer file is reported here. `clock` stamps
    // records and must outlive the store.
    static util::Result<AccessStore> open(std::filesystem::path path, const util::Clock& clock);

    const std::filesystem::path& path() const { return path_; }

    // The file as it is now (no lock needed: it is only ever replaced whole).
    util::Result<AccessSnapshot> read() const;

    // A new user. bad_input for a bad name, email or group, for a name already taken
    // by a user or a group, and for a group named like a user.
    util::Result<User> add_user(const NewUser& user);

    // Adds `user` to / removes them from groups; returns the user as now stored.
    // not_found for an unknown user.
    util::Result<User> add_to_groups(const std::string& user,
                                     const std::vector<std::string>& groups);
    util::Result<User> remove_from_groups(const std::string& user,
                                          const std::vector<std::string>& groups);

    // A new token for `user`; its secret is in the result and nowhere else. not_found
    // for an unknown user, conflict for a disabled one.
    util::Result<IssuedToken> add_token(const std::string& user, const std::string& label);

    // A token id revokes that token; a user name revokes all their tokens and disables
    // the user. not_found when it names neither. Revoking again changes nothing.
    util::Result<RevokeOutcome> revoke(const std::string& user_or_token_id);

    // Protects `environment` with a new token (replacing an older one); the secret is
    // in the result and nowhere else.
    util::Result<IssuedEnvironmentToken> protect_environment(const std::string& environment);

  private:
    AccessStore(std::filesystem::path path, const util::Clock& clock);

    // Runs `change` on the file's current content under the lock and writes the result
    // when `change` succeeds. Nothing is written when reading or `change` fails.
    util::Status update(const std::function<util::Status(AccessSnapshot&)>& change);

    std::filesystem::path path_;
    std::filesystem::path lock_path_;
    const util::Clock* clock_;
};

}  // namespace sluice::access
