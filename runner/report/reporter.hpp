// Reporters turn the engine's events into something people or programs read: a live
// terminal view, plain lines for logs and pipes, or one JSON object per line.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runner/util/duration_format.hpp"

namespace sluice::report {

using util::format_duration;

struct RunStarted {
    std::int64_t run_id = 0;
    std::string pipeline;
    std::string commit;
    std::string event;
    int stages = 0;          // how many stages the run plans
    bool resumed = false;
};

struct StageFinished {
    std::string stage;
    std::string status;      // passed, failed, skipped, cancelled, ...
    std::string reason;      // why, when not passed
    int attempt = 0;
    std::optional<int> exit_code;
    int signal = 0;
    std::int64_t duration_ms = 0;
    std::int64_t max_rss_kb = 0;
    bool allow_failure = false;
    nlohmann::json outputs = nlohmann::json::object();
    nlohmann::json report = nlohmann::json::object();
};

struct RunFinished {
    std::int64_t run_id = 0;
    std::string status;      // passed, failed, cancelled, waiting
    std::int64_t duration_ms = 0;
    std::vector<StageFinished> stages;  // every stage of the run, in pipeline order
    // Set when the run store could not record the run's end (a full disk): why, and the
    // status the store still holds for the run (what `sluice show` says), not `status`.
    std::optional<std::string> store_error;
    std::string stored_status;
};

class Reporter {
public:
    virtual ~Reporter() = default;
    virtual void run_started(const RunStarted& run) = 0;
    virtual void stage_started(const std::string& stage, int attempt) = 0;
    virtual void stage_output(const std::string& stage, bool is_stderr, std::string_view bytes) = 0;
    // A failed attempt that will be retried after delay_ms.
    virtual void stage_retrying(const StageFinished& attempt, std::int64_t delay_ms) = 0;
    virtual void stage_finished(const StageFinished& stage) = 0;
    virtual void run_finished(const RunFinished& run) = 0;
    // Called now and then while stages run (the live view redraws its timers).
    virtual void tick() {}
    // Something the person should know that is no stage's output (a deprecated
    // variable was used): one line on stderr, `sluice: warning: TEXT`.
    virtual void warning(const std::string& text);
};

enum class Style { live, plain, json };

// The style for an output stream: json if asked, live on a terminal, plain otherwise.
Style choose_style(bool json, int fd);

// Makes a reporter writing to `out`; `color` adds ANSI colours (live and plain only).
std::unique_ptr<Reporter> make_reporter(Style style, std::ostream& out, bool color);

// The summary table printed at the end of a run (also used by `sluice show`).
std::string summary_table(const std::vector<StageFinished>& stages, bool color);


}  // namespace sluice::report
