// Descriptor <-> JSON.
#include "runner/oci/descriptor.hpp"

namespace sluice::oci {

nlohmann::json to_json(const Descriptor& d) {
    nlohmann::json j = {{"mediaType", d.media_type}, {"digest", d.digest.to_string()},
                        {"size", d.size}};
    if (d.annotations.is_object() && !d.annotations.empty()) j["annotations"] = d.annotations;
    if (d.platform.is_object()) j["platform"] = d.platform;
    return j;
}

util::Result<Descriptor> descriptor_from_json(const nlohmann::json& j) {
    if (!j.is_object() || !j.contains("digest") || !j["digest"].is_string() ||
        !j.contains("size") || !j["size"].is_number_integer() || j["size"].get<std::int64_t>() < 0) {
        return util::fail(util::ErrorCode::bad_input,
                          "not a content descriptor: " + j.dump().substr(0, 200));
    }
    auto digest = parse_digest(j["digest"].get<std::string>());
    if (!digest) return std::unexpected(digest.error());
    Descriptor d;
    d.media_type = j.value("mediaType", std::string());
    d.digest = *digest;
    d.size = j["size"].get<std::int64_t>();
    if (j.contains("annotations") && j["annotations"].is_object()) d.annotations = j["annotations"];
    if (j.contains("platform") && j["platform"].is_object()) d.platform = j["platform"];
    return d;
}

}  // namespace sluice::oci
