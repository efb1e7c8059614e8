// Plain and live text reporting.
#include "runner/report/text_reporter.hpp"

#include <algorithm>

namespace sluice::report {

const char* status_color(const std::string& status);  // reporter.cpp

namespace {
constexpr const char* k_dim = "\x1b[2m";
constexpr const char* k_bold = "\x1b[1m";
constexpr const char* k_cyan = "\x1b[36m";
constexpr std::size_t k_footer_max = 8;
}  // namespace

TextReporter::TextReporter(std::ostream& out, bool live, bool color)
    : out_(out), live_(live), color_(color) {}

std::string TextReporter::paint(const char* code, const std::string& text) const {
    return color_ ? std::string(code) + text + "\x1b[0m" : text;
}

void TextReporter::clear_footer() {
    if (footer_lines_ > 0) out_ << "\x1b[" << footer_lines_ << "A\r\x1b[J";
    footer_lines_ = 0;
}

void TextReporter::draw_footer() {
    if (!live_) return;
    auto now = Clock::now();
    std::size_t shown = 0;
    for (const auto& [stage, since] : running_) {
        if (shown++ == k_footer_max) break;
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - since).count();
        out_ << "  " << paint(k_cyan, "running") << " " << stage << " "
             << paint(k_dim, format_duration(ms)) << "\n";
        ++footer_lines_;
    }
    if (running_.size() > k_footer_max) {
        out_ << "  ... and " << running_.size() - k_footer_max << " more\n";
        ++footer_lines_;
    }
    out_ << paint(k_dim, "  [" + std::to_string(done_) + "/" + std::to_string(total_) +
                             " stages done, run " + std::to_string(run_id_) + "]")
         << "\n";
    ++footer_lines_;
    out_.flush();
    last_draw_ = now;
}

void TextReporter::print(const std::string& line) {
    if (!out_) return;  // the reader went away (EPIPE): printing stops, the run goes on
    if (live_) {
        clear_footer();
        out_ << line << "\n";
        draw_footer();
    } else {
        // Each line as it happens: `sluice run | tee log` shows progress live, and a
        // runner killed after a line was read had written it whole.
        out_ << line << "\n";
        out_.flush();
    }
}

void TextReporter::run_started(const RunStarted& run) {
    total_ = run.stages;
    run_id_ = run.run_id;
    std::string at = run.commit.empty() ? "" : " at " + run.commit.substr(0, 8);
    print(paint(k_bold, std::string(run.resumed ? "resuming" : "starting") + " run " +
                            std::to_string(run.run_id) + " of " + run.pipeline) +
          at + " (" + run.event + ", " + std::to_string(run.stages) + " stages)");
}

void TextReporter::stage_started(const std::string& stage, int attempt) {
    running_.emplace_back(stage, Clock::now());
    std::string what = attempt > 1 ? " attempt " + std::to_string(attempt) : "";
    print(paint(k_cyan, "==> ") + stage + what + " started");
}

void TextReporter::stage_output(const std::string& stage, bool is_stderr, std::string_view bytes) {
    splitter_.feed(stage, is_stderr, bytes, [this](const std::string& s, std::string_view line) {
        print(paint(k_dim, "[" + s + "] ") + std::string(line));
    });
}

void TextReporter::stage_retrying(const StageFinished& attempt, std::int64_t delay_ms) {
    splitter_.flush(attempt.stage, [this](const std::string& s, std::string_view line) {
        print(paint(k_dim, "[" + s + "] ") + std::string(line));
    });
    std::erase_if(running_, [&](const auto& r) { return r.first == attempt.stage; });
    std::string why = attempt.signal != 0 ? "signal " + std::to_string(attempt.signal)
                      : attempt.exit_code ? "exit " + std::to_string(*attempt.exit_code)
                                          : attempt.reason;
    print(paint(k_cyan, "==> ") + attempt.stage + " " + paint(status_color("failed"), "failed") +
          " (" + why + "), retrying in " + format_duration(delay_ms));
}

void TextReporter::stage_finished(const StageFinished& stage) {
    splitter_.flush(stage.stage, [this](const std::string& s, std::string_view line) {
        print(paint(k_dim, "[" + s + "] ") + std::string(line));
    });
    std::erase_if(running_, [&](const auto& r) { return r.first == stage.stage; });
    ++done_;
    std::string line = paint(k_cyan, "==> ") + stage.stage + " " +
                       paint(status_color(stage.status), stage.status);
    if (stage.status != "skipped" && stage.status != "cancelled") {
        line += " in " + format_duration(stage.duration_ms);
    }
    if (stage.signal != 0) {
        line += " (signal " + std::to_string(stage.signal) + ")";
    } else if (stage.exit_code && *stage.exit_code != 0) {
        line += " (exit " + std::to_string(*stage.exit_code) + ")";
    }
    if (!stage.reason.empty()) line += ": " + stage.reason;
    print(line);
}

void TextReporter::run_finished(const RunFinished& run) {
    if (!out_) return;
    if (live_) clear_footer();
    live_ = false;
    out_ << "\n" << summary_table(run.stages, color_);
    if (run.store_error) {
        // Not "run N failed": no one would find that end in the store.
        out_ << paint(k_bold, "run " + std::to_string(run.run_id)) + " (" + run.status + " in " +
                    format_duration(run.duration_ms) + ") could not be recorded in full: " +
                    *run.store_error + "; the store says " + run.stored_status
             << "\n";
        out_.flush();
        return;
    }
    out_ << paint(k_bold, "run " + std::to_string(run.run_id) + " ") +
                paint(status_color(run.status), run.status) + " in " +
                format_duration(run.duration_ms)
         << "\n";
    out_.flush();
}

void TextReporter::tick() {
    if (!live_ || running_.empty() || !out_) return;
    if (Clock::now() - last_draw_ < std::chrono::milliseconds(100)) return;
    clear_footer();
    draw_footer();
}

}  // namespace sluice::report
