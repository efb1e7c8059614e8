// What a push does with each blob, decided from facts (pure, so it is tested without a
// registry): a blob the registry has is skipped; one it has in another repository that
// sluice knows of is mounted from there; any other is uploaded, in chunks when large.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runner/oci/descriptor.hpp"
#include "runner/oci/image_config.hpp"

namespace sluice::oci {

enum class BlobAction { skip, mount, upload };

struct BlobPlan {
    BlobAction action = BlobAction::upload;
    std::string from;      // mount: the repository it is mounted from
    bool chunked = false;  // upload: PATCH in chunks rather than one PUT
};

// The blobs of a manifest in push order: layers first, then the config, each once.
std::vector<Descriptor> blobs_to_push(const ManifestParts& manifest);

// registry_has: the HEAD answer; known_repositories: repositories of the same registry
// where the blob was pushed or pulled before.
BlobPlan plan_blob(const Descriptor& blob, bool registry_has,
                   const std::vector<std::string>& known_repositories,
                   const std::string& repository, std::uint64_t chunk_threshold);

std::string to_string(BlobAction action);  // "exists", "mounted", "uploaded"

}  // namespace sluice::oci
