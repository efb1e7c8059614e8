// Push planning.
#include "runner/oci/push_plan.hpp"

#include <algorithm>

namespace sluice::oci {

std::vector<Descriptor> blobs_to_push(const ManifestParts& manifest) {
    std::vector<Descriptor> out;
    auto add = [&](const Descriptor& d) {
        bool seen = std::ranges::any_of(out, [&](const Descriptor& o) { return o.digest == d.digest; });
        if (!seen) out.push_back(d);
    };
    for (const auto& l : manifest.layers) add(l);
    add(manifest.config);
    return out;
}

BlobPlan plan_blob(const Descriptor& blob, bool registry_has,
                   const std::vector<std::string>& known_repositories,
                   const std::string& repository, std::uint64_t chunk_threshold) {
    if (registry_has) return {BlobAction::skip, "", false};
    for (const auto& r : known_repositories) {
        if (r != repository) return {BlobAction::mount, r, false};
    }
    return {BlobAction::upload, "", static_cast<std::uint64_t>(blob.size) > chunk_threshold};
}

std::string to_string(BlobAction action) {
    switch (action) {
        case BlobAction::skip:
            return "exists";
        case BlobAction::mount:
            return "mounted";
        case BlobAction::upload:
            return "uploaded";
    }
    return "?";
}

}  // namespace sluice::oci
