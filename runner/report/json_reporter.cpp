// JSON-lines reporter.
#include "runner/report/json_reporter.hpp"

#include <chrono>

namespace sluice::report {

static std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void JsonReporter::emit(nlohmann::json event) {
    if (!out_) return;  // the reader went away (EPIPE): printing stops, the run goes on
    event["time_ms"] = now_ms();
    out_ << event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    out_.flush();
}

nlohmann::json JsonReporter::to_json(const StageFinished& s) {
    nlohmann::json j = {{"stage", s.stage},         {"status", s.status},
                        {"attempt", s.attempt},     {"duration_ms", s.duration_ms},
                        {"max_rss_kb", s.max_rss_kb}, {"allow_failure", s.allow_failure}};
    if (!s.reason.empty()) j["reason"] = s.reason;
    if (s.exit_code) j["exit_code"] = *s.exit_code;
    if (s.signal != 0) j["signal"] = s.signal;
    if (!s.outputs.empty()) j["outputs"] = s.outputs;
    if (!s.report.empty()) j["report"] = s.report;
    return j;
}

void JsonReporter::run_started(const RunStarted& run) {
    emit({{"event", "run_started"}, {"run", run.run_id},       {"pipeline", run.pipeline},
          {"commit", run.commit},   {"trigger_event", run.event}, {"stages", run.stages},
          {"resumed", run.resumed}});
}

void JsonReporter::stage_started(const std::string& stage, int attempt) {
    emit({{"event", "stage_started"}, {"stage", stage}, {"attempt", attempt}});
}

void JsonReporter::stage_retrying(const StageFinished& attempt, std::int64_t delay_ms) {
    nlohmann::json j = to_json(attempt);
    j["event"] = "stage_retrying";
    j["retry_in_ms"] = delay_ms;
    emit(std::move(j));
}

void JsonReporter::stage_finished(const StageFinished& stage) {
    nlohmann::json j = to_json(stage);
    j["event"] = "stage_finished";
    emit(std::move(j));
}

void JsonReporter::run_finished(const RunFinished& run) {
    nlohmann::json event = {{"event", "run_finished"},
                            {"run", run.run_id},
                            {"status", run.status},
                            {"duration_ms", run.duration_ms}};
    if (run.store_error) {
        event["recorded"] = false;
        event["store_error"] = *run.store_error;
        event["stored_status"] = run.stored_status;
    }
    emit(std::move(event));
}

}  // namespace sluice::report
