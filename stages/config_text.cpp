// Reading a stage kind's configuration (see config_text.hpp).
#include "stages/config_text.hpp"

namespace sluice::stages {

std::string config_text(const nlohmann::json& config, const char* key) {
    auto it = config.find(key);
    return it != config.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace sluice::stages
