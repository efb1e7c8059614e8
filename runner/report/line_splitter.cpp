// Line splitting of stage output for terminal reporters.
#include "runner/report/line_splitter.hpp"

namespace sluice::report {

void LineSplitter::feed(const std::string& stage, bool is_stderr, std::string_view bytes,
                        const LineHandler& on_line) {
    std::string& rest = partial_[{stage, is_stderr}];
    std::size_t start = 0;
    while (true) {
        std::size_t nl = bytes.find('\n', start);
        if (nl == std::string_view::npos) break;
        std::string_view piece = bytes.substr(start, nl - start);
        if (rest.empty()) {
            on_line(stage, piece);
        } else {
            rest.append(piece);
            on_line(stage, rest);
            rest.clear();
        }
        start = nl + 1;
    }
    rest.append(bytes.substr(start));
}

void LineSplitter::flush(const std::string& stage, const LineHandler& on_line) {
    for (bool is_stderr : {false, true}) {
        auto it = partial_.find({stage, is_stderr});
        if (it == partial_.end()) continue;
        if (!it->second.empty()) on_line(stage, it->second);
        partial_.erase(it);
    }
}

}  // namespace sluice::report
