// PATH lookup tests: found in order, skipping non-executables and directories.
#include "runner/exec/command_path.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "runner/testing/temp_dir.hpp"

namespace sluice::exec {
namespace {

TEST(CommandPath, FindsTheFirstExecutableInPathOrder) {
    testing::TempDir dir;
    auto a = dir.write("a/tool", "#!/bin/sh\n");
    auto b = dir.write("b/tool", "#!/bin/sh\n");
    dir.write("c/tool/x", "");  // a directory named tool
    chmod(b.c_str(), 0755);
    std::string path = (dir / "c").string() + ":" + (dir / "a").string() + ":" + (dir / "b").string();
    EXPECT_EQ(find_in_path("tool", path), b.string()) << "a/tool is not executable, c/tool is a dir";
    chmod(a.c_str(), 0755);
    EXPECT_EQ(find_in_path("tool", path), a.string());
    EXPECT_EQ(find_in_path("missing", path), std::nullopt);
    EXPECT_EQ(find_in_path("sub/tool", path), std::nullopt) << "names with a slash are not looked up";
    EXPECT_EQ(find_in_path("tool", "relative:" + path), std::nullopt) << "left to execvp";
}

TEST(CommandPath, CacheRemembersHitsButNotMisses) {
    testing::TempDir dir;
    CommandPathCache cache;
    std::string path = (dir / "bin").string();
    EXPECT_EQ(cache.find("late", path), std::nullopt);
    auto late = dir.write("bin/late", "");
    chmod(late.c_str(), 0755);
    EXPECT_EQ(cache.find("late", path), late.string()) << "a miss is looked up again";
}

}  // namespace
}  // namespace sluice::exec
