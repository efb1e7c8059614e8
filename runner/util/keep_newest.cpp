// Keeping the newest memo files of a directory (see keep_newest.hpp).
#include "runner/util/keep_newest.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace sluice::util {

void keep_newest(const std::filesystem::path& dir, std::string_view extension, std::size_t count) {
    std::error_code ec;
    std::vector<std::pair<std::filesystem::file_time_type, std::filesystem::path>> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (entry.path().extension() != extension) continue;
        auto when = entry.last_write_time(ec);
        if (!ec) files.emplace_back(when, entry.path());
    }
    if (files.size() <= count) return;
    std::sort(files.begin(), files.end());
    for (std::size_t i = 0; i + count < files.size(); ++i) {
        std::filesystem::remove(files[i].second, ec);
    }
}

}  // namespace sluice::util
