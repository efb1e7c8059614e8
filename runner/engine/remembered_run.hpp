// The remembered run (run_memo.hpp) a run is about to use: its memo loaded, and its
// path checks made ahead on a second thread.
//
// A no-op re-run spends most of its time on things that do not depend on each other:
// loading the memo and one stat(2) per remembered path (12,000 for 1,000 stages over
// 10,000 inputs) on one side; parsing the pipeline, opening the store, creating the run
// and recording its stages on the other. So `sluice run` starts this as soon as it has
// read sluice.yml, and with more than one job a thread loads the memo and goes through
// the stages' checks in the memo's order (the pipeline's) while the command goes on.
// The run takes it when it is for the same cache, pipeline text and workspace, and asks
// it per stage: a stage the thread has not reached is checked by whoever asks first;
// the answer is the same either way.
//
// An answer is only as good as the workspace it looked at, so the run calls stop() before
// it changes the workspace itself (a stage process starts, outputs are restored from the
// cache); from then on every answer is looked up again when asked for, and answers made
// before are not used.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "runner/engine/run_memo.hpp"
#include "runner/util/unique_fd.hpp"

namespace sluice::engine {

class RememberedRun {
public:
    struct Key {
        std::filesystem::path cache_dir;  // the state directory's cache/
        std::string pipeline_digest;      // SHA-256 of the pipeline's text
        std::filesystem::path workspace;  // where the run's stages run

        bool operator==(const Key&) const = default;
    };

    // Reads the cache index's generation (cache_generation.hpp), opens the workspace and
    // loads the memo kept for `key`. With `ahead`, all of that happens on a thread of its
    // own, which then looks at the memo's paths; nothing it does changes anything.
    RememberedRun(Key key, bool ahead);
    // Ahead, for the pipeline text `text`: its SHA-256 (the key's pipeline_digest) is
    // computed on the thread too.
    RememberedRun(std::filesystem::path cache_dir, std::string text, std::filesystem::path workspace);
    ~RememberedRun();  // stops the thread and waits for it

    RememberedRun(const RememberedRun&) = delete;
    RememberedRun& operator=(const RememberedRun&) = delete;

    // These wait for the load when it is made ahead.
    const Key& key();
    const RunMemo& memo();
    // The generation read before the memo: the run compares it with the index's before
    // it saves the next memo.
    const std::string& generation();
    // Where the memo is kept; "" when nothing can be remembered (no identifiable
    // executable, or the workspace cannot be opened).
    const std::filesystem::path& file();

    // Whether every path `stage` (a stage of memo()) looked at still gives the same stat
    // data: the thread's answer when it has one (waiting while it is looking), else
    // looked at here.
    bool holds(const StageMemo& stage);

    // The workspace is about to change: stop the thread, forget its answers.
    void stop();

private:
    enum State : std::uint8_t { unclaimed, checking, held, changed };

    void load();
    void start_thread();
    void check_ahead();
    void wait_loaded();
    std::size_t index_of(const StageMemo& stage) const;

    Key key_;
    std::string text_;  // hashed into key_.pipeline_digest by the thread, then dropped
    std::string generation_;
    std::filesystem::path file_;
    util::UniqueFd workspace_;  // O_PATH: where the memo's paths are looked at again
    RunMemo memo_;
    std::unique_ptr<std::atomic<std::uint8_t>[]> states_;  // by index in memo_.stages()
    std::atomic<bool> loaded_{false};
    std::atomic<bool> stopped_{false};
    bool ahead_ = false;
    std::thread thread_;
};

// Whether every path of `stage` still holds (still_holds), looked at now.
bool all_paths_hold(const StageMemo& stage, int workspace_fd);

}  // namespace sluice::engine
