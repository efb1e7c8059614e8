// Push planning: skip what the registry has, mount what another repository has, upload
// the rest (chunked above the threshold).
#include "runner/oci/push_plan.hpp"

#include <gtest/gtest.h>

#include "runner/oci/blob_locations.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice::oci {
namespace {

Descriptor blob(char c, std::int64_t size) {
    return {"x", Digest{std::string(64, c)}, size, nullptr, nullptr};
}

TEST(PushPlan, Decisions) {
    EXPECT_EQ(plan_blob(blob('a', 10), true, {"other"}, "repo", 100).action, BlobAction::skip);
    auto mount = plan_blob(blob('a', 10), false, {"repo", "other"}, "repo", 100);
    EXPECT_EQ(mount.action, BlobAction::mount);
    EXPECT_EQ(mount.from, "other");
    auto small = plan_blob(blob('a', 100), false, {"repo"}, "repo", 100);
    EXPECT_EQ(small.action, BlobAction::upload);
    EXPECT_FALSE(small.chunked);
    EXPECT_TRUE(plan_blob(blob('a', 101), false, {}, "repo", 100).chunked);
}

TEST(PushPlan, BlobsInOrderOnce) {
    ManifestParts m{blob('c', 1), {blob('a', 1), blob('b', 1), blob('a', 1)}};
    auto blobs = blobs_to_push(m);
    ASSERT_EQ(blobs.size(), 3u);
    EXPECT_EQ(blobs[0].digest.hex[0], 'a');
    EXPECT_EQ(blobs[1].digest.hex[0], 'b');
    EXPECT_EQ(blobs[2].digest.hex[0], 'c');  // the config last
}

TEST(PushPlan, BlobLocations) {
    testing::TempDir dir;
    auto file = dir / "oci" / "blob-locations.json";
    Digest d{std::string(64, 'd')};
    EXPECT_TRUE(known_locations(file, "r:5000", d).empty());
    ASSERT_TRUE(record_locations(file, "r:5000", "one", {d}));
    ASSERT_TRUE(record_locations(file, "r:5000", "two", {d}));
    ASSERT_TRUE(record_locations(file, "r:5000", "one", {d}));
    EXPECT_EQ(known_locations(file, "r:5000", d), (std::vector<std::string>{"one", "two"}));
    EXPECT_TRUE(known_locations(file, "elsewhere:5000", d).empty());
}

}  // namespace
}  // namespace sluice::oci
