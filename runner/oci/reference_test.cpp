// Reference parsing: Docker's defaults, ports, digests, and what is refused.
#include "runner/oci/reference.hpp"

#include <gtest/gtest.h>

namespace sluice::oci {
namespace {

TEST(Reference, DockerHubDefaults) {
    auto r = parse_reference("alpine");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->registry, "docker.io");
    EXPECT_EQ(r->repository, "library/alpine");
    EXPECT_EQ(r->tag, "latest");
    EXPECT_EQ(r->to_string(), "docker.io/library/alpine:latest");
    EXPECT_EQ(api_host(r->registry), "registry-1.docker.io");
    EXPECT_EQ(parse_reference("team/app:1.0")->repository, "team/app");
}

TEST(Reference, HostPortTagAndDigest) {
    std::string digest = "sha256:" + std::string(64, 'a');
    auto r = parse_reference("127.0.0.1:5000/ml/churn:v1@" + digest);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->registry, "127.0.0.1:5000");
    EXPECT_EQ(r->repository, "ml/churn");
    EXPECT_EQ(r->tag, "v1");
    EXPECT_EQ(r->digest, digest);
    EXPECT_EQ(r->tag_or_digest(), digest);
    auto d = parse_reference("localhost/churn@" + digest);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->registry, "localhost");
    EXPECT_TRUE(d->tag.empty());
    EXPECT_EQ(parse_reference("localhost:5000/churn")->tag, "latest");
}

TEST(Reference, Refused) {
    for (const char* bad : {"", "UPPER/case", "a//b", "host:5000/", "x:bad tag", "x@sha256:12",
                            "x@md5:" "00"}) {
        EXPECT_FALSE(parse_reference(bad)) << bad;
    }
}

TEST(Reference, SchemeIsHttpOnlyForLoopbackAndInsecure) {
    EXPECT_EQ(api_scheme("127.0.0.1:5000", {}), "http");
    EXPECT_EQ(api_scheme("localhost", {}), "http");
    EXPECT_EQ(api_scheme("ghcr.io", {}), "https");
    EXPECT_EQ(api_scheme("registry.lan:5000", {"registry.lan:5000"}), "http");
    EXPECT_EQ(api_base("docker.io", {}), "https://registry-1.docker.io/v2/");
}

}  // namespace
}  // namespace sluice::oci
