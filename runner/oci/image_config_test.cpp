// Config and manifest JSON: inheritance from the base, the stage's settings, platforms.
#include "runner/oci/image_config.hpp"

#include <gtest/gtest.h>

#include "runner/oci/media_types.hpp"

namespace sluice::oci {
namespace {

TEST(ImageConfig, SettingsOnTopOfTheBase) {
    nlohmann::json base = {{"architecture", "amd64"},
                           {"os", "linux"},
                           {"config",
                            {{"Env", {"PATH=/usr/bin", "LANG=C"}},
                             {"Cmd", {"/bin/sh"}},
                             {"Labels", {{"base", "yes"}}}}},
                           {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:" + std::string(64, '1')}}}}};
    ImageSettings s;
    s.entrypoint = nlohmann::json::array({"python3", "serve.py"});
    s.env = {{"LANG", "C.UTF-8"}, {"MODEL", "churn"}};
    s.workdir = "/app";
    s.expose = {"8080", "53/udp"};
    s.labels = {{"org.opencontainers.image.revision", "abc"}};
    Digest layer{std::string(64, '2')};
    auto c = build_config(base, layer, s);
    EXPECT_EQ(c["config"]["Env"], nlohmann::json({"PATH=/usr/bin", "LANG=C.UTF-8", "MODEL=churn"}));
    EXPECT_EQ(c["config"]["Entrypoint"], nlohmann::json({"python3", "serve.py"}));
    EXPECT_FALSE(c["config"].contains("Cmd"));  // an entrypoint resets the base's cmd
    EXPECT_EQ(c["config"]["WorkingDir"], "/app");
    EXPECT_TRUE(c["config"]["ExposedPorts"].contains("8080/tcp"));
    EXPECT_TRUE(c["config"]["ExposedPorts"].contains("53/udp"));
    EXPECT_EQ(c["config"]["Labels"]["base"], "yes");
    EXPECT_EQ(c["config"]["Labels"]["org.opencontainers.image.revision"], "abc");
    EXPECT_EQ(c["rootfs"]["diff_ids"].size(), 2u);
    EXPECT_EQ(c["rootfs"]["diff_ids"][1], layer.to_string());
    EXPECT_EQ(c["created"], "1970-01-01T00:00:00Z");
    // The same inputs give the same bytes.
    EXPECT_EQ(c.dump(), build_config(base, layer, s).dump());

    ImageSettings shell;
    shell.cmd = "python3 serve.py --port 8080";
    auto scratch = build_config(nullptr, layer, shell);
    EXPECT_EQ(scratch["config"]["Cmd"],
              nlohmann::json({"/bin/sh", "-c", "python3 serve.py --port 8080"}));
    EXPECT_EQ(scratch["os"], "linux");
    EXPECT_EQ(scratch["architecture"], "amd64");
}

TEST(ImageConfig, ManifestAndParts) {
    Descriptor config{std::string(media::k_oci_config), Digest{std::string(64, 'c')}, 10, nullptr, nullptr};
    Descriptor layer{std::string(media::k_oci_layer_gzip), Digest{std::string(64, 'e')}, 20, nullptr, nullptr};
    auto m = build_manifest(config, {layer});
    EXPECT_EQ(m["schemaVersion"], 2);
    EXPECT_EQ(m["mediaType"], media::k_oci_manifest);
    auto parts = manifest_parts(m);
    ASSERT_TRUE(parts);
    EXPECT_EQ(parts->config.digest, config.digest);
    ASSERT_EQ(parts->layers.size(), 1u);
    EXPECT_EQ(parts->layers[0].size, 20);
    EXPECT_FALSE(manifest_parts(nlohmann::json::object()));
}

TEST(ImageConfig, PicksLinuxAmd64) {
    auto entry = [](const char* arch, char c) {
        return nlohmann::json{{"mediaType", media::k_oci_manifest},
                              {"digest", "sha256:" + std::string(64, c)},
                              {"size", 1},
                              {"platform", {{"os", "linux"}, {"architecture", arch}}}};
    };
    nlohmann::json index = {{"manifests", {entry("arm64", 'a'), entry("amd64", 'b')}}};
    auto picked = pick_platform(index);
    ASSERT_TRUE(picked);
    EXPECT_EQ(picked->digest.hex, std::string(64, 'b'));
    nlohmann::json arm_only = {{"manifests", {entry("arm64", 'a')}}};
    auto none = pick_platform(arm_only);
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message.find("linux/arm64"), std::string::npos);
    EXPECT_EQ(oci_media_type(std::string(media::k_docker_layer_gzip)), media::k_oci_layer_gzip);
}

}  // namespace
}  // namespace sluice::oci
