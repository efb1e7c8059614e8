// ImageLayout: blobs and index.json, atomic writes, verified reads.
#include "runner/oci/image_layout.hpp"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>

#include "runner/util/atomic_file.hpp"

namespace sluice::oci {

namespace {

constexpr std::string_view k_layout_file = R"({"imageLayoutVersion":"1.0.0"})";

util::Result<std::string> read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return util::fail(util::ErrorCode::not_found, "cannot read " + path.string());
    std::stringstream text;
    text << in.rdbuf();
    if (in.bad()) return util::fail(util::ErrorCode::io, "cannot read " + path.string());
    return text.str();
}

}  // namespace

util::Result<ImageLayout> ImageLayout::create(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir / "blobs" / "sha256", ec);
    if (ec) return util::fail(util::ErrorCode::io, "cannot create " + dir.string() + ": " + ec.message());
    if (!std::filesystem::exists(dir / "oci-layout")) {
        if (auto w = util::write_file_atomically(dir / "oci-layout", std::string(k_layout_file) + "\n"); !w) {
            return std::unexpected(w.error());
        }
    }
    ImageLayout layout(dir);
    if (!std::filesystem::exists(dir / "index.json")) {
        nlohmann::json index = {{"schemaVersion", 2},
                                {"mediaType", "application/vnd.oci.image.index.v1+json"},
                                {"manifests", nlohmann::json::array()}};
        if (auto w = layout.write_index(index); !w) return std::unexpected(w.error());
    }
    return layout;
}

util::Result<ImageLayout> ImageLayout::open(const std::filesystem::path& dir) {
    auto marker = read_text(dir / "oci-layout");
    if (!marker) {
        return util::fail(util::ErrorCode::not_found,
                          dir.string() + " is not an OCI image layout (no oci-layout file)");
    }
    auto json = nlohmann::json::parse(*marker, nullptr, false);
    if (json.is_discarded() || !json.is_object() || json.value("imageLayoutVersion", "") != "1.0.0") {
        return util::fail(util::ErrorCode::bad_input,
                          dir.string() + "/oci-layout is not {\"imageLayoutVersion\": \"1.0.0\"}");
    }
    return ImageLayout(dir);
}

std::filesystem::path ImageLayout::blob_path(const Digest& digest) const {
    return dir_ / "blobs" / "sha256" / digest.hex;
}

bool ImageLayout::has_blob(const Digest& digest) const {
    std::error_code ec;
    return std::filesystem::is_regular_file(blob_path(digest), ec);
}

std::filesystem::path ImageLayout::temp_path() const {
    static std::atomic<unsigned> counter{0};
    return dir_ / "blobs" / "sha256" /
           (".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
}

util::Result<Descriptor> ImageLayout::write_blob(std::string_view bytes, std::string media_type) {
    Descriptor d{std::move(media_type), digest_of(bytes), static_cast<std::int64_t>(bytes.size()),
                 nullptr, nullptr};
    if (!has_blob(d.digest)) {
        if (auto w = util::write_file_atomically(blob_path(d.digest), bytes); !w) {
            return std::unexpected(w.error());
        }
    }
    return d;
}

util::Result<Descriptor> ImageLayout::adopt_file(const std::filesystem::path& file,
                                                 std::string media_type,
                                                 const std::optional<Digest>& expected,
                                                 std::optional<std::int64_t> expected_size) {
    auto drop = [&] {
        std::error_code ignored;
        std::filesystem::remove(file, ignored);
    };
    std::error_code ec;
    auto size = static_cast<std::int64_t>(std::filesystem::file_size(file, ec));
    if (ec) {
        drop();
        return util::fail(util::ErrorCode::io, "cannot read " + file.string() + ": " + ec.message());
    }
    auto digest = digest_of_file(file);
    if (!digest) {
        drop();
        return std::unexpected(digest.error());
    }
    if ((expected && *expected != *digest) || (expected_size && *expected_size != size)) {
        drop();
        return util::fail(util::ErrorCode::unavailable,
                          "digest mismatch: expected " +
                              (expected ? expected->to_string() : std::string("?")) + " (" +
                              std::to_string(expected_size.value_or(size)) + " bytes), got " +
                              digest->to_string() + " (" + std::to_string(size) + " bytes)");
    }
    std::filesystem::rename(file, blob_path(*digest), ec);
    if (ec) {
        drop();
        return util::fail(util::ErrorCode::io, "cannot store blob " + digest->to_string() + ": " +
                                                   ec.message());
    }
    return Descriptor{std::move(media_type), *digest, size, nullptr, nullptr};
}

util::Status ImageLayout::copy_blob_from(const ImageLayout& other, const Descriptor& blob) {
    if (has_blob(blob.digest)) return {};
    if (auto ok = other.verify_blob(blob); !ok) return ok;
    auto temp = temp_path();
    std::error_code ec;
    std::filesystem::create_hard_link(other.blob_path(blob.digest), temp, ec);
    if (ec) {
        ec.clear();
        std::filesystem::copy_file(other.blob_path(blob.digest), temp, ec);
        if (ec) {
            return util::fail(util::ErrorCode::io,
                              "cannot copy blob " + blob.digest.to_string() + ": " + ec.message());
        }
    }
    auto adopted = adopt_file(temp, blob.media_type, blob.digest, blob.size);
    if (!adopted) return std::unexpected(adopted.error());
    return {};
}

util::Result<std::string> ImageLayout::read_blob(const Descriptor& blob) const {
    auto text = read_text(blob_path(blob.digest));
    if (!text) {
        return util::fail(util::ErrorCode::not_found,
                          "blob " + blob.digest.to_string() + " is missing from " + dir_.string());
    }
    if (static_cast<std::int64_t>(text->size()) != blob.size || digest_of(*text) != blob.digest) {
        return util::fail(util::ErrorCode::bad_input, "blob " + blob.digest.to_string() + " in " +
                                                          dir_.string() +
                                                          " is corrupted (its content does not "
                                                          "match its digest)");
    }
    return text;
}

util::Status ImageLayout::verify_blob(const Descriptor& blob) const {
    auto path = blob_path(blob.digest);
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    if (ec) {
        return util::fail(util::ErrorCode::not_found,
                          "blob " + blob.digest.to_string() + " is missing from " + dir_.string());
    }
    auto digest = digest_of_file(path);
    if (!digest) return std::unexpected(digest.error());
    if (static_cast<std::int64_t>(size) != blob.size || *digest != blob.digest) {
        return util::fail(util::ErrorCode::bad_input, "blob " + blob.digest.to_string() + " in " +
                                                          dir_.string() +
                                                          " is corrupted (its content does not "
                                                          "match its digest)");
    }
    return {};
}

util::Result<nlohmann::json> ImageLayout::read_index() const {
    auto text = read_text(dir_ / "index.json");
    if (!text) return std::unexpected(text.error());
    auto json = nlohmann::json::parse(*text, nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("manifests") ||
        !json["manifests"].is_array()) {
        return util::fail(util::ErrorCode::bad_input,
                          dir_.string() + "/index.json is not an OCI image index");
    }
    return json;
}

util::Status ImageLayout::write_index(const nlohmann::json& index) const {
    return util::write_file_atomically(dir_ / "index.json", index.dump() + "\n");
}

util::Status ImageLayout::tag(const Descriptor& manifest, const std::string& ref_name) const {
    auto index = read_index();
    if (!index) return std::unexpected(index.error());
    nlohmann::json kept = nlohmann::json::array();
    for (const auto& m : (*index)["manifests"]) {
        bool same = m.contains("annotations") && m["annotations"].is_object() &&
                    m["annotations"].value(std::string(k_ref_name_annotation), "") == ref_name;
        if (!same) kept.push_back(m);
    }
    Descriptor named = manifest;
    if (!named.annotations.is_object()) named.annotations = nlohmann::json::object();
    named.annotations[std::string(k_ref_name_annotation)] = ref_name;
    kept.push_back(to_json(named));
    (*index)["manifests"] = kept;
    return write_index(*index);
}

util::Result<Descriptor> ImageLayout::resolve(std::string_view ref_name) const {
    auto index = read_index();
    if (!index) return std::unexpected(index.error());
    const auto& manifests = (*index)["manifests"];
    if (ref_name.empty()) {
        if (manifests.size() != 1) {
            return util::fail(util::ErrorCode::bad_input,
                              dir_.string() + " holds " + std::to_string(manifests.size()) +
                                  " images; name one (oci:PATH:REF)");
        }
        return descriptor_from_json(manifests[0]);
    }
    for (const auto& m : manifests) {
        if (m.contains("annotations") && m["annotations"].is_object() &&
            m["annotations"].value(std::string(k_ref_name_annotation), "") == ref_name) {
            return descriptor_from_json(m);
        }
    }
    return util::fail(util::ErrorCode::not_found,
                      "no image named " + std::string(ref_name) + " in " + dir_.string());
}

LayoutReference parse_layout_reference(std::string_view text) {
    std::string_view rest = text;
    if (rest.starts_with("oci:")) rest = rest.substr(4);
    LayoutReference ref;
    // PATH:REF when what follows the last ':' has no '/', and the path part is a layout
    // (or the text said oci:).
    auto colon = rest.rfind(':');
    if (colon != std::string_view::npos && rest.find('/', colon) == std::string_view::npos &&
        colon + 1 < rest.size()) {
        ref.dir = std::string(rest.substr(0, colon));
        ref.ref_name = std::string(rest.substr(colon + 1));
    } else {
        ref.dir = std::string(rest);
    }
    return ref;
}

}  // namespace sluice::oci
