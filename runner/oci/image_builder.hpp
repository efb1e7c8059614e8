// Building an image without a daemon: the base (scratch, an OCI layout, or an image
// pulled from a registry), one reproducible layer of the context, the config and the
// manifest, written as an OCI layout and named in its index.json. Or, with a builder
// command, checking and naming the layout the user's command left.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runner/http/http_client.hpp"
#include "runner/oci/descriptor.hpp"
#include "runner/oci/image_config.hpp"
#include "runner/util/error.hpp"

namespace sluice::oci {

// What the image kind hands to `sluice internal image-build` (as JSON).
struct BuildSpec {
    std::string stage;
    std::filesystem::path workspace;
    std::filesystem::path context;        // absolute
    std::vector<std::string> ignore;
    std::string base = "scratch";         // scratch | oci:PATH[:REF] | PATH | a registry reference
    std::string tag;                      // the image's reference ("" when none)
    std::string ref_name;                 // its name in index.json
    ImageSettings settings;
    std::filesystem::path layout;         // the OCI layout written (replaced when it exists)
    std::vector<std::string> builder_argv;  // not empty: the user's command builds the image
    std::vector<std::string> insecure;    // registries spoken to over http
    std::filesystem::path docker_config;  // config.json with credentials for base images
    std::filesystem::path locations_file; // blob_locations.hpp
    std::filesystem::path report_file;    // where the process leaves its report (JSON)
    std::filesystem::path state_dir;      // for the model version label
    std::string run_id;
    std::vector<std::string> models;      // models whose version this run logged
};

nlohmann::json to_json(const BuildSpec& spec);
util::Result<BuildSpec> build_spec_from_json(const nlohmann::json& json);

struct BuildResult {
    Descriptor manifest;
    std::filesystem::path layout;
    std::string ref_name;
    std::string base;           // what the base resolved to ("scratch", a digest, ...)
    std::size_t layers = 0;
    Digest layer;               // the context's layer (built-in builder only)
    std::size_t files = 0;      // entries in that layer
};

using LogLine = std::function<void(const std::string&)>;

// The built-in builder.
util::Result<BuildResult> build_image(const BuildSpec& spec, http::HttpClient& http,
                                      const LogLine& log);

// After a builder command: the layout it left at spec.layout, its image checked (every
// blob against its digest) and named spec.ref_name.
util::Result<BuildResult> adopt_built_image(const BuildSpec& spec);

nlohmann::json to_json(const BuildResult& result);

}  // namespace sluice::oci
