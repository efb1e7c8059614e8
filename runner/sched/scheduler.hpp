// The scheduler decides; it never runs anything. Given the DAG and each stage's
// policy it says which stages may start now (respecting -j), what a failure does to
// dependents (skipped, unless allow_failure), and when a retry is due. The engine
// starts what it is told and reports back; tests drive it step by step with a clock.
#pragma once

#include <chrono>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "runner/util/clock.hpp"

namespace sluice::sched {

using Millis = std::chrono::milliseconds;

enum class State {
    pending,        // waiting for its needs
    retry_wait,     // failed, a retry is due at retry_at
    running,
    passed,
    failed,
    skipped,        // a need failed, or the stage was skipped before the run (rules)
    cancelled,
    waiting,        // taken to start, but held for an approval: the run stops here
};

const char* to_string(State state);
bool is_final(State state);

struct StagePolicy {
    std::vector<int> needs;       // indices of the stages it needs
    int retries = 0;              // extra attempts after the first
    Millis retry_delay{1000};     // before the first retry; doubles, capped at max
    Millis retry_max_delay{60'000};
    bool allow_failure = false;   // a failure does not stop its dependents
};

class Scheduler {
public:
    Scheduler(std::vector<StagePolicy> stages, int jobs);

    // Before the first step: the stage is already settled (resume: passed earlier;
    // rules: skipped). A passed or skipped-by-rule stage satisfies its dependents.
    void preset(int stage, State state, std::string reason = {});
    // Before the first step: the stage is not part of this run at all (--only).
    void exclude(int stage);

    // Stages to start now, marked running. At most `jobs` run at once.
    std::vector<int> take_ready(util::SteadyTime now);

    // A started stage ended. On failure with retries left it goes to retry_wait and
    // the function returns the time of the retry; otherwise nullopt.
    std::optional<util::SteadyTime> finished(int stage, bool ok, util::SteadyTime now);

    // A stage just taken by take_ready() does not start: it waits for an approval. It
    // frees its job slot; its dependents stay pending. Not final: the run stops
    // `waiting` when nothing else can run (see stalled()).
    void hold(int stage, std::string reason);
    int waiting() const { return waiting_; }
    // Nothing runs, nothing is ready or due, and stages wait for approvals.
    bool stalled() const { return waiting_ > 0 && running_ == 0 && ready_.empty() && !next_wakeup(); }
    // Whether a stage failed (without allow_failure) or was cancelled.
    bool failed_any() const;

    // Every stage not yet final becomes cancelled (running ones too: the caller kills
    // them and must not report them back).
    void cancel_all(const std::string& reason);

    // The earliest pending retry, if any: when the caller should wake up.
    std::optional<util::SteadyTime> next_wakeup() const;

    bool done() const { return open_ == 0; }
    int running() const { return running_; }

    State state(int stage) const { return stages_[at(stage)].state; }
    int attempts(int stage) const { return stages_[at(stage)].attempts; }
    const std::string& reason(int stage) const { return stages_[at(stage)].reason; }
    bool excluded(int stage) const { return stages_[at(stage)].excluded; }
    // For a stage skipped because a need did not succeed: that need; else -1.
    int blocked_by(int stage) const { return stages_[at(stage)].blocked_by; }
    std::size_t size() const { return stages_.size(); }

    // True when every included stage passed, was skipped before the run, or failed
    // with allow_failure.
    bool succeeded() const;

private:
    struct Entry {
        StagePolicy policy;
        std::vector<int> dependents;
        State state = State::pending;
        int unmet = 0;              // needs not yet satisfied
        int attempts = 0;
        bool excluded = false;
        bool preset_done = false;   // settled before the run (counts as satisfied)
        std::string reason;
        int blocked_by = -1;
        util::SteadyTime retry_at{};
    };

    static std::size_t at(int stage) { return static_cast<std::size_t>(stage); }
    void settle(int stage, State state, std::string reason);
    void satisfy_dependents(int stage);
    void skip_dependents(int stage);
    void start_if_ready(int stage);
    bool started_ = false;

    std::vector<Entry> stages_;
    // Ready stages, lowest index (file order) first.
    std::priority_queue<int, std::vector<int>, std::greater<>> ready_;
    int jobs_;
    int running_ = 0;
    int retry_waiting_ = 0;  // stages in retry_wait: take_ready looks for due ones only then
    int waiting_ = 0;
    int open_ = 0;                  // included stages not yet final
};

}  // namespace sluice::sched
