// The image's configuration and manifest JSON (image-spec config.md and manifest.md):
// what a new image inherits from its base, what the stage's keys set, and choosing
// the linux/amd64 image of an index.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runner/oci/descriptor.hpp"
#include "runner/util/error.hpp"

namespace sluice::oci {

struct ImageSettings {
    nlohmann::json entrypoint = nullptr;  // a string (shell form) or a list (exec form)
    nlohmann::json cmd = nullptr;         // same
    std::map<std::string, std::string> env;
    std::string workdir;
    std::vector<std::string> expose;  // "8080", "8080/tcp", "53/udp"
    std::map<std::string, std::string> labels;
    std::string created_by;           // the history entry of the new layer
};

// A string is Docker's shell form: ["/bin/sh", "-c", s]; a list stays as it is.
nlohmann::json command_form(const nlohmann::json& value);

// The config of the image: the base's config (an empty object for scratch), its
// rootfs with one more layer (diff_id), and the settings on top (env by name,
// labels by key; an entrypoint without a cmd clears the base's cmd, as Docker does).
// No timestamps: `created` is 1970-01-01, so the same inputs give the same config.
nlohmann::json build_config(const nlohmann::json& base_config, const Digest& diff_id,
                            const ImageSettings& settings);

// An OCI manifest of config and layers.
nlohmann::json build_manifest(const Descriptor& config, const std::vector<Descriptor>& layers);

// The descriptors of a manifest: its config and its layers (bad_input when it is not one).
struct ManifestParts {
    Descriptor config;
    std::vector<Descriptor> layers;
};
util::Result<ManifestParts> manifest_parts(const nlohmann::json& manifest);

// The manifest of an index for os/architecture (bad_input naming what the index has).
util::Result<Descriptor> pick_platform(const nlohmann::json& index, const std::string& os = "linux",
                                       const std::string& architecture = "amd64");

// Docker's media types for the same content become OCI's (the bytes do not change).
std::string oci_media_type(const std::string& media_type);

}  // namespace sluice::oci
