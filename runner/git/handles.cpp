// libgit2 initialisation, errors and small helpers shared by runner/git.
#include "runner/git/handles.hpp"

#include <mutex>

namespace sluice::git {

void ensure_initialized() {
    static std::once_flag once;
    std::call_once(once, [] {
        git_libgit2_init();
        // libgit2 hashes every object it reads again to check its id (with SHA-1DC, the
        // slow collision-detecting SHA-1): a third of a checkout's CPU time. git itself
        // checks ids on fetch and fsck, not on every read; so do we (a fetch's indexer
        // still hashes everything it receives).
        git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
    });
}

std::string last_error() {
    const git_error* e = git_error_last();
    return e != nullptr && e->message != nullptr ? e->message : "unknown libgit2 error";
}

std::unexpected<util::Error> git_failure(util::ErrorCode code, const std::string& what) {
    return util::fail(code, what + ": " + last_error());
}

util::Result<RepoPtr> open_repository(const std::filesystem::path& path, bool search) {
    ensure_initialized();
    git_repository* raw = nullptr;
    unsigned flags = search ? 0 : GIT_REPOSITORY_OPEN_NO_SEARCH;
    int rc = git_repository_open_ext(&raw, path.c_str(), flags, nullptr);
    if (rc == GIT_ENOTFOUND) {
        return util::fail(util::ErrorCode::not_found, "not a git repository: " + path.string());
    }
    if (rc != 0) {
        return git_failure(util::ErrorCode::io, "cannot open git repository " + path.string());
    }
    return RepoPtr(raw);
}

std::string to_hex(const git_oid& oid) {
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, &oid);
    return hex;
}

std::filesystem::path common_dir(git_repository* repo) {
    return std::filesystem::path(git_repository_commondir(repo));
}

}  // namespace sluice::git
