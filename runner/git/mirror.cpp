// Bare mirrors of remote repositories, created and fetched with libgit2 under a lock.
#include "runner/git/mirror.hpp"

#include "runner/git/full_checkout.hpp"
#include "runner/git/handles.hpp"
#include "runner/util/file_lock.hpp"
#include "runner/util/sha256.hpp"

namespace sluice::git {

namespace {

constexpr const char* k_remote = "origin";
constexpr const char* k_mirror_refspec = "+refs/*:refs/*";

bool has_scheme(const std::string& url) {
    auto colon = url.find("://");
    if (colon != std::string::npos && colon > 0) return true;
    // scp-like ssh syntax: user@host:path
    auto at = url.find('@');
    auto c = url.find(':');
    return at != std::string::npos && c != std::string::npos && at < c && url.find('/') > c;
}

util::Result<RepoPtr> open_or_create(const std::filesystem::path& dir, const std::string& url) {
    auto existing = open_repository(dir, false);
    RepoPtr repo;
    if (existing && git_repository_is_bare(existing->get()) != 0) {
        repo = std::move(*existing);
    } else {
        // Missing, or left half-made by a process that died: start again.
        existing = {};
        auto removed = remove_tree(dir);
        if (!removed) return std::unexpected(removed.error());
        git_repository* raw = nullptr;
        if (git_repository_init(&raw, dir.c_str(), 1) != 0) {
            return git_failure(util::ErrorCode::io, "cannot create the mirror " + dir.string());
        }
        repo.reset(raw);
    }
    git_remote* remote_raw = nullptr;
    if (git_remote_lookup(&remote_raw, repo.get(), k_remote) == 0) {
        RemotePtr remote(remote_raw);
        if (url != git_remote_url(remote.get()) &&
            git_remote_set_url(repo.get(), k_remote, url.c_str()) != 0) {
            return git_failure(util::ErrorCode::io, "cannot set the URL of " + dir.string());
        }
        return repo;
    }
    if (git_remote_create_with_fetchspec(&remote_raw, repo.get(), k_remote, url.c_str(),
                                         k_mirror_refspec) != 0) {
        return git_failure(util::ErrorCode::io, "cannot configure the mirror " + dir.string());
    }
    RemotePtr remote(remote_raw);
    git_config* config_raw = nullptr;
    if (git_repository_config(&config_raw, repo.get()) == 0) {
        ConfigPtr config(config_raw);
        git_config_set_bool(config.get(), "remote.origin.mirror", 1);
        git_config_set_int32(config.get(), "gc.auto", 0);
    }
    return repo;
}

}  // namespace

std::string normalize_remote_url(const std::string& url) {
    std::string out = url;
    if (!has_scheme(url)) {
        std::error_code ec;
        auto absolute = std::filesystem::absolute(url, ec);
        out = (ec ? std::filesystem::path(url) : absolute).lexically_normal().string();
    }
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    return out;
}

std::filesystem::path mirror_dir(const std::filesystem::path& state_dir, const std::string& url) {
    return state_dir / "mirrors" / util::sha256_hex(normalize_remote_url(url));
}

util::Result<std::filesystem::path> mirror(const std::filesystem::path& state_dir,
                                           const std::string& url) {
    ensure_initialized();
    const std::string normal = normalize_remote_url(url);
    const auto dir = mirror_dir(state_dir, url);
    std::error_code ec;
    std::filesystem::create_directories(dir.parent_path(), ec);
    if (ec) {
        return util::fail(util::ErrorCode::io,
                          "cannot create " + dir.parent_path().string() + ": " + ec.message());
    }
    auto lock = util::FileLock::acquire(dir.string() + ".lock");
    if (!lock) return std::unexpected(lock.error());

    auto repo = open_or_create(dir, normal);
    if (!repo) return std::unexpected(repo.error());
    git_remote* remote_raw = nullptr;
    if (git_remote_lookup(&remote_raw, repo->get(), k_remote) != 0) {
        return git_failure(util::ErrorCode::io, "cannot read the mirror's remote");
    }
    RemotePtr remote(remote_raw);
    git_fetch_options options = GIT_FETCH_OPTIONS_INIT;
    options.prune = GIT_FETCH_PRUNE;
    options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
    options.proxy_opts.type = GIT_PROXY_AUTO;
    if (git_remote_fetch(remote.get(), nullptr, &options, "sluice: mirror") != 0) {
        return git_failure(util::ErrorCode::io, "cannot fetch " + normal);
    }
    // The remote's HEAD, so that the mirror's HEAD names its default branch as a clone's
    // would; a remote without one (empty) keeps the initial HEAD.
    Buf head;
    if (git_remote_default_branch(head.get(), remote.get()) == 0) {
        git_repository_set_head(repo->get(), head.str().c_str());
    }
    return dir;
}

}  // namespace sluice::git
