// The media types sluice reads and writes (OCI image-spec 1.1, and Docker's schema 2,
// which registries and base images still use).
#pragma once

#include <string_view>

namespace sluice::oci::media {

inline constexpr std::string_view k_oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view k_oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view k_oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view k_oci_layer_gzip =
    "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view k_oci_layer_tar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view k_docker_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view k_docker_manifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view k_docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view k_docker_layer_gzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";

inline bool is_index(std::string_view type) { return type == k_oci_index || type == k_docker_list; }
inline bool is_manifest(std::string_view type) {
    return type == k_oci_manifest || type == k_docker_manifest;
}

}  // namespace sluice::oci::media
