// Look-ups over an access snapshot.
#include "runner/access/access_model.hpp"

#include <algorithm>

namespace sluice::access {

const User* AccessSnapshot::find_user(const std::string& name) const {
    auto it = std::ranges::find(users, name, &User::name);
    return it == users.end() ? nullptr : &*it;
}

User* AccessSnapshot::find_user(const std::string& name) {
    auto it = std::ranges::find(users, name, &User::name);
    return it == users.end() ? nullptr : &*it;
}

const TokenRecord* AccessSnapshot::find_token(const std::string& id) const {
    auto it = std::ranges::find(tokens, id, &TokenRecord::id);
    return it == tokens.end() ? nullptr : &*it;
}

const ProtectedEnvironment* AccessSnapshot::find_environment(const std::string& name) const {
    auto it = std::ranges::find(environments, name, &ProtectedEnvironment::name);
    return it == environments.end() ? nullptr : &*it;
}

bool AccessSnapshot::has_group(const std::string& name) const {
    return std::ranges::any_of(
        users, [&](const User& u) { return std::ranges::binary_search(u.groups, name); });
}

std::map<std::string, std::vector<std::string>> AccessSnapshot::groups() const {
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& user : users) {
        for (const auto& group : user.groups) out[group].push_back(user.name);
    }
    for (auto& [group, members] : out) std::ranges::sort(members);
    return out;
}

}  // namespace sluice::access
