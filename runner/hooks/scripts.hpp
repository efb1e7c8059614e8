// The text of the hook scripts sluice installs (POSIX sh). Each carries a marker line
// so install and uninstall can tell sluice's hooks from anyone else's.
#pragma once

#include <string>
#include <string_view>

namespace sluice::hooks {

// The hooks sluice can install.
inline constexpr std::string_view k_pre_push = "pre-push";
inline constexpr std::string_view k_post_commit = "post-commit";
inline constexpr std::string_view k_post_merge = "post-merge";

// A hook that was there before sluice's is kept beside it under this suffix, and run
// first by sluice's hook.
inline constexpr std::string_view k_chained_suffix = ".sluice-chained";

// The start of the marker line in every hook sluice writes.
inline constexpr std::string_view k_marker = "# sluice-hook:";

// Whether a hook's text is one sluice wrote (it has a line starting with k_marker).
bool is_sluice_hook(std::string_view text);

// The pre-push hook: for each pushed branch or tag (deletions skipped) it runs
//   SLUICE run --event push --branch B|--tag T --commit SHA [--before OLD] --trigger hook
//              --id-file FILE
// in the top of the work tree and blocks the push when that fails.
std::string pre_push_script(const std::string& sluice_path);

// The post-commit or post-merge hook: runs the pipeline for HEAD on the current
// branch (nothing on a detached HEAD, e.g. during a rebase), with --before the
// previous commit (HEAD^ after a commit, ORIG_HEAD after a merge). With `async` it
// starts sluice detached (setsid, nohup) with its output in STATE/hooks/*.log and
// returns at once.
std::string post_script(std::string_view hook, const std::string& sluice_path, bool async);

}  // namespace sluice::hooks
