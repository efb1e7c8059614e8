// Opening paths beneath a directory: links that stay inside are followed, links and
// `..` that lead out are refused and named, with openat2 and with the walk behind it.
#include "runner/util/beneath.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "runner/testing/temp_dir.hpp"

namespace sluice::util {
namespace {

namespace fs = std::filesystem;

// Both ways of resolving: the kernel's openat2, and the walk of kernels without it.
class Beneath : public ::testing::TestWithParam<bool> {
protected:
    Beneath() {
        dir_.write("outside/secret.txt", "secret\n");
        dir_.write("root/real/f.txt", "inside\n");
        fs::create_symlink("real", dir_ / "root/alias");
        fs::create_symlink("real/../real/f.txt", dir_ / "root/file-link");
        fs::create_symlink((dir_ / "outside").string(), dir_ / "root/abs");
        fs::create_symlink("../outside", dir_ / "root/up");
        fs::create_symlink("../../outside", dir_ / "root/real/deep-up");
        auto root = open_root(dir_ / "root");
        EXPECT_TRUE(root.has_value());
        if (root) root_ = std::move(*root);
    }
    Result<UniqueFd> open(std::string_view relative, int flags = O_RDONLY) {
        return GetParam() ? open_beneath(root_.get(), relative, flags, "the root")
                          : open_beneath_by_walking(root_.get(), relative, flags, "the root");
    }
    std::string read(UniqueFd fd) {
        char buffer[64] = {};
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
    }
    testing::TempDir dir_;
    UniqueFd root_;
};

TEST_P(Beneath, FollowsLinksThatStayInside) {
    for (const char* path : {"real/f.txt", "alias/f.txt", "file-link", "./real//f.txt", "real/../real/f.txt"}) {
        auto fd = open(path);
        ASSERT_TRUE(fd.has_value()) << path << ": " << fd.error().message;
        EXPECT_EQ(read(std::move(*fd)), "inside\n") << path;
    }
}

TEST_P(Beneath, RefusesLinksThatLeadOutAndNamesThem) {
    struct Case {
        const char* path;
        std::string message;
    };
    std::string outside = (dir_ / "outside").string();
    for (const Case& c : {Case{"abs/secret.txt", "abs/secret.txt resolves outside the root (through abs -> " + outside + ")"},
                          Case{"up/secret.txt", "up/secret.txt resolves outside the root (through up -> ../outside)"},
                          Case{"alias/deep-up/secret.txt", "alias/deep-up/secret.txt resolves outside the root (through real/deep-up -> ../../outside)"},
                          Case{"../outside/secret.txt", "../outside/secret.txt resolves outside the root (`..`)"},
                          Case{"/etc/passwd", "/etc/passwd is absolute: it must be relative to the root"}}) {
        auto fd = open(c.path);
        ASSERT_FALSE(fd.has_value()) << c.path;
        EXPECT_EQ(fd.error().code, ErrorCode::bad_input) << c.path;
        EXPECT_EQ(fd.error().message, c.message);
    }
}

TEST_P(Beneath, NoFollowOpensTheLastLinkItself) {
    auto fd = open("abs", O_PATH | O_NOFOLLOW);
    ASSERT_TRUE(fd.has_value()) << fd.error().message;
    struct stat st {};
    ASSERT_EQ(::fstatat(fd->get(), "", &st, AT_EMPTY_PATH), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_P(Beneath, AMissingPathIsNotFound) {
    auto fd = open("real/nothing.txt");
    ASSERT_FALSE(fd.has_value());
    EXPECT_EQ(fd.error().code, ErrorCode::not_found);
    EXPECT_TRUE(check_beneath(root_.get(), "nothing/at/all", "the root"));
}

INSTANTIATE_TEST_SUITE_P(OpenAt2AndWalk, Beneath, ::testing::Bool());

TEST(BeneathDirectories, AreCreatedInsideAndNeverThroughALinkOut) {
    testing::TempDir dir;
    fs::create_directories(dir / "outside");
    fs::create_directories(dir / "root");
    fs::create_symlink((dir / "outside").string(), dir / "root/out");
    auto root = open_root(dir / "root");
    ASSERT_TRUE(root.has_value());
    auto made = make_directories_beneath(root->get(), "a/b/c", "the root");
    ASSERT_TRUE(made.has_value()) << made.error().message;
    EXPECT_TRUE(fs::is_directory(dir / "root/a/b/c"));
    auto refused = make_directories_beneath(root->get(), "out/new", "the root");
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, ErrorCode::bad_input);
    EXPECT_FALSE(fs::exists(dir / "outside/new"));
    auto checked = check_beneath(root->get(), "out", "the root", "out/f.txt");
    ASSERT_FALSE(checked.has_value());
    EXPECT_EQ(checked.error().message,
              "out/f.txt resolves outside the root (through out -> " + (dir / "outside").string() + ")");
}

}  // namespace
}  // namespace sluice::util
