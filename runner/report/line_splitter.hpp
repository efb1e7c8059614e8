// Splits each stage's output stream into whole lines, so lines of stages running at
// the same time are never interleaved mid-line on the terminal.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace sluice::report {

class LineSplitter {
public:
    using LineHandler = std::function<void(const std::string& stage, std::string_view line)>;

    // Calls on_line for each complete line (without its newline) in bytes.
    void feed(const std::string& stage, bool is_stderr, std::string_view bytes,
              const LineHandler& on_line);
    // Emits what is left of a stage's streams as final lines.
    void flush(const std::string& stage, const LineHandler& on_line);

private:
    std::map<std::pair<std::string, bool>, std::string> partial_;
};

}  // namespace sluice::report
