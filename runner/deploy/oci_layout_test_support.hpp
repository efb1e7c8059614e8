// Tests only: writes a small OCI image layout (oci-layout, index.json, a manifest, a config
// and gzip-compressed tar layers in blobs/sha256/) with libarchive, the way an image
// builder would, so unpacking and local deployments are tested on real layouts.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runner/util/sha256.hpp"

namespace sluice::deploy::test_support {

struct LayerEntry {
    std::string path;     // "app/server.py", "app/" (a directory), ".wh.old" (a whiteout)
    std::string content;  // a file's bytes
    int mode = 0644;
    std::string symlink;  // when not empty: a symlink to this
};

// A gzip-compressed tar of entries.
inline std::string make_layer(const std::vector<LayerEntry>& entries) {
    std::string bytes;
    std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                              archive_write_free);
    archive_write_add_filter_gzip(a.get());
    archive_write_set_format_pax_restricted(a.get());
    archive_write_open(
        a.get(), &bytes, nullptr,
        [](archive*, void* out, const void* buffer, size_t length) -> la_ssize_t {
            static_cast<std::string*>(out)->append(static_cast<const char*>(buffer), length);
            return static_cast<la_ssize_t>(length);
        },
        nullptr);
    for (const auto& e : entries) {
        std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                            archive_entry_free);
        archive_entry_set_pathname(entry.get(), e.path.c_str());
        bool dir = !e.path.empty() && e.path.back() == '/';
        if (!e.symlink.empty()) {
            archive_entry_set_filetype(entry.get(), AE_IFLNK);
            archive_entry_set_symlink(entry.get(), e.symlink.c_str());
            archive_entry_set_perm(entry.get(), 0777);
        } else if (dir) {
            archive_entry_set_filetype(entry.get(), AE_IFDIR);
            archive_entry_set_perm(entry.get(), 0755);
        } else {
            archive_entry_set_filetype(entry.get(), AE_IFREG);
            archive_entry_set_perm(entry.get(), static_cast<mode_t>(e.mode));
            archive_entry_set_size(entry.get(), static_cast<la_int64_t>(e.content.size()));
        }
        archive_write_header(a.get(), entry.get());
        if (!dir && e.symlink.empty() && !e.content.empty()) {
            archive_write_data(a.get(), e.content.data(), e.content.size());
        }
    }
    archive_write_close(a.get());
    return bytes;
}

// Writes bytes as a blob of layout; returns its digest "sha256:...".
inline std::string write_blob(const std::filesystem::path& layout, const std::string& bytes) {
    std::string hex = util::sha256_hex(bytes);
    std::filesystem::create_directories(layout / "blobs" / "sha256");
    std::ofstream(layout / "blobs" / "sha256" / hex, std::ios::binary) << bytes;
    return "sha256:" + hex;
}

// A whole layout of the layers (bottom first) and the config's `config` object
// (Entrypoint, Cmd, Env, WorkingDir). Returns the manifest's digest.
inline std::string write_layout(const std::filesystem::path& layout,
                                const std::vector<std::vector<LayerEntry>>& layers,
                                const nlohmann::json& settings) {
    std::filesystem::create_directories(layout);
    std::ofstream(layout / "oci-layout") << R"({"imageLayoutVersion": "1.0.0"})";
    nlohmann::json layer_descriptors = nlohmann::json::array();
    nlohmann::json diff_ids = nlohmann::json::array();
    for (const auto& entries : layers) {
        std::string bytes = make_layer(entries);
        std::string digest = write_blob(layout, bytes);
        layer_descriptors.push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                                     {"digest", digest},
                                     {"size", bytes.size()}});
        diff_ids.push_back(digest);  // not the uncompressed digest: nothing here reads it
    }
    std::string config = nlohmann::json{{"architecture", "amd64"},
                                        {"os", "linux"},
                                        {"config", settings},
                                        {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}}
                             .dump();
    std::string config_digest = write_blob(layout, config);
    std::string manifest = nlohmann::json{
        {"schemaVersion", 2},
        {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
        {"config",
         {{"mediaType", "application/vnd.oci.image.config.v1+json"},
          {"digest", config_digest},
          {"size", config.size()}}},
        {"layers",
         layer_descriptors}}.dump();
    std::string manifest_digest = write_blob(layout, manifest);
    nlohmann::json index = {{"schemaVersion", 2},
                            {"mediaType", "application/vnd.oci.image.index.v1+json"},
                            {"manifests",
                             {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                               {"digest", manifest_digest},
                               {"size", manifest.size()},
                               {"platform", {{"architecture", "amd64"}, {"os", "linux"}}}}}}};
    std::ofstream(layout / "index.json") << index.dump(2);
    return manifest_digest;
}

}  // namespace sluice::deploy::test_support
