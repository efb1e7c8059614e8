// Choosing a reporter, and what the terminal reporters share: durations and the table.
#include "runner/report/reporter.hpp"

#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "runner/report/json_reporter.hpp"
#include "runner/report/text_reporter.hpp"

namespace sluice::report {

void Reporter::warning(const std::string& text) {
    std::cerr << "sluice: warning: " << text << "\n" << std::flush;
}

Style choose_style(bool json, int fd) {
    if (json) return Style::json;
    return isatty(fd) != 0 ? Style::live : Style::plain;
}

std::unique_ptr<Reporter> make_reporter(Style style, std::ostream& out, bool color) {
    if (style == Style::json) return std::make_unique<JsonReporter>(out);
    return std::make_unique<TextReporter>(out, style == Style::live, color);
}

const char* status_color(const std::string& status) {
    if (status == "passed" || status == "cached") return "\x1b[32m";
    if (status == "failed" || status == "interrupted") return "\x1b[31m";
    if (status == "skipped" || status == "cancelled") return "\x1b[33m";
    if (status == "waiting") return "\x1b[36m";
    return "";
}

static std::string detail_of(const StageFinished& s) {
    std::string d;
    if (s.status == "failed" || s.status == "cancelled" || s.status == "interrupted") {
        if (s.signal != 0) {
            d = "signal " + std::to_string(s.signal);
        } else if (s.exit_code && *s.exit_code != 0) {
            d = "exit " + std::to_string(*s.exit_code);
        }
    }
    if (!s.reason.empty()) d += (d.empty() ? "" : ": ") + s.reason;
    if (s.attempt > 1) d += (d.empty() ? "" : ", ") + std::to_string(s.attempt) + " attempts";
    return d;
}

std::string summary_table(const std::vector<StageFinished>& stages, bool color) {
    std::size_t name_w = 5;
    for (const auto& s : stages) name_w = std::max(name_w, s.stage.size());
    std::string out;
    auto pad = [](std::string text, std::size_t width) {
        if (text.size() < width) text.append(width - text.size(), ' ');
        return text;
    };
    out += pad("STAGE", name_w) + "  " + pad("STATUS", 11) + "  " + pad("DURATION", 8) + "  DETAIL\n";
    for (const auto& s : stages) {
        bool ran = s.status != "skipped" && s.status != "pending" && s.duration_ms > 0;
        std::string status = s.status;
        if (s.status == "failed" && s.allow_failure) status = "failed*";
        std::string line = pad(s.stage, name_w) + "  ";
        if (color) {
            line += std::string(status_color(s.status)) + pad(status, 11) + "\x1b[0m";
        } else {
            line += pad(status, 11);
        }
        line += "  " + pad(ran ? format_duration(s.duration_ms) : "-", 8);
        std::string detail = detail_of(s);
        if (s.status == "failed" && s.allow_failure) {
            detail += (detail.empty() ? "" : "; ") + std::string("allowed to fail");
        }
        if (!detail.empty()) line += "  " + detail;
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
    }
    return out;
}

}  // namespace sluice::report
