// Reading a stage's $SLUICE_OUTPUT file.
#include "runner/engine/stage_outputs.hpp"

#include <fstream>

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

util::Result<nlohmann::json> read_stage_outputs(const std::filesystem::path& file) {
    nlohmann::json outputs = nlohmann::json::object();
    std::ifstream in(file);
    if (!in) return outputs;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
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
