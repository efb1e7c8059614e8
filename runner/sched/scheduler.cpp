// The scheduler's state machine: dependency counting, -j, failure propagation, retries.
#include "runner/sched/scheduler.hpp"

#include <algorithm>

namespace sluice::sched {

const char* to_string(State state) {
    switch (state) {
        case State::pending: return "pending";
        case State::retry_wait: return "pending";
        case State::running: return "running";
        case State::passed: return "passed";
        case State::failed: return "failed";
        case State::skipped: return "skipped";
        case State::cancelled: return "cancelled";
        case State::waiting: return "waiting";
    }
    return "pending";
}

bool is_final(State state) {
    return state == State::passed || state == State::failed || state == State::skipped ||
           state == State::cancelled;
}

Scheduler::Scheduler(std::vector<StagePolicy> stages, int jobs) : jobs_(std::max(1, jobs)) {
    stages_.resize(stages.size());
    for (std::size_t i = 0; i < stages.size(); ++i) {
        stages_[i].policy = std::move(stages[i]);
        for (int need : stages_[i].policy.needs) {
            stages_[at(need)].dependents.push_back(static_cast<int>(i));
        }
    }
    open_ = static_cast<int>(stages_.size());
}

void Scheduler::preset(int stage, State state, std::string reason) {
    Entry& e = stages_[at(stage)];
    if (started_ || e.excluded || is_final(e.state) || !is_final(state)) return;
    e.state = state;
    e.reason = std::move(reason);
    e.preset_done = state == State::passed || state == State::skipped;
    --open_;
}

void Scheduler::exclude(int stage) {
    Entry& e = stages_[at(stage)];
    if (started_ || e.excluded || is_final(e.state)) return;
    e.excluded = true;
    --open_;
}

// Whether a settled need lets its dependent go on.
static bool satisfies(bool excluded, bool preset_done, State state, bool allow_failure) {
    return excluded || state == State::passed || (state == State::skipped && preset_done) ||
           (state == State::failed && allow_failure);
}

std::vector<int> Scheduler::take_ready(util::SteadyTime now) {
    if (!started_) {
        started_ = true;
        for (std::size_t i = 0; i < stages_.size(); ++i) {
            Entry& e = stages_[i];
            if (e.excluded || e.state != State::pending) continue;
            e.unmet = 0;
            for (int need : e.policy.needs) {
                const Entry& n = stages_[at(need)];
                if (satisfies(n.excluded, n.preset_done, n.state, n.policy.allow_failure)) continue;
                ++e.unmet;
            }
        }
        // Stages whose needs were settled unsuccessfully before the run are skipped.
        for (std::size_t i = 0; i < stages_.size(); ++i) {
            const Entry& e = stages_[i];
            if (!e.excluded && is_final(e.state) &&
                !satisfies(false, e.preset_done, e.state, e.policy.allow_failure)) {
                skip_dependents(static_cast<int>(i));
            }
        }
        for (std::size_t i = 0; i < stages_.size(); ++i) start_if_ready(static_cast<int>(i));
    }
    for (std::size_t i = 0; retry_waiting_ > 0 && i < stages_.size(); ++i) {
        Entry& e = stages_[i];
        if (e.state == State::retry_wait && e.retry_at <= now) {
            e.state = State::pending;
            --retry_waiting_;
            ready_.push(static_cast<int>(i));
        }
    }
    std::vector<int> out;
    while (running_ < jobs_ && !ready_.empty()) {
        int s = ready_.top();
        ready_.pop();
        Entry& e = stages_[at(s)];
        e.state = State::running;
        ++e.attempts;
        ++running_;
        out.push_back(s);
    }
    return out;
}

void Scheduler::start_if_ready(int stage) {
    const Entry& e = stages_[at(stage)];
    if (!e.excluded && e.state == State::pending && e.unmet == 0) ready_.push(stage);
}

std::optional<util::SteadyTime> Scheduler::finished(int stage, bool ok, util::SteadyTime now) {
    Entry& e = stages_[at(stage)];
    if (e.state != State::running) return std::nullopt;  // e.g. cancelled meanwhile
    --running_;
    if (ok) {
        settle(stage, State::passed, {});
        satisfy_dependents(stage);
        return std::nullopt;
    }
    if (e.attempts <= e.policy.retries) {
        Millis delay = e.policy.retry_delay;
        for (int i = 1; i < e.attempts && delay < e.policy.retry_max_delay; ++i) delay *= 2;
        delay = std::min(delay, e.policy.retry_max_delay);
        e.state = State::retry_wait;
        ++retry_waiting_;
        e.retry_at = now + delay;
        return e.retry_at;
    }
    settle(stage, State::failed, {});
    if (e.policy.allow_failure) {
        e.reason = "failed, allowed to fail";
        satisfy_dependents(stage);
    } else {
        skip_dependents(stage);
    }
    return std::nullopt;
}

void Scheduler::settle(int stage, State state, std::string reason) {
    Entry& e = stages_[at(stage)];
    e.state = state;
    e.reason = std::move(reason);
    --open_;
}

void Scheduler::satisfy_dependents(int stage) {
    for (int d : stages_[at(stage)].dependents) {
        Entry& e = stages_[at(d)];
        if (e.excluded || e.state != State::pending) continue;
        if (--e.unmet == 0) ready_.push(d);
    }
}

void Scheduler::skip_dependents(int stage) {
    // Breadth-first over dependents; each remembers the need that stopped it.
    std::vector<std::pair<int, int>> queue;  // (stage, blocked by)
    for (int d : stages_[at(stage)].dependents) queue.emplace_back(d, stage);
    for (std::size_t head = 0; head < queue.size(); ++head) {
        auto [d, by] = queue[head];
        Entry& e = stages_[at(d)];
        if (e.excluded || e.state != State::pending) continue;
        settle(d, State::skipped, {});
        e.blocked_by = by;
        for (int dd : e.dependents) queue.emplace_back(dd, d);
    }
}

void Scheduler::hold(int stage, std::string reason) {
    Entry& e = stages_[at(stage)];
    if (e.state != State::running) return;
    --running_;
    --e.attempts;  // it did not start
    e.state = State::waiting;
    e.reason = std::move(reason);
    ++waiting_;
}

bool Scheduler::failed_any() const {
    for (const auto& e : stages_) {
        if (e.excluded) continue;
        if (e.state == State::cancelled) return true;
        if (e.state == State::failed && !e.policy.allow_failure) return true;
    }
    return false;
}

void Scheduler::cancel_all(const std::string& reason) {
    for (auto& e : stages_) {
        if (e.excluded || is_final(e.state)) continue;
        e.state = State::cancelled;
        e.reason = reason;
    }
    while (!ready_.empty()) ready_.pop();
    running_ = 0;
    retry_waiting_ = 0;
    waiting_ = 0;
    open_ = 0;
}

std::optional<util::SteadyTime> Scheduler::next_wakeup() const {
    std::optional<util::SteadyTime> best;
    if (retry_waiting_ == 0) return best;
    for (const auto& e : stages_) {
        if (e.state == State::retry_wait && (!best || e.retry_at < *best)) best = e.retry_at;
    }
    return best;
}

bool Scheduler::succeeded() const {
    for (const auto& e : stages_) {
        if (e.excluded) continue;
        if (!satisfies(false, e.preset_done, e.state, e.policy.allow_failure)) return false;
    }
    return true;
}

}  // namespace sluice::sched
