// OCI layouts: writing, naming, reading back, and corruption found on read.
#include "runner/oci/image_layout.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "runner/testing/temp_dir.hpp"

namespace sluice::oci {
namespace {

TEST(ImageLayout, WritesBlobsAndIndex) {
    testing::TempDir dir;
    auto layout = ImageLayout::create(dir / "img");
    ASSERT_TRUE(layout) << layout.error().message;
    EXPECT_EQ(testing::read_file(dir / "img" / "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}\n");
    auto blob = layout->write_blob("{}", "application/vnd.oci.image.manifest.v1+json");
    ASSERT_TRUE(blob);
    EXPECT_EQ(blob->size, 2);
    EXPECT_TRUE(layout->has_blob(blob->digest));
    ASSERT_TRUE(layout->tag(*blob, "v1"));
    ASSERT_TRUE(layout->tag(*blob, "v2"));
    ASSERT_TRUE(layout->tag(*blob, "v1"));  // replaces, does not add
    auto index = layout->read_index();
    ASSERT_TRUE(index);
    EXPECT_EQ((*index)["manifests"].size(), 2u);
    auto found = layout->resolve("v1");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->digest, blob->digest);
    EXPECT_EQ(found->annotations[std::string(k_ref_name_annotation)], "v1");
    EXPECT_FALSE(layout->resolve(""));  // two names: which one?
    EXPECT_EQ(layout->resolve("nope").error().code, util::ErrorCode::not_found);
    EXPECT_EQ(*layout->read_blob(*blob), "{}");

    auto reopened = ImageLayout::open(dir / "img");
    ASSERT_TRUE(reopened);
    EXPECT_TRUE(reopened->resolve("v2"));
    EXPECT_FALSE(ImageLayout::open(dir / "nothing"));
    // No temporary files are left behind.
    for (const auto& e : std::filesystem::directory_iterator(dir / "img" / "blobs" / "sha256")) {
        EXPECT_FALSE(e.path().filename().string().starts_with(".tmp")) << e.path();
    }
}

TEST(ImageLayout, CorruptionIsDetected) {
    testing::TempDir dir;
    auto layout = ImageLayout::create(dir / "img");
    ASSERT_TRUE(layout);
    auto blob = layout->write_blob("layer bytes", "application/octet-stream");
    ASSERT_TRUE(blob);
    ASSERT_TRUE(layout->verify_blob(*blob));
    std::filesystem::permissions(layout->blob_path(blob->digest),
                                 std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
    std::ofstream(layout->blob_path(blob->digest), std::ios::trunc) << "layer bytez";
    auto read = layout->read_blob(*blob);
    ASSERT_FALSE(read);
    EXPECT_NE(read.error().message.find("corrupted"), std::string::npos);
    EXPECT_FALSE(layout->verify_blob(*blob));
    std::filesystem::remove(layout->blob_path(blob->digest));
    EXPECT_NE(layout->verify_blob(*blob).error().message.find("missing"), std::string::npos);

    // A file that is not what was expected is refused and removed.
    auto temp = layout->temp_path();
    std::ofstream(temp) << "something";
    auto adopted = layout->adopt_file(temp, "x", digest_of("something else"));
    ASSERT_FALSE(adopted);
    EXPECT_NE(adopted.error().message.find("digest mismatch"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(temp));

    std::ofstream(dir / "img" / "index.json", std::ios::trunc) << "[";
    EXPECT_FALSE(layout->read_index());
}

TEST(ImageLayout, LayoutReferences) {
    auto a = parse_layout_reference("oci:/tmp/img:v1");
    EXPECT_EQ(a.dir, "/tmp/img");
    EXPECT_EQ(a.ref_name, "v1");
    auto b = parse_layout_reference("build/img");
    EXPECT_EQ(b.dir, "build/img");
    EXPECT_EQ(b.ref_name, "");
    EXPECT_EQ(parse_layout_reference("oci:img").dir, "img");
}

}  // namespace
}  // namespace sluice::oci
