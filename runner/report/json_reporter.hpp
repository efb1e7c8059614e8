// --json: one JSON object per line for programs (run_started, stage_started,
// stage_retrying, stage_finished, run_finished), each flushed as it is written; once the
// stream fails (a closed pipe) nothing more is written. Stage output goes to the logs only.
#pragma once

#include "runner/report/reporter.hpp"

namespace sluice::report {

class JsonReporter final : public Reporter {
public:
    explicit JsonReporter(std::ostream& out) : out_(out) {}
    void run_started(const RunStarted& run) override;
    void stage_started(const std::string& stage, int attempt) override;
    void stage_output(const std::string&, bool, std::string_view) override {}
    void stage_retrying(const StageFinished& attempt, std::int64_t delay_ms) override;
    void stage_finished(const StageFinished& stage) override;
    void run_finished(const RunFinished& run) override;

    static nlohmann::json to_json(const StageFinished& stage);

private:
    void emit(nlohmann::json event);
    std::ostream& out_;
};

}  // namespace sluice::report
