// Reading an OCI image layout (https://github.com/opencontainers/image-spec, layout.md):
// `oci-layout`, `index.json` → the image manifest → its config and layers in
// `blobs/sha256/`. What a local deployment needs from it: the manifest digest, the
// layers to unpack in order, and the config's Entrypoint, Cmd, Env and WorkingDir.
// Every blob read is checked against its digest, so a damaged layout is an error, never
// a half-right service.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "runner/util/error.hpp"

namespace sluice::deploy {

struct ImageLayer {
    std::filesystem::path blob;  // the layer's file in blobs/sha256/
    std::string media_type;      // ...tar, ...tar+gzip (docker's rootfs.diff.tar.gzip too)
    std::string digest;          // sha256:...
};

struct OciImage {
    std::string digest;                                    // the manifest's, "sha256:..."
    std::vector<ImageLayer> layers;                        // bottom first
    std::vector<std::string> entrypoint;                   // config.Entrypoint
    std::vector<std::string> cmd;                          // config.Cmd
    std::vector<std::pair<std::string, std::string>> env;  // config.Env, in order
    std::string working_dir;                               // config.WorkingDir ("" = /)
};

// Reads the layout at `layout`. With several manifests in index.json the first one for
// linux/amd64 (or without a platform) is taken; a nested index is followed once.
// bad_input (saying which file and what) for anything that is not a whole layout.
util::Result<OciImage> read_oci_layout(const std::filesystem::path& layout);

}  // namespace sluice::deploy
