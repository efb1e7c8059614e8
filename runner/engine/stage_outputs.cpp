// Reading a stage's $SLUICE_OUTPUT file.
#include "runner/engine/stage_outputs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "runner/util/unique_fd.hpp"

namespace sluice::engine {

static bool is_key(const std::string& key) {
    if (key.empty()) return false;
    for (std::size_t i = 0; i < key.size(); ++i) {
        char c = key[i];
        bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        bool digit = c >= '0' && c <= '9';
        if (!(letter || (i > 0 && (digit || c == '-')))) return false;
    }
    return true;
}

// The file's text; "" when there is no file (most stages write none: one failed open).
static util::Result<std::string> read_if_present(const std::filesystem::path& file) {
    util::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return std::string();
        return util::fail(util::ErrorCode::io,
                          "cannot read $SLUICE_OUTPUT " + file.string() + ": " + std::strerror(errno));
    }
    std::string text;
    char buffer[8192];
    while (true) {
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n == 0) return text;
        if (n < 0) {
            if (errno == EINTR) continue;
            return util::fail(util::ErrorCode::io, "cannot read $SLUICE_OUTPUT " + file.string() +
                                                       ": " + std::strerror(errno));
        }
        text.append(buffer, static_cast<std::size_t>(n));
    }
}

util::Result<nlohmann::json> read_stage_outputs(const std::filesystem::path& file) {
    nlohmann::json outputs = nlohmann::json::object();
    auto text = read_if_present(file);
    if (!text) return std::unexpected(text.error());
    std::string_view rest = *text;
    int number = 0;
    while (!rest.empty()) {
        auto end = rest.find('\n');
        std::string line(rest.substr(0, end));
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        ++number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') continue;
        auto eq = line.find('=');
        std::string key = eq == std::string::npos ? "" : line.substr(first, eq - first);
        if (!is_key(key)) {
            return util::fail(util::ErrorCode::bad_input,
                              "$SLUICE_OUTPUT line " + std::to_string(number) +
                                  ": expected KEY=VALUE, got `" + line.substr(0, 60) + "`");
        }
        outputs[key] = line.substr(eq + 1);
    }
    return outputs;
}

}  // namespace sluice::engine
