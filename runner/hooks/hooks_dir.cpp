// Finding the hooks directory with libgit2 (and core.hooksPath by hand).
#include "runner/hooks/hooks_dir.hpp"

#include <memory>
#include <optional>
#include <string>

#include "runner/git/handles.hpp"

namespace sluice::hooks {

namespace {

using ConfigPtr = std::unique_ptr<git_config, git::Deleter<git_config, git_config_free>>;

// A git_buf that frees itself.
struct Buf {
    git_buf buf = GIT_BUF_INIT;
    Buf() = default;
    Buf(const Buf&) = delete;
    Buf& operator=(const Buf&) = delete;
    ~Buf() { git_buf_dispose(&buf); }
    std::string str() const { return buf.ptr != nullptr ? std::string(buf.ptr, buf.size) : ""; }
};

std::filesystem::path normal(const std::filesystem::path& p) {
    auto out = p.lexically_normal();
    if (!out.has_filename() && out.has_parent_path() && out != out.root_path()) {
        out = out.parent_path();  // "x/hooks/" -> "x/hooks"
    }
    return out;
}

bool is_under(const std::filesystem::path& path, const std::filesystem::path& base) {
    if (base.empty()) return false;
    std::error_code ec;
    auto p = std::filesystem::weakly_canonical(path, ec);
    if (ec) p = path;
    auto b = std::filesystem::weakly_canonical(base, ec);
    if (ec) b = base;
    auto rel = p.lexically_relative(b);
    return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

util::Result<HooksDir> find_hooks_dir(const std::filesystem::path& dir) {
    git::ensure_initialized();
    git_repository* raw = nullptr;
    int rc = git_repository_open_ext(&raw, dir.c_str(), 0, nullptr);
    if (rc == GIT_ENOTFOUND) {
        return util::fail(util::ErrorCode::not_found, "not in a git repository: " + dir.string());
    }
    if (rc != 0) {
        return util::fail(util::ErrorCode::io, "cannot open the git repository at " + dir.string() +
                                                   ": " + git::last_error());
    }
    git::RepoPtr repo(raw);

    HooksDir out;
    const char* workdir = git_repository_workdir(repo.get());
    if (workdir != nullptr) out.work_tree = normal(workdir);
    const std::filesystem::path git_dir = normal(git_repository_path(repo.get()));
    const std::filesystem::path common_dir = normal(git_repository_commondir(repo.get()));

    git_config* config_raw = nullptr;
    if (git_repository_config_snapshot(&config_raw, repo.get()) != 0) {
        return util::fail(util::ErrorCode::io,
                          "cannot read the git configuration: " + git::last_error());
    }
    ConfigPtr config(config_raw);
    Buf configured;
    rc = git_config_get_path(&configured.buf, config.get(), "core.hooksPath");
    if (rc != 0 && rc != GIT_ENOTFOUND) {
        return util::fail(util::ErrorCode::io, "cannot read core.hooksPath: " + git::last_error());
    }
    if (rc == 0 && !configured.str().empty()) {
        std::filesystem::path p = configured.str();
        // git runs hooks from the top of the work tree (the git directory when bare),
        // and a relative core.hooksPath is resolved from there.
        if (p.is_relative()) p = (out.work_tree.empty() ? git_dir : out.work_tree) / p;
        out.path = normal(p);
        out.from_config = true;
        out.inside_repository = is_under(out.path, common_dir) || is_under(out.path, git_dir) ||
                                is_under(out.path, out.work_tree);
        return out;
    }

    Buf item;
    if (git_repository_item_path(&item.buf, repo.get(), GIT_REPOSITORY_ITEM_HOOKS) != 0) {
        return util::fail(util::ErrorCode::io,
                          "cannot find the hooks directory: " + git::last_error());
    }
    out.path = normal(item.str());
    return out;
}

}  // namespace sluice::hooks
