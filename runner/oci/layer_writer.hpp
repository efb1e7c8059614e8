// A filesystem layer from a directory, reproducibly: the same files (names, content,
// symlink targets, executable bits) give the same bytes, whatever their mtimes, owners
// or the order the directory lists them in. Entries are sorted by path; every mtime is
// 0 (1970-01-01), uid/gid 0 with no user or group names, modes 0755 (directories and
// files executable by their owner) or 0644; the tar is PAX (libarchive) and the gzip
// stream has no name and no timestamp (zlib).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "runner/oci/descriptor.hpp"
#include "runner/oci/image_layout.hpp"
#include "runner/util/error.hpp"

namespace sluice::oci {

struct LayerSource {
    std::filesystem::path context;    // the directory whose content becomes the layer
    std::string destination;          // where it lands in the image ("app"; "" = the root)
    std::vector<std::string> ignore;  // glob patterns relative to the context (`!` re-includes)
};

struct Layer {
    Descriptor blob;       // the gzip tar as stored (media type: OCI tar+gzip)
    Digest diff_id;        // the digest of the uncompressed tar (the config's rootfs)
    std::size_t entries = 0;
};

// The patterns every context ignores (".git"), then `ignore`, then the lines of the
// context's `.dockerignore` when it has one.
std::vector<std::string> ignore_patterns(const std::filesystem::path& context,
                                         const std::vector<std::string>& ignore);

// The context's paths (relative, '/'-separated, sorted) that go into the layer: a path is
// left out when a pattern matches it or one of its parent directories.
util::Result<std::vector<std::string>> context_entries(const std::filesystem::path& context,
                                                       const std::vector<std::string>& patterns);

// Writes the layer of `source` into the layout's blobs.
util::Result<Layer> write_layer(ImageLayout& layout, const LayerSource& source);

}  // namespace sluice::oci
