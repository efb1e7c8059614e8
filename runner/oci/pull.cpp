// pull_image over DistributionClient.
#include "runner/oci/pull.hpp"

#include "runner/oci/blob_locations.hpp"
#include "runner/oci/image_config.hpp"
#include "runner/oci/media_types.hpp"
#include "runner/oci/push_plan.hpp"

namespace sluice::oci {

util::Result<PullResult> pull_image(DistributionClient& client, const Reference& reference,
                                    ImageLayout& layout,
                                    const std::filesystem::path& locations_file,
                                    const std::function<void(const std::string&)>& log) {
    const std::string& repo = reference.repository;
    auto fetched = client.get_manifest(repo, reference.tag_or_digest());
    if (!fetched) return std::unexpected(fetched.error());
    auto json = nlohmann::json::parse(fetched->bytes, nullptr, false);
    if (media::is_index(fetched->media_type) ||
        (json.is_object() && json.contains("manifests") && !json.contains("layers"))) {
        auto chosen = pick_platform(json);
        if (!chosen) {
            return util::fail(chosen.error().code,
                              reference.to_string() + ": " + chosen.error().message);
        }
        if (log) {
            log("  " + reference.to_string() + " is an index; using linux/amd64 " +
                chosen->digest.to_string());
        }
        fetched = client.get_manifest(repo, chosen->digest.to_string());
        if (!fetched) return std::unexpected(fetched.error());
        json = nlohmann::json::parse(fetched->bytes, nullptr, false);
    }
    auto parts = manifest_parts(json);
    if (!parts) return util::fail(util::ErrorCode::unavailable,
                                  reference.to_string() + ": " + parts.error().message);
    std::vector<Digest> digests;
    for (const auto& blob : blobs_to_push(*parts)) {
        if (auto ok = client.get_blob(repo, blob, layout); !ok) return std::unexpected(ok.error());
        digests.push_back(blob.digest);
    }
    auto stored = layout.write_blob(fetched->bytes, fetched->media_type);
    if (!stored) return std::unexpected(stored.error());
    auto config = layout.read_blob(parts->config);
    if (!config) return std::unexpected(config.error());
    PullResult result;
    result.manifest = *stored;
    result.manifest_json = json;
    result.config = nlohmann::json::parse(*config, nullptr, false);
    if (!result.config.is_object()) {
        return util::fail(util::ErrorCode::unavailable,
                          reference.to_string() + ": its config is not a JSON object");
    }
    (void)record_locations(locations_file, client.registry(), repo, digests);
    return result;
}

}  // namespace sluice::oci
