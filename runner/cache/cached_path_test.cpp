// Validation of cached paths and digests.
#include "runner/cache/cached_path.hpp"

#include <gtest/gtest.h>

namespace sluice::cache {
namespace {

TEST(CachedPath, RelativePathsInsideTheWorkspaceOnly) {
    for (const char* good : {"a", "a/b.txt", "out/.hidden", "..a/b.."}) {
        EXPECT_TRUE(check_relative_path(good)) << good;
    }
    for (const char* bad : {"", "/abs", "a//b", "a/", "./a", "a/../b", "..", "a/."}) {
        auto checked = check_relative_path(bad);
        ASSERT_FALSE(checked) << bad;
        EXPECT_EQ(checked.error().code, util::ErrorCode::bad_input);
    }
}

TEST(CachedPath, DigestsAre64LowercaseHexDigits) {
    std::string digest(64, 'a');
    EXPECT_TRUE(is_digest(digest));
    EXPECT_FALSE(is_digest(digest.substr(1)));
    EXPECT_FALSE(is_digest(std::string(64, 'A')));
    EXPECT_FALSE(is_digest(std::string(63, 'a') + "g"));
}

TEST(CachedPath, ACachedFileNeedsADigestAndASymlinkATarget) {
    EXPECT_FALSE(check_cached_path({"a", CachedPath::Type::file, "abc", 0, false, ""}));
    EXPECT_TRUE(
        check_cached_path({"a", CachedPath::Type::file, std::string(64, '0'), 0, false, ""}));
    EXPECT_FALSE(check_cached_path({"a", CachedPath::Type::symlink, "", 0, false, ""}));
    EXPECT_TRUE(check_cached_path({"a", CachedPath::Type::symlink, "", 0, false, "b"}));
    EXPECT_TRUE(check_cached_path({"a", CachedPath::Type::dir, "", 0, false, ""}));
    for (auto type : {CachedPath::Type::file, CachedPath::Type::symlink, CachedPath::Type::dir}) {
        EXPECT_EQ(parse_type(type_name(type)).value(), type);
    }
    EXPECT_FALSE(parse_type("fifo"));
}

}  // namespace
}  // namespace sluice::cache
