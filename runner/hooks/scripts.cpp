// Hook script templates. They are POSIX sh (dash runs them on Debian) and use only
// git and coreutils; the placeholders @NAME@ are filled in by fill().
#include "runner/hooks/scripts.hpp"

#include <utility>
#include <vector>

#include "runner/util/shell_quote.hpp"

namespace sluice::hooks {

namespace {

// Shared by every hook: where it lives, the hook it chains, and git's environment
// cleaned away before sluice runs (sluice finds the repository from the work tree).
// @SLUICE@ is filled in last, so a path that happens to hold `@HOOK@` stays as it is.
constexpr std::string_view k_prologue = R"sh(SLUICE=@SLUICE@
hook_dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd) || exit 1
chained="$hook_dir/@HOOK@.sluice-chained"

clean_git_env() {
    unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_PREFIX GIT_COMMON_DIR \
        GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
}

not_executable_hint() {
    echo "sluice: hint: @HOOK@.sluice-chained is not executable; not running it (git would not)" >&2
}

)sh";

constexpr std::string_view k_pre_push_body =
    R"sh(zero_sha() { case $1 in *[!0]*) return 1 ;; *) return 0 ;; esac; }

# git writes every pushed ref to stdin at once: keep them to give the chained hook too.
refs=$(cat)

if [ -f "$chained" ]; then
    if [ -x "$chained" ]; then
        if [ -n "$refs" ]; then printf '%s\n' "$refs"; fi | "$chained" "$@"
        status=$?
        if [ "$status" -ne 0 ]; then
            echo "sluice: the chained hook pre-push.sluice-chained failed (exit $status);" \
                "push blocked." >&2
            exit "$status"
        fi
    else
        not_executable_hint
    fi
fi

if [ "${SLUICE_SKIP:-}" = 1 ]; then
    echo "sluice: SLUICE_SKIP=1, not running the pipeline for this push" >&2
    exit 0
fi

top=$(git rev-parse --show-toplevel) || exit 1

while read -r local_ref local_sha remote_ref remote_sha <&3; do
    [ -n "$local_sha" ] || continue
    zero_sha "$local_sha" && continue    # a deletion: nothing to build
    case $remote_ref in
        refs/heads/*) kind=--branch name=${remote_ref#refs/heads/} ;;
        refs/tags/*) kind=--tag name=${remote_ref#refs/tags/} ;;
        *)
            echo "sluice: $remote_ref is neither a branch nor a tag; no pipeline for it" >&2
            continue ;;
    esac
    if ! commit=$(git rev-parse -q --verify "$local_sha^{commit}"); then
        echo "sluice: $local_ref is not a commit; no pipeline for it" >&2
        continue
    fi
    short=$(git rev-parse --short "$commit")
    # No pipeline in the pushed commit: nothing to run, as on the server.
    git cat-file -e "$commit:sluice.yml" 2>/dev/null || continue
    # The remote's old commit is the base of `changes:` when this repository has it.
    before=
    if [ "$kind" = --branch ] && ! zero_sha "$remote_sha" &&
        git cat-file -e "$remote_sha^{commit}" 2>/dev/null; then
        before=$remote_sha
    fi
    id_file=$(mktemp "${TMPDIR:-/tmp}/sluice-pre-push.XXXXXX") || exit 1
    (
        cd "$top" || exit 1
        clean_git_env
        exec "$SLUICE" run --event push "$kind" "$name" --commit "$commit" \
            ${before:+--before} ${before:+"$before"} --trigger hook --id-file "$id_file"
    ) </dev/null >&2
    status=$?
    run_id=$(cat "$id_file" 2>/dev/null)
    rm -f "$id_file"
    case $status in
        0) ;;
        3)
            echo "sluice: run $run_id for $remote_ref at $short is waiting for an approval;" \
                "push allowed." >&2 ;;
        *)
            if [ -n "$run_id" ]; then
                echo "sluice: the pipeline failed for $remote_ref at $short — push blocked." \
                    "See \`sluice show $run_id\`; SLUICE_SKIP=1 git push to bypass." >&2
            else
                echo "sluice: the pipeline could not run for $remote_ref at $short" \
                    "(exit $status) — push blocked. SLUICE_SKIP=1 git push to bypass." >&2
            fi
            exit 1 ;;
    esac
done 3<<SLUICE_REFS
$refs
SLUICE_REFS
exit 0
)sh";

constexpr std::string_view k_post_body = R"sh(ASYNC=@ASYNC@

if [ -f "$chained" ]; then
    if [ -x "$chained" ]; then
        "$chained" "$@" || {
            status=$?
            echo "sluice: the chained hook @HOOK@.sluice-chained failed (exit $status);" \
                "not running the pipeline" >&2
            exit "$status"
        }
    else
        not_executable_hint
    fi
fi

if [ "${SLUICE_SKIP:-}" = 1 ]; then
    echo "sluice: SLUICE_SKIP=1, not running the pipeline for this @WHAT@" >&2
    exit 0
fi

# A detached HEAD (a rebase, a bisect) has no branch to act as: nothing to run.
branch=$(git symbolic-ref -q --short HEAD) || exit 0
commit=$(git rev-parse -q --verify 'HEAD^{commit}') || exit 0
git cat-file -e "$commit:sluice.yml" 2>/dev/null || exit 0
before=$(git rev-parse -q --verify '@BEFORE@^{commit}') || before=
short=$(git rev-parse --short "$commit")
top=$(git rev-parse --show-toplevel) || exit 1
cd "$top" || exit 1

if [ "$ASYNC" = 1 ]; then
    # The log goes to the state directory, which sluice keeps out of `git status`:
    # when this creates it, it lists it in info/exclude as sluice would.
    state=${SLUICE_HOME:-$top/.sluice}
    if [ -z "${SLUICE_HOME:-}" ] && [ ! -d "$state" ]; then
        exclude=$(git rev-parse --git-path info/exclude) && mkdir -p "$(dirname -- "$exclude")" &&
            if ! grep -qxF '/.sluice/' "$exclude" 2>/dev/null; then
                if [ -s "$exclude" ] && [ -n "$(tail -c 1 "$exclude")" ]; then echo >>"$exclude"; fi
                printf "# sluice's state directory\n/.sluice/\n" >>"$exclude"
            fi
    fi
    mkdir -p "$state/hooks" || exit 1
    log="$state/hooks/$(date -u +%Y%m%dT%H%M%SZ)-@HOOK@-$$.log"
    detach=
    if command -v setsid >/dev/null 2>&1; then detach=setsid; fi
    clean_git_env
    nohup $detach "$SLUICE" run --event push --branch "$branch" --commit "$commit" \
        ${before:+--before} ${before:+"$before"} --trigger hook </dev/null >"$log" 2>&1 &
    echo "sluice: running the pipeline for $branch at $short in the background; log: $log" >&2
    exit 0
fi

clean_git_env
exec "$SLUICE" run --event push --branch "$branch" --commit "$commit" \
    ${before:+--before} ${before:+"$before"} --trigger hook </dev/null >&2
)sh";

std::string fill(std::string_view text,
                 const std::vector<std::pair<std::string, std::string>>& values) {
    std::string out(text);
    for (const auto& [key, value] : values) {
        const std::string placeholder = "@" + key + "@";
        for (auto at = out.find(placeholder); at != std::string::npos;
             at = out.find(placeholder, at + value.size())) {
            out.replace(at, placeholder.size(), value);
        }
    }
    return out;
}

std::string header(std::string_view hook, std::string_view what) {
    std::string out = "#!/bin/sh\n";
    out += std::string(k_marker) + " " + std::string(hook) + " (managed by sluice)\n";
    out += "# " + std::string(what) + "\n";
    out += "# `sluice hooks uninstall` removes this file and puts back the hook that was here\n";
    out += "# before (kept as " + std::string(hook) + std::string(k_chained_suffix) +
           ", which this one runs first).\n";
    return out;
}

}  // namespace

bool is_sluice_hook(std::string_view text) {
    if (text.starts_with(k_marker)) return true;
    return text.find("\n" + std::string(k_marker)) != std::string_view::npos;
}

std::string pre_push_script(const std::string& sluice_path) {
    std::string text = header(k_pre_push,
                              "Runs the pipeline for each pushed branch or tag and blocks the push "
                              "when it fails;\n# SLUICE_SKIP=1 git push bypasses it.");
    text += fill(k_prologue, {{"HOOK", "pre-push"}, {"SLUICE", util::shell_quote(sluice_path)}});
    text += k_pre_push_body;
    return text;
}

std::string post_script(std::string_view hook, const std::string& sluice_path, bool async) {
    const bool merge = hook == k_post_merge;
    std::string text =
        header(hook, std::string("Runs the pipeline for the new ") + (merge ? "merge" : "commit") +
                         " on the current branch" + (async ? ", in the background." : "."));
    text += fill(k_prologue, {{"HOOK", std::string(hook)}, {"SLUICE", util::shell_quote(sluice_path)}});
    text += fill(k_post_body, {{"ASYNC", async ? "1" : "0"},
                               {"HOOK", std::string(hook)},
                               {"WHAT", merge ? "merge" : "commit"},
                               {"BEFORE", merge ? "ORIG_HEAD" : "HEAD^1"}});
    return text;
}

}  // namespace sluice::hooks
