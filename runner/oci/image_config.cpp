// Config and manifest JSON with nlohmann_json (its objects are sorted by key, so the
// same values always serialise to the same bytes).
#include "runner/oci/image_config.hpp"

#include "runner/oci/media_types.hpp"

namespace sluice::oci {

nlohmann::json command_form(const nlohmann::json& value) {
    if (value.is_string()) return nlohmann::json::array({"/bin/sh", "-c", value.get<std::string>()});
    return value;
}

nlohmann::json build_config(const nlohmann::json& base_config, const Digest& diff_id,
                            const ImageSettings& s) {
    nlohmann::json config = base_config.is_object() ? base_config : nlohmann::json::object();
    config["architecture"] = config.value("architecture", std::string("amd64"));
    config["os"] = config.value("os", std::string("linux"));
    config["created"] = "1970-01-01T00:00:00Z";
    nlohmann::json& c = config["config"];
    if (!c.is_object()) c = nlohmann::json::object();

    // Env: the base's, replaced by name, new names appended in order of name.
    std::vector<std::string> env;
    if (c.contains("Env") && c["Env"].is_array()) {
        for (const auto& e : c["Env"]) {
            if (e.is_string()) env.push_back(e.get<std::string>());
        }
    }
    for (const auto& [name, value] : s.env) {
        bool replaced = false;
        for (auto& e : env) {
            if (e.substr(0, e.find('=')) == name) {
                e = name + "=" + value;
                replaced = true;
            }
        }
        if (!replaced) env.push_back(name + "=" + value);
    }
    if (!env.empty()) c["Env"] = env;
    if (!s.entrypoint.is_null()) {
        c["Entrypoint"] = command_form(s.entrypoint);
        if (s.cmd.is_null()) c.erase("Cmd");
    }
    if (!s.cmd.is_null()) c["Cmd"] = command_form(s.cmd);
    if (!s.workdir.empty()) c["WorkingDir"] = s.workdir;
    if (!s.expose.empty()) {
        nlohmann::json& ports = c["ExposedPorts"];
        if (!ports.is_object()) ports = nlohmann::json::object();
        for (const auto& p : s.expose) {
            ports[p.find('/') == std::string::npos ? p + "/tcp" : p] = nlohmann::json::object();
        }
    }
    if (!s.labels.empty()) {
        nlohmann::json& labels = c["Labels"];
        if (!labels.is_object()) labels = nlohmann::json::object();
        for (const auto& [k, v] : s.labels) labels[k] = v;
    }

    nlohmann::json& rootfs = config["rootfs"];
    if (!rootfs.is_object()) rootfs = nlohmann::json::object();
    rootfs["type"] = "layers";
    if (!rootfs.contains("diff_ids") || !rootfs["diff_ids"].is_array()) {
        rootfs["diff_ids"] = nlohmann::json::array();
    }
    rootfs["diff_ids"].push_back(diff_id.to_string());
    if (!config.contains("history") || !config["history"].is_array()) {
        config["history"] = nlohmann::json::array();
    }
    config["history"].push_back({{"created", "1970-01-01T00:00:00Z"},
                                 {"created_by", s.created_by.empty() ? "sluice" : s.created_by}});
    return config;
}

nlohmann::json build_manifest(const Descriptor& config, const std::vector<Descriptor>& layers) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& l : layers) list.push_back(to_json(l));
    return {{"schemaVersion", 2},
            {"mediaType", media::k_oci_manifest},
            {"config", to_json(config)},
            {"layers", list}};
}

util::Result<ManifestParts> manifest_parts(const nlohmann::json& manifest) {
    if (!manifest.is_object() || !manifest.contains("config") || !manifest.contains("layers") ||
        !manifest["layers"].is_array()) {
        return util::fail(util::ErrorCode::bad_input, "not an image manifest (no config or layers)");
    }
    ManifestParts parts;
    auto config = descriptor_from_json(manifest["config"]);
    if (!config) return std::unexpected(config.error());
    parts.config = *config;
    for (const auto& l : manifest["layers"]) {
        auto layer = descriptor_from_json(l);
        if (!layer) return std::unexpected(layer.error());
        parts.layers.push_back(*layer);
    }
    return parts;
}

util::Result<Descriptor> pick_platform(const nlohmann::json& index, const std::string& os,
                                       const std::string& architecture) {
    if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array()) {
        return util::fail(util::ErrorCode::bad_input, "not an image index (no manifests)");
    }
    std::string seen;
    for (const auto& m : index["manifests"]) {
        const auto& p = m.contains("platform") ? m["platform"] : nlohmann::json();
        std::string m_os = p.is_object() ? p.value("os", "") : "";
        std::string m_arch = p.is_object() ? p.value("architecture", "") : "";
        if (m_os == os && m_arch == architecture) return descriptor_from_json(m);
        seen += (seen.empty() ? "" : ", ") + m_os + "/" + m_arch;
    }
    return util::fail(util::ErrorCode::bad_input, "the image index has no " + os + "/" +
                                                      architecture + " image (it has: " +
                                                      (seen.empty() ? "none" : seen) + ")");
}

std::string oci_media_type(const std::string& media_type) {
    if (media_type == media::k_docker_layer_gzip) return std::string(media::k_oci_layer_gzip);
    if (media_type == media::k_docker_config) return std::string(media::k_oci_config);
    if (media_type == media::k_docker_manifest) return std::string(media::k_oci_manifest);
    if (media_type == media::k_docker_list) return std::string(media::k_oci_index);
    return media_type;
}

}  // namespace sluice::oci
