// push_image: blobs first (so the registry never holds a manifest whose blobs are
// missing), child manifests of an index next, the tagged manifest last.
#include "runner/oci/push.hpp"

#include "runner/oci/blob_locations.hpp"
#include "runner/oci/image_config.hpp"
#include "runner/oci/media_types.hpp"

namespace sluice::oci {

namespace {

struct Pusher {
    DistributionClient& client;
    const PushRequest& request;
    ImageLayout& layout;
    std::uint64_t chunk_threshold;
    PushResult result;
    std::vector<Digest> sent;

    util::Status push_blobs(const nlohmann::json& manifest) {
        auto parts = manifest_parts(manifest);
        if (!parts) return std::unexpected(parts.error());
        const std::string& repo = request.destination.repository;
        for (const auto& blob : blobs_to_push(*parts)) {
            if (auto ok = layout.verify_blob(blob); !ok) return ok;
            auto has = client.has_blob(repo, blob.digest);
            if (!has) return std::unexpected(has.error());
            auto known = known_locations(request.locations_file, client.registry(), blob.digest);
            BlobPlan plan = plan_blob(blob, *has, known, repo, chunk_threshold);
            if (plan.action == BlobAction::mount) {
                auto mounted = client.mount_blob(repo, blob.digest, plan.from);
                if (!mounted) return std::unexpected(mounted.error());
                if (!*mounted) plan = {BlobAction::upload, "", blob.size > static_cast<std::int64_t>(chunk_threshold)};
            }
            if (plan.action == BlobAction::upload) {
                auto path = layout.blob_path(blob.digest);
                auto up = plan.chunked ? client.upload_chunked(repo, path, blob)
                                       : client.upload_monolithic(repo, path, blob);
                if (!up) return up;
            }
            switch (plan.action) {
                case BlobAction::skip: ++result.skipped; break;
                case BlobAction::mount: ++result.mounted; break;
                case BlobAction::upload: ++result.uploaded; break;
            }
            std::string line = "  " + blob.digest.to_string().substr(0, 19) + " " +
                               std::to_string(blob.size) + " bytes: " + to_string(plan.action);
            if (plan.action == BlobAction::mount) line += " from " + plan.from;
            if (plan.action == BlobAction::upload) line += plan.chunked ? " (chunked)" : " (one PUT)";
            if (request.log) request.log(line);
            result.blobs.push_back({blob, plan.action, plan.from, plan.chunked});
            sent.push_back(blob.digest);
        }
        return {};
    }

    // Pushes a manifest or an index (children first) by digest, or under `tag`.
    util::Result<Digest> push_manifest(const Descriptor& d, const std::string& tag) {
        auto bytes = layout.read_blob(d);
        if (!bytes) return std::unexpected(bytes.error());
        auto json = nlohmann::json::parse(*bytes, nullptr, false);
        if (json.is_discarded() || !json.is_object()) {
            return util::fail(util::ErrorCode::bad_input, "manifest " + d.digest.to_string() +
                                                              " in " + layout.dir().string() +
                                                              " is not JSON");
        }
        std::string media_type = d.media_type.empty() ? json.value("mediaType", std::string())
                                                      : d.media_type;
        if (media::is_index(media_type)) {
            for (const auto& child : json.value("manifests", nlohmann::json::array())) {
                auto c = descriptor_from_json(child);
                if (!c) return std::unexpected(c.error());
                auto pushed = push_manifest(*c, c->digest.to_string());
                if (!pushed) return pushed;
            }
        } else {
            if (auto ok = push_blobs(json); !ok) return std::unexpected(ok.error());
        }
        if (media_type.empty()) media_type = std::string(media::k_oci_manifest);
        auto digest = client.put_manifest(request.destination.repository, tag, *bytes, media_type);
        if (!digest) return digest;
        if (*digest != d.digest) {
            return util::fail(util::ErrorCode::internal, "digest mismatch for manifest " +
                                                             d.digest.to_string());
        }
        return digest;
    }
};

}  // namespace

util::Result<PushResult> push_image(DistributionClient& client, const PushRequest& request,
                                    std::uint64_t chunk_threshold) {
    auto layout = ImageLayout::open(request.layout);
    if (!layout) return std::unexpected(layout.error());
    auto top = layout->resolve(request.ref_name);
    if (!top) return std::unexpected(top.error());
    const Reference& dest = request.destination;
    std::string tag = dest.tag.empty() ? top->digest.to_string() : dest.tag;
    Pusher pusher{client, request, *layout, chunk_threshold, {}, {}};
    auto digest = pusher.push_manifest(*top, tag);
    if (!digest) return std::unexpected(digest.error());
    PushResult result = std::move(pusher.result);
    result.digest = *digest;
    result.image = dest.name() + "@" + digest->to_string();
    result.tagged = dest.name() + ":" + tag;
    // Only a hint for later mounts: a failure to remember it does not fail the push.
    (void)record_locations(request.locations_file, client.registry(), dest.repository, pusher.sent);
    return result;
}

nlohmann::json to_json(const PushResult& r) {
    nlohmann::json blobs = nlohmann::json::array();
    for (const auto& b : r.blobs) {
        nlohmann::json j = {{"digest", b.blob.digest.to_string()},
                            {"size", b.blob.size},
                            {"media_type", b.blob.media_type},
                            {"action", to_string(b.action)}};
        if (!b.from.empty()) j["from"] = b.from;
        if (b.action == BlobAction::upload) j["chunked"] = b.chunked;
        blobs.push_back(j);
    }
    return {{"digest", r.digest.to_string()}, {"image", r.image},     {"tag", r.tagged},
            {"uploaded", r.uploaded},         {"mounted", r.mounted}, {"skipped", r.skipped},
            {"blobs", blobs}};
}

}  // namespace sluice::oci
