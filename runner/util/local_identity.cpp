// Who this process runs as: the passwd entry of its effective uid, cross-checked
// against $USER and $LOGNAME.
#include "runner/util/local_identity.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace sluice::util {

TriggerIdentity identity_from(const AccountFacts& facts) {
    TriggerIdentity out;
    out.source = "passwd";
    out.uid = facts.uid;
    if (facts.account && !facts.account->empty()) out.name = *facts.account;
    for (const std::string& claim : {facts.user_env, facts.logname_env}) {
        if (claim.empty() || claim == out.name) continue;
        if (std::find(out.claimed.begin(), out.claimed.end(), claim) == out.claimed.end()) {
            out.claimed.push_back(claim);
        }
    }
    if (out.known()) return out;
    std::string why = facts.lookup_error.empty()
                          ? "no passwd entry for uid " + std::to_string(facts.uid)
                          : "the passwd entry of uid " + std::to_string(facts.uid) +
                                " could not be read: " + facts.lookup_error;
    if (out.claimed.empty()) {
        why += " and $USER unset";
    } else {
        why += "; $USER or $LOGNAME (" + out.claimed.front() + ") alone cannot be checked";
    }
    out.unknown_why = why;
    return out;
}

AccountFacts current_account_facts() {
    AccountFacts facts;
    const uid_t uid = ::geteuid();
    facts.uid = static_cast<long long>(uid);
    long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(hint > 0 ? static_cast<std::size_t>(hint) : 1024);
    for (;;) {
        passwd entry{};
        passwd* found = nullptr;
        int rc = ::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found);
        if (rc == ERANGE && buffer.size() < (std::size_t{1} << 20)) {
            buffer.resize(buffer.size() * 2);
            continue;
        }
        if (rc == 0 && found != nullptr && found->pw_name != nullptr) {
            facts.account = std::string(found->pw_name);
        } else if (rc != 0 && rc != ENOENT && rc != ESRCH) {
            facts.lookup_error = std::strerror(rc);
        }
        break;
    }
    if (const char* user = std::getenv("USER"); user != nullptr) facts.user_env = user;
    if (const char* name = std::getenv("LOGNAME"); name != nullptr) facts.logname_env = name;
    return facts;
}

TriggerIdentity local_identity() { return identity_from(current_account_facts()); }

}  // namespace sluice::util
