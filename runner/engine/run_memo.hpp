// Remembered runs: what each cached stage's result rested on, so that a re-run in which
// nothing changed checks it with one stat(2) per path instead of matching its `inputs:`,
// computing its key and asking the cache index again (issue 6: a no-op re-run close to
// ninja's).
//
// A stage that came from the cache leaves a StageMemo: its key and the entry it came
// from, the expressions its key resolved (with their values), the keys of the stages it
// needs, and every path its key and its restore looked at with the stat data seen: each
// directory listed to match a glob, each input, each output in the workspace. The next
// run of the same pipeline text, in the same workspace, by the same sluice executable,
// takes a stage from its memo when all of that is still so: the same expressions give
// the same values, the needed stages have the same keys, every path gives the same stat
// data (device, inode, mode, size, mtime and ctime to the nanosecond; a directory whose
// entries change changes its mtime). Anything else is a normal look-up.
//
// Trust: a path is remembered only when its mtime and ctime are older than the run's
// start by FileDigests::k_timestamp_slack: within a coarse clock tick a file can change
// and keep its timestamps ("racy git"). A stage with a younger path is not remembered.
// The memo also keeps the cache index's generation (cache_generation.hpp) read before
// the run asked the index anything; after `cache gc` or an entry stored again it is
// not used.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runner/cache/cache_index.hpp"
#include "runner/engine/stage_files.hpp"
#include "runner/util/error.hpp"

namespace sluice::engine {

// One look at a path, to be looked at again.
struct PathCheck {
    std::string path;      // relative to the workspace ("" = the workspace itself)
    bool listed = false;   // stat(2) (followed) of a directory that was listed; else lstat(2)
    bool present = false;  // listed: it was a directory; else: it existed
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    std::uint64_t size = 0;
    std::uint32_t mode = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_ns = 0;

    bool operator==(const PathCheck&) const = default;
};

// The check for what a match or a restore saw; nullopt when the path changed too
// recently to be vouched for by its stat data (mtime or ctime not before trusted_before_ns).
std::optional<PathCheck> path_check(const SeenPath& seen, std::int64_t trusted_before_ns);

// Whether looking at the path again (under the workspace, open as `workspace_fd`: an
// O_PATH descriptor, so a path is resolved from there, not from /) gives the same answer.
bool still_holds(const PathCheck& check, int workspace_fd);

struct StageMemo {
    std::string stage;
    std::string key;  // the stage's cache key
    std::vector<std::pair<std::string, std::string>> needs;  // needed stage -> its result key
    // Expressions the key resolved (`vars.x`, `commit.sha`, ...) -> value (nullopt: unknown).
    std::vector<std::pair<std::string, std::optional<std::string>>> lookups;
    std::vector<PathCheck> checks;  // its inputs' paths, then its outputs in the workspace
    cache::CacheEntry entry;        // what it came from: run_id, paths, stage_outputs
};

class RunMemo {
public:
    static constexpr int k_remembered_runs = 16;  // memo files kept (newest first)

    // Where the memo of a pipeline text (its SHA-256) run in `workspace` is kept in
    // `dir`; "" when this executable cannot be identified (nothing is remembered).
    static std::filesystem::path file_for(const std::filesystem::path& dir,
                                          std::string_view pipeline_digest,
                                          const std::filesystem::path& workspace);

    // The memo in `file` if it was written while the cache index had `generation`;
    // an empty memo otherwise (missing, damaged, another format or generation).
    static RunMemo load(const std::filesystem::path& file, const std::string& generation);

    const StageMemo* find(std::string_view stage) const;
    void add(StageMemo memo);
    std::size_t size() const { return stages_.size(); }
    const std::vector<StageMemo>& stages() const { return stages_; }  // in the order added

    // When its entries were last marked used in the cache index (epoch ms): a run that
    // takes them from the memo within CacheIndex::k_touch_resolution_ms of that does not
    // open the index to mark them again (the index would not change them).
    std::int64_t touched_ms() const { return touched_ms_; }
    void set_touched_ms(std::int64_t ms) { touched_ms_ = ms; }

    // Writes it atomically (best effort for callers: a lost memo costs a slower run)
    // and keeps the newest k_remembered_runs files of its directory.
    util::Status save(const std::filesystem::path& file, const std::string& generation) const;

private:
    std::int64_t touched_ms_ = 0;
    std::vector<StageMemo> stages_;  // in the order added
    struct Hash {  // lets find() look a string_view up without a string
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::unordered_map<std::string, std::size_t, Hash, std::equal_to<>> by_stage_;
};

}  // namespace sluice::engine
