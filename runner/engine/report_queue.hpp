// What the run loop has recorded but not yet committed, waiting to be reported: a stage
// is shown started, retrying or finished only once the store's batch that records it is
// committed (commit first, then report), so a runner killed the instant a line is read
// has lost nothing that line said. Stage output is not a record and is not queued.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runner/report/reporter.hpp"

namespace sluice::engine {

class ReportQueue {
public:
    explicit ReportQueue(report::Reporter& to) : to_(to) {}

    // `stage` (the pipeline's name of it) must outlive the queue.
    void stage_started(const std::string& stage, int attempt);
    void stage_retrying(report::StageFinished attempt, std::int64_t delay_ms);
    // `stage` is read when delivered, not copied: it must stay as it is until then (a
    // finished stage's record does; the run loop reports a stage finished once).
    void stage_finished(const report::StageFinished& stage);

    // After the commit of what the queued events report: hands them on, in order.
    void deliver();

private:
    enum class Kind { started, retrying, finished };
    struct Event {
        Kind kind;
        const std::string* stage = nullptr;             // started
        int attempt = 0;                                // started
        const report::StageFinished* finished = nullptr;
        std::size_t retry = 0;                          // index in retries_
        std::int64_t delay_ms = 0;
    };

    report::Reporter& to_;
    std::vector<Event> events_;
    std::vector<report::StageFinished> retries_;  // copies: the record goes on changing
};

}  // namespace sluice::engine
