// Reporter events held until the store has committed what they report.
#include "runner/engine/report_queue.hpp"

namespace sluice::engine {

void ReportQueue::stage_started(const std::string& stage, int attempt) {
    events_.push_back({Kind::started, &stage, attempt, nullptr, 0, 0});
}

void ReportQueue::stage_retrying(report::StageFinished attempt, std::int64_t delay_ms) {
    retries_.push_back(std::move(attempt));
    events_.push_back({Kind::retrying, nullptr, 0, nullptr, retries_.size() - 1, delay_ms});
}

void ReportQueue::stage_finished(const report::StageFinished& stage) {
    events_.push_back({Kind::finished, nullptr, 0, &stage, 0, 0});
}

void ReportQueue::deliver() {
    // A reporter that reports nothing new (a wake-up with no state change) costs nothing.
    if (events_.empty()) return;
    for (const Event& e : events_) {
        switch (e.kind) {
            case Kind::started: to_.stage_started(*e.stage, e.attempt); break;
            case Kind::retrying: to_.stage_retrying(retries_[e.retry], e.delay_ms); break;
            case Kind::finished: to_.stage_finished(*e.finished); break;
        }
    }
    events_.clear();
    retries_.clear();
}

}  // namespace sluice::engine
