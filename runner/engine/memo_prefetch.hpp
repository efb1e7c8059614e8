// The path checks of a remembered run (run_memo.hpp), made ahead on a second thread.
//
// A no-op re-run spends most of its time on two things that do not depend on each other:
// one stat(2) per remembered path (12,000 for 1,000 stages over 10,000 inputs) and the
// run record. With more than one job, a thread goes through the stages' checks in the
// order they will be asked for while the run's own thread concludes and records the
// stages before them. A stage the thread has not reached is checked by whoever asks
// first; the answer is the same either way.
//
// An answer is only as good as the workspace it looked at, so the run calls stop() before
// it changes the workspace itself (a stage process starts, outputs are restored from the
// cache); from then on every answer is looked up again when asked for, and answers made
// before are not used.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "runner/engine/run_memo.hpp"

namespace sluice::engine {

class MemoPrefetch {
public:
    // Starts the thread over `order` (stages of `memo`, which must outlive this object,
    // as must the descriptor). The thread looks at paths only: nothing it does changes
    // anything.
    MemoPrefetch(const RunMemo& memo, int workspace_fd, std::vector<const StageMemo*> order);
    ~MemoPrefetch();  // stops the thread and waits for it

    MemoPrefetch(const MemoPrefetch&) = delete;
    MemoPrefetch& operator=(const MemoPrefetch&) = delete;

    // Whether every path `stage` (a stage of the memo) looked at still gives the same
    // stat data: the thread's answer when it has one (waiting while it is looking), else
    // looked at here.
    bool holds(const StageMemo& stage);

    // The workspace is about to change: stop the thread, forget its answers.
    void stop();

private:
    enum State : std::uint8_t { unclaimed, checking, held, changed };

    void work();
    std::size_t index_of(const StageMemo& stage) const;

    const RunMemo& memo_;
    int workspace_fd_;
    std::vector<const StageMemo*> order_;
    std::unique_ptr<std::atomic<std::uint8_t>[]> states_;  // by index in memo_.stages()
    std::atomic<bool> stopped_{false};
    std::thread thread_;
};

// Whether every path of `stage` still holds (still_holds), looked at now.
bool all_paths_hold(const StageMemo& stage, int workspace_fd);

}  // namespace sluice::engine
