// Installing and removing sluice's hooks. Foreign hooks are only ever renamed (never
// rewritten), so putting them back restores the very same file.
#include "runner/hooks/install.hpp"

#include <unistd.h>

#include <array>
#include <fstream>
#include <sstream>

#include "runner/hooks/scripts.hpp"

namespace sluice::hooks {

namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 3> k_all_hooks{k_pre_push, k_post_commit, k_post_merge};
constexpr fs::perms k_hook_mode = fs::perms::owner_all | fs::perms::group_read |
                                  fs::perms::group_exec | fs::perms::others_read |
                                  fs::perms::others_exec;  // 0755, as git's samples
constexpr std::string_view k_new_suffix = ".sluice-new";

util::Result<std::string> read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return util::fail(util::ErrorCode::io, "cannot read " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

bool present(const fs::path& path) {
    std::error_code ec;
    return fs::exists(fs::symlink_status(path, ec));
}

// A regular file (not a symlink) that sluice wrote.
bool is_ours(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_regular_file(fs::symlink_status(path, ec))) return false;
    auto text = read_text(path);
    return text && is_sluice_hook(*text);
}

fs::path chained_path(const fs::path& hook) {
    return fs::path(hook.string() + std::string(k_chained_suffix));
}

util::Status rename_file(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    fs::rename(from, to, ec);
    if (ec) {
        return util::fail(util::ErrorCode::io, "cannot rename " + from.string() + " to " +
                                                   to.string() + ": " + ec.message());
    }
    return {};
}

// Writes text beside `path` with mode 0755; the caller renames it into place.
util::Result<fs::path> write_new(const fs::path& path, const std::string& text) {
    fs::path temp(path.string() + std::string(k_new_suffix));
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        out << text;
        out.close();
        if (!out) return util::fail(util::ErrorCode::io, "cannot write " + temp.string());
    }
    std::error_code ec;
    fs::permissions(temp, k_hook_mode, fs::perm_options::replace, ec);
    if (ec) {
        fs::remove(temp, ec);
        return util::fail(util::ErrorCode::io, "cannot make " + temp.string() + " executable");
    }
    return temp;
}

struct Wanted {
    std::string name;
    std::string script;
};

util::Result<InstalledHook> install_one(const fs::path& dir, const Wanted& want) {
    InstalledHook hook;
    hook.name = want.name;
    hook.path = dir / want.name;
    const fs::path chained = chained_path(hook.path);

    if (is_ours(hook.path)) {
        auto current = read_text(hook.path);
        std::error_code ec;
        auto mode = fs::status(hook.path, ec).permissions();
        hook.chains = present(chained);
        if (current && *current == want.script && !ec && mode == k_hook_mode) {
            hook.action = HookAction::unchanged;
            return hook;
        }
        hook.action = HookAction::updated;
    } else if (present(hook.path)) {
        hook.action = HookAction::chained;  // checked in install(): no chained file yet
        hook.chains = true;
    } else {
        hook.action = HookAction::created;
        hook.chains = present(chained);  // left from before: still run first
    }

    auto temp = write_new(hook.path, want.script);
    if (!temp) return std::unexpected(temp.error());
    if (hook.action == HookAction::chained) {
        if (auto st = rename_file(hook.path, chained); !st) {
            std::error_code ec;
            fs::remove(*temp, ec);
            return std::unexpected(st.error());
        }
    }
    if (auto st = rename_file(*temp, hook.path); !st) return std::unexpected(st.error());
    return hook;
}

}  // namespace

const char* to_string(HookAction action) {
    switch (action) {
        case HookAction::created:
            return "created";
        case HookAction::updated:
            return "updated";
        case HookAction::unchanged:
            return "unchanged";
        case HookAction::chained:
            return "chained";
    }
    return "?";
}

util::Result<InstallReport> install(const fs::path& repo_dir, const InstallOptions& options) {
    const fs::path& sluice = options.sluice_path;
    if (sluice.empty() || !sluice.is_absolute()) {
        return util::fail(
            util::ErrorCode::bad_input,
            "the hooks need the absolute path of sluice, got `" + sluice.string() + "`");
    }
    std::error_code ec;
    if (!fs::is_regular_file(sluice, ec) || access(sluice.c_str(), X_OK) != 0) {
        return util::fail(util::ErrorCode::bad_input,
                          sluice.string() + " is not an executable file");
    }
    if (options.async && !options.post_commit && !options.post_merge) {
        return util::fail(util::ErrorCode::bad_input,
                          "--async is for the post-commit and post-merge hooks; add --post-commit "
                          "or --post-merge (pre-push always waits for the pipeline)");
    }
    auto dir = find_hooks_dir(repo_dir);
    if (!dir) return std::unexpected(dir.error());
    if (dir->work_tree.empty()) {
        // git runs a bare repository's pre-push only for pushes made from it, and there
        // is no checkout of sluice.yml to run: such a hook could never run the pipeline.
        return util::fail(util::ErrorCode::bad_input,
                          repo_dir.string() + " is a bare repository: it has no working tree "
                          "and no sluice.yml checked out for a hook to run; install the hooks "
                          "in a clone where you commit and push (`sluice hooks install` there)");
    }

    std::vector<Wanted> wanted{{std::string(k_pre_push), pre_push_script(sluice.string())}};
    if (options.post_commit) {
        wanted.push_back({std::string(k_post_commit),
                          post_script(k_post_commit, sluice.string(), options.async)});
    }
    if (options.post_merge) {
        wanted.push_back(
            {std::string(k_post_merge), post_script(k_post_merge, sluice.string(), options.async)});
    }

    // Refuse before changing anything: a foreign hook cannot be chained when a chained
    // original is in the way (it would be lost).
    for (const Wanted& w : wanted) {
        const fs::path path = dir->path / w.name;
        if (fs::is_directory(fs::symlink_status(path, ec))) {
            return util::fail(util::ErrorCode::conflict, path.string() + " is a directory");
        }
        if (present(path) && !is_ours(path) && present(chained_path(path))) {
            return util::fail(util::ErrorCode::conflict,
                              path.string() + " is not sluice's hook and " +
                                  chained_path(path).filename().string() +
                                  " exists already; move one of them away and install again");
        }
    }

    fs::create_directories(dir->path, ec);
    if (ec) {
        return util::fail(util::ErrorCode::io, "cannot create the hooks directory " +
                                                   dir->path.string() + ": " + ec.message());
    }
    InstallReport report;
    report.dir = *dir;
    for (const Wanted& w : wanted) {
        auto hook = install_one(dir->path, w);
        if (!hook) return std::unexpected(hook.error());
        report.hooks.push_back(std::move(*hook));
    }
    return report;
}

util::Result<UninstallReport> uninstall(const fs::path& repo_dir) {
    auto dir = find_hooks_dir(repo_dir);
    if (!dir) return std::unexpected(dir.error());
    UninstallReport report;
    report.dir = *dir;
    for (std::string_view name : k_all_hooks) {
        RemovedHook hook;
        hook.name = std::string(name);
        hook.path = dir->path / hook.name;
        const fs::path chained = chained_path(hook.path);
        std::error_code ec;
        fs::remove(fs::path(hook.path.string() + std::string(k_new_suffix)),
                   ec);  // a crash's leftover

        if (is_ours(hook.path)) {
            fs::remove(hook.path, ec);
            if (ec) {
                return util::fail(util::ErrorCode::io,
                                  "cannot remove " + hook.path.string() + ": " + ec.message());
            }
            hook.removed = true;
        } else if (present(hook.path)) {
            if (present(chained)) {
                hook.note = hook.name + " is not sluice's hook (it was replaced); left it and " +
                            chained.filename().string() + " alone";
                report.hooks.push_back(std::move(hook));
            }
            continue;
        }
        if (present(chained)) {
            if (auto st = rename_file(chained, hook.path); !st) return std::unexpected(st.error());
            hook.restored = true;
        }
        if (hook.removed || hook.restored) report.hooks.push_back(std::move(hook));
    }
    return report;
}

std::vector<std::string> describe(const InstallReport& report) {
    std::vector<std::string> lines;
    for (const InstalledHook& h : report.hooks) {
        std::string line = h.name + ": ";
        switch (h.action) {
            case HookAction::created:
                line += "installed " + h.path.string();
                break;
            case HookAction::updated:
                line += "updated " + h.path.string();
                break;
            case HookAction::unchanged:
                line += "already installed at " + h.path.string();
                break;
            case HookAction::chained:
                line += "installed " + h.path.string() + "; the hook that was there is kept as " +
                        h.name + std::string(k_chained_suffix) + " and runs first";
                break;
        }
        if (h.chains && h.action != HookAction::chained) {
            line += " (runs " + h.name + std::string(k_chained_suffix) + " first)";
        }
        lines.push_back(std::move(line));
    }
    if (report.dir.from_config) {
        lines.push_back("the hooks directory comes from core.hooksPath (" +
                        report.dir.path.string() + ")");
    }
    if (!report.dir.inside_repository) {
        lines.push_back(
            "warning: core.hooksPath points outside this repository: the hooks act "
            "on every repository that uses " +
            report.dir.path.string());
    }
    return lines;
}

std::vector<std::string> describe(const UninstallReport& report) {
    std::vector<std::string> lines;
    for (const RemovedHook& h : report.hooks) {
        if (!h.note.empty()) {
            lines.push_back(h.name + ": " + h.note);
        } else if (h.removed && h.restored) {
            lines.push_back(h.name + ": removed sluice's hook and put back the original");
        } else if (h.removed) {
            lines.push_back(h.name + ": removed sluice's hook");
        } else {
            lines.push_back(h.name + ": put back the original hook");
        }
    }
    if (lines.empty()) lines.push_back("no sluice hooks in " + report.dir.path.string());
    return lines;
}

}  // namespace sluice::hooks
