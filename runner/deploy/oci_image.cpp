// Reading an OCI image layout.
#include "runner/deploy/oci_image.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runner/util/sha256.hpp"

namespace sluice::deploy {

namespace {

using util::ErrorCode;
using util::fail;

constexpr std::string_view k_index_media = "application/vnd.oci.image.index.v1+json";
constexpr std::string_view k_docker_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";

bool is_hex64(std::string_view text) {
    if (text.size() != 64) return false;
    for (char c : text) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

// The blob file of a "sha256:HEX" digest; bad_input for any other form (no path tricks).
util::Result<std::filesystem::path> blob_path(const std::filesystem::path& layout,
                                              const std::string& digest) {
    if (digest.rfind("sha256:", 0) != 0 || !is_hex64(std::string_view(digest).substr(7))) {
        return fail(ErrorCode::bad_input,
                    layout.string() + ": unsupported or malformed digest `" + digest + "`");
    }
    return layout / "blobs" / "sha256" / digest.substr(7);
}

// SHA-256 of a file, streamed; nullopt when it cannot be read.
std::optional<std::string> file_digest(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    util::Sha256 hash;
    std::string buffer(1 << 16, '\0');
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        auto n = in.gcount();
        if (n > 0) hash.update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    }
    if (in.bad()) return std::nullopt;
    return "sha256:" + util::digest_hex(hash.finish());
}

// A JSON blob, checked against its digest.
util::Result<nlohmann::json> read_blob_json(const std::filesystem::path& layout,
                                            const std::string& digest, const char* what) {
    auto path = blob_path(layout, digest);
    if (!path) return std::unexpected(path.error());
    std::ifstream in(*path, std::ios::binary);
    if (!in) {
        return fail(ErrorCode::bad_input, layout.string() + ": the " + what + " blob " + digest +
                                              " is missing (" + path->string() + ")");
    }
    std::stringstream text;
    text << in.rdbuf();
    std::string bytes = text.str();
    if ("sha256:" + util::sha256_hex(bytes) != digest) {
        return fail(ErrorCode::bad_input, layout.string() + ": the " + what + " blob " + digest +
                                              " does not match its digest");
    }
    auto json = nlohmann::json::parse(bytes, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        return fail(ErrorCode::bad_input, layout.string() + ": the " + what + " blob " + digest +
                                              " is not a JSON object");
    }
    return json;
}

std::vector<std::string> strings_of(const nlohmann::json& object, const char* key) {
    std::vector<std::string> out;
    auto it = object.find(key);
    if (it == object.end() || !it->is_array()) return out;
    for (const auto& item : *it) {
        if (item.is_string()) out.push_back(item.get<std::string>());
    }
    return out;
}

// The manifest descriptor to use among an index's manifests.
const nlohmann::json* pick(const nlohmann::json& manifests) {
    const nlohmann::json* fallback = nullptr;
    for (const auto& m : manifests) {
        if (!m.is_object() || !m.contains("digest")) continue;
        auto platform = m.find("platform");
        if (platform == m.end()) return &m;
        if (platform->value("os", "") == "linux" &&
            platform->value("architecture", "") == "amd64") {
            return &m;
        }
        if (fallback == nullptr) fallback = &m;
    }
    return fallback;
}

}  // namespace

util::Result<OciImage> read_oci_layout(const std::filesystem::path& layout) {
    std::ifstream marker(layout / "oci-layout");
    if (!marker) {
        return fail(ErrorCode::bad_input,
                    layout.string() + " is not an OCI image layout (no oci-layout file)");
    }
    std::ifstream index_in(layout / "index.json");
    std::stringstream index_text;
    index_text << index_in.rdbuf();
    auto index = nlohmann::json::parse(index_text.str(), nullptr, false);
    if (!index_in || index.is_discarded() || !index.is_object() || !index.contains("manifests") ||
        !index["manifests"].is_array()) {
        return fail(ErrorCode::bad_input,
                    (layout / "index.json").string() + " is not an OCI image index");
    }
    const nlohmann::json* chosen = pick(index["manifests"]);
    if (chosen == nullptr) {
        return fail(ErrorCode::bad_input, (layout / "index.json").string() + " lists no manifest");
    }
    std::string digest =
        (*chosen)["digest"].is_string() ? (*chosen)["digest"].get<std::string>() : "";
    auto manifest = read_blob_json(layout, digest, "manifest");
    if (!manifest) return std::unexpected(manifest.error());
    std::string media = manifest->value("mediaType", chosen->value("mediaType", ""));
    if (media == k_index_media || media == k_docker_list) {  // a nested index: once
        const nlohmann::json* inner =
            manifest->contains("manifests") ? pick((*manifest)["manifests"]) : nullptr;
        if (inner == nullptr) {
            return fail(ErrorCode::bad_input,
                        layout.string() + ": the index " + digest + " lists no manifest");
        }
        digest = (*inner)["digest"].is_string() ? (*inner)["digest"].get<std::string>() : "";
        manifest = read_blob_json(layout, digest, "manifest");
        if (!manifest) return std::unexpected(manifest.error());
    }
    if (!manifest->contains("config") || !(*manifest)["config"].is_object() ||
        !manifest->contains("layers") || !(*manifest)["layers"].is_array()) {
        return fail(ErrorCode::bad_input,
                    layout.string() + ": the manifest " + digest + " has no config or no layers");
    }
    OciImage image;
    image.digest = digest;
    auto config = read_blob_json(layout, (*manifest)["config"].value("digest", ""), "config");
    if (!config) return std::unexpected(config.error());
    nlohmann::json settings = config->value("config", nlohmann::json::object());
    if (!settings.is_object()) settings = nlohmann::json::object();
    image.entrypoint = strings_of(settings, "Entrypoint");
    image.cmd = strings_of(settings, "Cmd");
    image.working_dir = settings.value("WorkingDir", "");
    for (const auto& entry : strings_of(settings, "Env")) {
        auto eq = entry.find('=');
        if (eq == std::string::npos || eq == 0) continue;
        image.env.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
    }
    for (const auto& layer : (*manifest)["layers"]) {
        std::string layer_digest = layer.is_object() ? layer.value("digest", "") : "";
        auto path = blob_path(layout, layer_digest);
        if (!path) return std::unexpected(path.error());
        auto actual = file_digest(*path);
        if (!actual) {
            return fail(ErrorCode::bad_input,
                        layout.string() + ": the layer blob " + layer_digest + " is missing");
        }
        if (*actual != layer_digest) {
            return fail(ErrorCode::bad_input, layout.string() + ": the layer blob " + layer_digest +
                                                  " does not match its digest");
        }
        image.layers.push_back({*path, layer.value("mediaType", ""), layer_digest});
    }
    return image;
}

}  // namespace sluice::deploy
