// Converting stored stage runs for the reporters.
#include "runner/engine/stage_view.hpp"

namespace sluice::engine {

report::StageFinished stage_view(const store::StageRecord& r) {
    report::StageFinished f;
    f.stage = r.stage;
    f.status = r.status;
    f.reason = r.reason;
    f.attempt = r.attempts;
    f.exit_code = r.exit_code;
    f.signal = r.signal;
    f.duration_ms = r.duration_ms;
    f.max_rss_kb = r.max_rss_kb;
    f.allow_failure = r.allow_failure;
    f.outputs = r.outputs;
    f.report = r.report;
    return f;
}

}  // namespace sluice::engine
