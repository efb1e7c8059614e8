// `sluice hooks install` and `sluice hooks uninstall`: writing sluice's git hooks into
// a repository's hooks directory, chaining the hooks that were there before (kept
// byte for byte, mode included, under NAME.sluice-chained) and putting them back.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "runner/hooks/hooks_dir.hpp"
#include "runner/util/error.hpp"

namespace sluice::hooks {

struct InstallOptions {
    std::filesystem::path sluice_path;  // absolute path of the sluice binary the hooks call
    bool post_commit = false;           // also run the pipeline after each commit
    bool post_merge = false;            // ... and after each merge (git pull, git merge)
    bool async = false;                 // post-commit/post-merge run in the background
};

enum class HookAction {
    created,    // there was no hook
    updated,    // sluice's hook was there, with different text (e.g. another sluice path)
    unchanged,  // sluice's hook was there already, the same
    chained,    // another hook was there: it is now NAME.sluice-chained, run first
};

const char* to_string(HookAction action);

struct InstalledHook {
    std::string name;  // pre-push, post-commit, post-merge
    std::filesystem::path path;
    HookAction action = HookAction::created;
    bool chains = false;  // NAME.sluice-chained exists and is run first
};

struct InstallReport {
    HooksDir dir;
    std::vector<InstalledHook> hooks;
};

// Installs pre-push (and post-commit/post-merge when asked) in the hooks directory of
// the repository containing repo_dir, creating the directory if needed. Installing
// again is harmless. Fails (changing nothing) with bad_input for a sluice_path that is
// not an absolute path to an executable file or for `async` without a post hook, and
// with conflict when a foreign hook and a NAME.sluice-chained both exist already.
util::Result<InstallReport> install(const std::filesystem::path& repo_dir,
                                    const InstallOptions& options);

struct RemovedHook {
    std::string name;
    std::filesystem::path path;
    bool removed = false;   // sluice's hook was deleted
    bool restored = false;  // NAME.sluice-chained was renamed back to NAME
    std::string note;       // why something was left alone
};

struct UninstallReport {
    HooksDir dir;
    std::vector<RemovedHook> hooks;  // only the hooks where there was something to do
};

// Removes every hook sluice installed there and renames each chained original back
// (the same file: bytes, mode and times unchanged). A hook that is not sluice's is
// never touched; if a chained original sits beside one, both are left and a note says so.
util::Result<UninstallReport> uninstall(const std::filesystem::path& repo_dir);

// Lines for the terminal: "pre-push: installed in /r/.git/hooks/pre-push (runs the
// hook that was there first, kept as pre-push.sluice-chained)" and the like.
std::vector<std::string> describe(const InstallReport& report);
std::vector<std::string> describe(const UninstallReport& report);

}  // namespace sluice::hooks
