// Human-readable reporting. Plain: one line per event and per output line, prefixed
// with the stage's name (for pipes, CI logs). Live (a terminal): the same lines, with
// a footer of running stages and their elapsed times redrawn in place. Plain lines are
// flushed one by one; once the stream fails (a closed pipe) nothing more is written.
#pragma once

#include <chrono>
#include <utility>
#include <vector>

#include "runner/report/line_splitter.hpp"
#include "runner/report/reporter.hpp"

namespace sluice::report {

class TextReporter final : public Reporter {
public:
    TextReporter(std::ostream& out, bool live, bool color);
    void run_started(const RunStarted& run) override;
    void stage_started(const std::string& stage, int attempt) override;
    void stage_output(const std::string& stage, bool is_stderr, std::string_view bytes) override;
    void stage_retrying(const StageFinished& attempt, std::int64_t delay_ms) override;
    void stage_finished(const StageFinished& stage) override;
    void run_finished(const RunFinished& run) override;
    void tick() override;

private:
    using Clock = std::chrono::steady_clock;
    void print(const std::string& line);
    void clear_footer();
    void draw_footer();
    std::string paint(const char* code, const std::string& text) const;

    std::ostream& out_;
    bool live_;
    bool color_;
    LineSplitter splitter_;
    std::vector<std::pair<std::string, Clock::time_point>> running_;
    int footer_lines_ = 0;
    int total_ = 0;
    int done_ = 0;
    std::int64_t run_id_ = 0;
    Clock::time_point last_draw_{};
};

}  // namespace sluice::report
