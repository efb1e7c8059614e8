// What the push kind hands to `sluice internal push` (as JSON). Credentials are not in
// it: they reach the process in its environment (SLUICE_REGISTRY_USERNAME and
// SLUICE_REGISTRY_PASSWORD), so no secret is written to the state directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runner/util/error.hpp"

namespace sluice::oci {

struct PushSpec {
    std::string stage;
    std::filesystem::path layout;
    std::string ref_name;                  // the image in the layout ("" = its only one)
    std::string destination;               // registry/repository:tag
    std::vector<std::string> insecure;
    std::filesystem::path docker_config;   // used when the environment has no credentials
    std::filesystem::path locations_file;
    std::filesystem::path report_file;
    std::uint64_t chunk_size = 16 * 1024 * 1024;  // larger blobs go up in chunks of this
    int attempts = 5;                              // tries per request
};

nlohmann::json to_json(const PushSpec& spec);
util::Result<PushSpec> push_spec_from_json(const nlohmann::json& json);

}  // namespace sluice::oci
