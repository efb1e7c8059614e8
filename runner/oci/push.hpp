// Pushing an image of an OCI layout to a registry: each blob is skipped, mounted or
// uploaded (push_plan), then the manifest is PUT under the tag. Only when the registry
// has accepted every blob and the manifest, with the digests sluice computed, is the
// image pushed; any failure before that is an error and nothing is reported pushed.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runner/oci/distribution_client.hpp"
#include "runner/oci/push_plan.hpp"
#include "runner/oci/reference.hpp"

namespace sluice::oci {

struct PushRequest {
    std::filesystem::path layout;
    std::string ref_name;                 // the image in the layout ("" = its only one)
    Reference destination;                // registry/repository:tag
    std::filesystem::path locations_file; // blob_locations.hpp ("" = none)
    std::function<void(const std::string&)> log;  // one line per blob
};

struct PushedBlob {
    Descriptor blob;
    BlobAction action = BlobAction::upload;
    std::string from;
    bool chunked = false;
};

struct PushResult {
    Digest digest;              // of the manifest (or index) pushed
    std::string image;          // registry/repository@sha256:...
    std::string tagged;         // registry/repository:tag
    std::vector<PushedBlob> blobs;
    int uploaded = 0;
    int mounted = 0;
    int skipped = 0;
};

util::Result<PushResult> push_image(DistributionClient& client, const PushRequest& request,
                                    std::uint64_t chunk_threshold);

nlohmann::json to_json(const PushResult& result);

}  // namespace sluice::oci
