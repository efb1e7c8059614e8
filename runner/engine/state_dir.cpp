// Choosing and creating the state directory.
#include "runner/engine/state_dir.hpp"

#include "runner/git/head.hpp"

namespace sluice::engine {

util::Result<StateDir> open_state_dir(const std::optional<std::filesystem::path>& explicit_dir,
                                      const std::optional<std::filesystem::path>& env_dir,
                                      const std::filesystem::path& project_dir) {
    std::filesystem::path root;
    auto repo = git::work_tree_root(project_dir);
    if (explicit_dir) {
        root = *explicit_dir;
    } else if (env_dir && !env_dir->empty()) {
        root = *env_dir;
    } else {
        root = (repo ? *repo : project_dir) / ".sluice";
    }
    std::error_code ec;
    bool existed = std::filesystem::exists(root, ec);
    std::filesystem::create_directories(root, ec);
    if (ec) {
        return util::fail(util::ErrorCode::io,
                          "cannot create the state directory " + root.string() + ": " + ec.message());
    }
    root = std::filesystem::canonical(root, ec);
    if (!existed && repo) {
        auto rel = root.lexically_relative(std::filesystem::canonical(*repo, ec));
        if (!rel.empty() && *rel.begin() != "..") {
            auto st = git::exclude_in_repository(*repo, "/" + rel.generic_string() + "/");
            if (!st) return std::unexpected(st.error());
        }
    }
    return StateDir{root};
}

}  // namespace sluice::engine
