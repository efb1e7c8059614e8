// Reading a stage kind's spec file (see spec_file.hpp).
#include "runner/cli/spec_file.hpp"

#include <fstream>
#include <sstream>

namespace sluice::cli {

util::Result<nlohmann::json> read_spec_file(const std::string& path, std::string_view what) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    auto json = nlohmann::json::parse(text.str(), nullptr, false);
    if (!in || json.is_discarded()) {
        return util::fail(util::ErrorCode::bad_input,
                          "cannot read " + std::string(what) + " " + path);
    }
    return json;
}

}  // namespace sluice::cli
