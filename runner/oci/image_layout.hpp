// An OCI image layout on disk (image-spec `image-layout.md`): `oci-layout`, `index.json`
// and `blobs/sha256/<hex>`. Every write is a temporary file renamed into place, so a
// reader never sees half a blob or half an index; every read of a blob checks its digest
// (and size when known), so a corrupted layout is an error, never a wrong image.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "runner/oci/descriptor.hpp"
#include "runner/util/error.hpp"

namespace sluice::oci {

// The annotation that names a manifest of index.json ("latest", "v1", ...).
inline constexpr std::string_view k_ref_name_annotation = "org.opencontainers.image.ref.name";

class ImageLayout {
public:
    // Opens the layout at dir, creating oci-layout and an empty index.json when missing.
    static util::Result<ImageLayout> create(const std::filesystem::path& dir);
    // Opens an existing layout; not_found / bad_input when dir is not one.
    static util::Result<ImageLayout> open(const std::filesystem::path& dir);

    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path blob_path(const Digest& digest) const;
    bool has_blob(const Digest& digest) const;

    // A fresh temporary file name inside the layout (same file system as the blobs).
    std::filesystem::path temp_path() const;
    // Stores bytes as a blob; its descriptor (media type as given).
    util::Result<Descriptor> write_blob(std::string_view bytes, std::string media_type);
    // Moves a finished file into the blobs after checking it has `expected` digest and
    // size (when given); the file is removed on failure.
    util::Result<Descriptor> adopt_file(const std::filesystem::path& file, std::string media_type,
                                        const std::optional<Digest>& expected = std::nullopt,
                                        std::optional<std::int64_t> expected_size = std::nullopt);
    // Copies (or hard-links) a verified blob of another layout into this one.
    util::Status copy_blob_from(const ImageLayout& other, const Descriptor& blob);

    // The blob's bytes, checked against the descriptor's digest and size.
    util::Result<std::string> read_blob(const Descriptor& blob) const;
    // Checks a blob's size and digest without keeping it in memory.
    util::Status verify_blob(const Descriptor& blob) const;

    util::Result<nlohmann::json> read_index() const;
    util::Status write_index(const nlohmann::json& index) const;
    // Points ref_name at manifest in index.json (replacing what it named before).
    util::Status tag(const Descriptor& manifest, const std::string& ref_name) const;
    // The manifest (or index) ref_name names; with an empty ref_name, the only one there.
    util::Result<Descriptor> resolve(std::string_view ref_name) const;

private:
    explicit ImageLayout(std::filesystem::path dir) : dir_(std::move(dir)) {}
    std::filesystem::path dir_;
};

// "oci:PATH[:REF]" or a plain path: the layout directory and the ref name (may be empty).
struct LayoutReference {
    std::filesystem::path dir;
    std::string ref_name;
};
LayoutReference parse_layout_reference(std::string_view text);

}  // namespace sluice::oci
