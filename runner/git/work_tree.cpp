// Finding a repository's work tree and keeping sluice's state out of `git status`.
#include <fstream>
#include <sstream>

#include "runner/git/handles.hpp"
#include "runner/git/head.hpp"

namespace sluice::git {

std::optional<std::filesystem::path> work_tree_root(const std::filesystem::path& dir) {
    // A work tree has `.git` (a directory, or a file naming one) at its root. Without one
    // in dir or above it there is no work tree to find, and libgit2 need not start (its
    // start reads the system's CA bundle: milliseconds).
    bool any = false;
    std::error_code ec;
    for (auto d = std::filesystem::absolute(dir, ec); !ec && !any; d = d.parent_path()) {
        any = std::filesystem::exists(d / ".git", ec);
        if (d == d.parent_path()) break;
    }
    if (!any && !ec) return std::nullopt;
    ensure_initialized();
    git_repository* raw = nullptr;
    if (git_repository_open_ext(&raw, dir.c_str(), 0, nullptr) != 0) return std::nullopt;
    RepoPtr repo(raw);
    const char* workdir = git_repository_workdir(repo.get());
    if (workdir == nullptr) return std::nullopt;  // bare
    return std::filesystem::path(workdir).lexically_normal().parent_path();
}

util::Status exclude_in_repository(const std::filesystem::path& root, const std::string& pattern) {
    ensure_initialized();
    git_repository* raw = nullptr;
    if (git_repository_open_ext(&raw, root.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) != 0) {
        return util::fail(util::ErrorCode::io, "cannot open git repository at " + root.string() +
                                                   ": " + last_error());
    }
    RepoPtr repo(raw);
    // info/exclude lives in the common directory (shared by linked worktrees).
    std::filesystem::path common = git_repository_commondir(repo.get());
    std::filesystem::path exclude = common / "info" / "exclude";
    std::ifstream in(exclude);
    std::stringstream existing;
    existing << in.rdbuf();
    std::string line;
    while (std::getline(existing, line)) {
        if (line == pattern) return {};
    }
    std::error_code ec;
    std::filesystem::create_directories(exclude.parent_path(), ec);
    std::string text = existing.str();
    std::ofstream out(exclude, std::ios::app);
    if (!text.empty() && text.back() != '\n') out << '\n';
    out << "# sluice's state directory\n" << pattern << '\n';
    if (!out) return util::fail(util::ErrorCode::io, "cannot write " + exclude.string());
    return {};
}

}  // namespace sluice::git
