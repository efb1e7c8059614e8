// Challenges, token answers and Docker's config.json.
#include "runner/oci/registry_auth.hpp"

#include <gtest/gtest.h>

#include "runner/http/auth.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice::oci {
namespace {

TEST(RegistryAuth, ParsesABearerChallenge) {
    auto c = parse_challenge(
        R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push")");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->scheme, "bearer");
    EXPECT_EQ(c->params["realm"], "https://auth.example/token");
    EXPECT_EQ(c->params["service"], "registry.example");
    EXPECT_EQ(c->params["scope"], "repository:a/b:pull,push");
    EXPECT_EQ(token_url(*c, "ignored"),
              "https://auth.example/token?service=registry.example&scope=repository%3Aa%2Fb%3Apull%2Cpush");
}

TEST(RegistryAuth, ParsesBasicAndEscapes) {
    auto c = parse_challenge(R"(Basic realm="Registry \"realm\"", charset=UTF-8)");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->scheme, "basic");
    EXPECT_EQ(c->params["realm"], "Registry \"realm\"");
    EXPECT_EQ(c->params["charset"], "UTF-8");
    EXPECT_FALSE(parse_challenge(R"(Bearer realm="unclosed)"));
    EXPECT_FALSE(parse_challenge(""));
    auto bare = parse_challenge("Bearer realm=http://x/token");
    ASSERT_TRUE(bare);
    EXPECT_EQ(token_url(*bare, "repository:r:pull"), "http://x/token?scope=repository%3Ar%3Apull");
}

TEST(RegistryAuth, TokenAnswers) {
    EXPECT_EQ(*token_from_answer(R"({"token":"abc"})"), "abc");
    EXPECT_EQ(*token_from_answer(R"({"access_token":"xyz","expires_in":60})"), "xyz");
    EXPECT_FALSE(token_from_answer("{}"));
    EXPECT_FALSE(token_from_answer("<html>"));
}

TEST(RegistryAuth, DockerConfig) {
    nlohmann::json config = {
        {"auths",
         {{"127.0.0.1:5000", {{"auth", http::base64_encode("bot:s3cr:et")}}},
          {"https://index.docker.io/v1/", {{"auth", http::base64_encode("hub:pw")}}},
          {"broken.example", {{"auth", "!!!"}}},
          {"fields.example", {{"username", "u"}, {"password", "p"}}}}}};
    auto local = docker_config_credentials(config, "127.0.0.1:5000");
    ASSERT_TRUE(local && *local);
    EXPECT_EQ((*local)->username, "bot");
    EXPECT_EQ((*local)->password, "s3cr:et");
    auto hub = docker_config_credentials(config, "docker.io");
    ASSERT_TRUE(hub && *hub);
    EXPECT_EQ((*hub)->username, "hub");
    EXPECT_EQ((*docker_config_credentials(config, "fields.example"))->password, "p");
    EXPECT_FALSE(*docker_config_credentials(config, "other.example"));
    EXPECT_FALSE(docker_config_credentials(config, "broken.example"));
    EXPECT_FALSE(*docker_config_credentials(nlohmann::json::object(), "x"));

    testing::TempDir dir;
    auto file = dir.write("docker/config.json", config.dump());
    EXPECT_EQ((*read_docker_config(file, "127.0.0.1:5000"))->username, "bot");
    EXPECT_FALSE(*read_docker_config(dir / "none.json", "127.0.0.1:5000"));
    EXPECT_FALSE(read_docker_config(dir.write("bad.json", "{"), "x"));
    EXPECT_EQ(docker_config_path("/d", "/home/u"), std::filesystem::path("/d/config.json"));
    EXPECT_EQ(docker_config_path("", "/home/u"), std::filesystem::path("/home/u/.docker/config.json"));
}

}  // namespace
}  // namespace sluice::oci
