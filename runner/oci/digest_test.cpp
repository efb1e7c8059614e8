// Digests: parsing and computing.
#include "runner/oci/digest.hpp"

#include <gtest/gtest.h>

#include "runner/testing/temp_dir.hpp"

namespace sluice::oci {
namespace {

TEST(Digest, OfBytesAndFile) {
    // sha256("") is well known.
    const std::string empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    EXPECT_EQ(digest_of("").to_string(), empty);
    testing::TempDir dir;
    auto file = dir.write("f", "hello");
    auto d = digest_of_file(file);
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, digest_of("hello"));
    EXPECT_FALSE(digest_of_file(dir / "missing"));
}

TEST(Digest, Parse) {
    auto d = parse_digest("sha256:" + std::string(64, 'A'));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->hex, std::string(64, 'a'));
    EXPECT_FALSE(parse_digest("sha512:" + std::string(128, 'a')));
    EXPECT_FALSE(parse_digest("sha256:abc"));
    EXPECT_FALSE(parse_digest(std::string(64, 'a')));
}

}  // namespace
}  // namespace sluice::oci
