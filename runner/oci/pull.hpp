// Pulling an image from a registry into an OCI layout (the base of an image stage): an
// index is resolved to its linux/amd64 manifest; the manifest, config and layers are
// stored verified, blobs the layout already holds are not fetched again.
#pragma once

#include <filesystem>
#include <functional>

#include <nlohmann/json.hpp>

#include "runner/oci/distribution_client.hpp"
#include "runner/oci/reference.hpp"

namespace sluice::oci {

struct PullResult {
    Descriptor manifest;        // as stored in the layout (the platform's, not the index)
    nlohmann::json manifest_json;
    nlohmann::json config;
};

util::Result<PullResult> pull_image(DistributionClient& client, const Reference& reference,
                                    ImageLayout& layout,
                                    const std::filesystem::path& locations_file = {},
                                    const std::function<void(const std::string&)>& log = {});

}  // namespace sluice::oci
