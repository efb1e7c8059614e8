// Storing a stage's outputs (files, symlinks, empty directories) and restoring them
// into another workspace, on real files.
#include "runner/cache/output_paths.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "runner/cache/cache_test_support.hpp"
#include "runner/testing/temp_dir.hpp"
#include "runner/util/sha256.hpp"

namespace sluice::cache {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using sluice::testing::read_file;
using sluice::testing::TempDir;
using testing::mode_string;

class OutputPathsTest : public ::testing::Test {
  protected:
    TempDir dir;
    ObjectStore objects = ObjectStore::open(dir.path() / "state/cache").value();
    fs::path produced = dir.path() / "produced";
    fs::path fresh = dir.path() / "fresh";
};

TEST_F(OutputPathsTest, StoresAndRestoresFilesSymlinksAndEmptyDirectories) {
    dir.write("produced/out/a.txt", "alpha");
    dir.write("produced/out/sub/run.sh", "#!/bin/sh\n");
    fs::permissions(produced / "out/sub/run.sh", fs::perms::owner_exec, fs::perm_options::add);
    fs::create_symlink("a.txt", produced / "out/link");
    fs::create_directories(produced / "out/empty");
    dir.write("produced/model.bin", "weights");
    dir.write("produced/not-an-output.txt", "ignored");

    std::vector<std::string> outputs{"out/", "./model.bin", "out/a.txt"};
    auto stored = store_outputs(objects, produced, outputs);
    ASSERT_TRUE(stored) << stored.error().message;
    std::vector<CachedPath> expected{
        {"model.bin", CachedPath::Type::file, util::sha256_hex("weights"), 7, false, ""},
        {"out/a.txt", CachedPath::Type::file, util::sha256_hex("alpha"), 5, false, ""},
        {"out/empty", CachedPath::Type::dir, "", 0, false, ""},
        {"out/link", CachedPath::Type::symlink, "", 0, false, "a.txt"},
        {"out/sub/run.sh", CachedPath::Type::file, util::sha256_hex("#!/bin/sh\n"), 10, true, ""},
    };
    EXPECT_EQ(*stored, expected);

    auto restored = restore_outputs(objects, fresh, *stored, nullptr);
    ASSERT_TRUE(restored) << restored.error().message;
    EXPECT_EQ(restored->restored, 5u);
    EXPECT_EQ(restored->unchanged, 0u);
    EXPECT_EQ(read_file(fresh / "model.bin"), "weights");
    EXPECT_EQ(read_file(fresh / "out/a.txt"), "alpha");
    EXPECT_EQ(mode_string(fresh / "out/sub/run.sh"), "0755");
    EXPECT_EQ(mode_string(fresh / "out/a.txt"), "0644");
    EXPECT_TRUE(fs::is_symlink(fresh / "out/link"));
    EXPECT_EQ(fs::read_symlink(fresh / "out/link"), "a.txt");
    EXPECT_TRUE(fs::is_directory(fresh / "out/empty"));
    EXPECT_FALSE(fs::exists(fresh / "not-an-output.txt"));
}

TEST_F(OutputPathsTest, RestoringAgainChangesNothing) {
    dir.write("produced/out/a.txt", "alpha");
    fs::create_symlink("a.txt", produced / "out/link");
    fs::create_directories(produced / "out/empty");
    std::vector<std::string> outputs{"out"};
    auto stored = store_outputs(objects, produced, outputs).value();

    auto clock = testing::SetClock::at_real_now_plus(1h);
    auto memo = FileDigests::load(dir / "state/memo", &clock);
    ASSERT_EQ(restore_outputs(objects, fresh, stored, &memo).value().restored, 3u);
    auto again = restore_outputs(objects, fresh, stored, &memo).value();
    EXPECT_EQ(again.restored, 0u);
    EXPECT_EQ(again.unchanged, 3u);
}

TEST_F(OutputPathsTest, ReplacesWhatIsInTheWay) {
    dir.write("produced/out/a.txt", "alpha");
    fs::create_symlink("a.txt", produced / "out/link");
    fs::create_directories(produced / "out/empty");
    std::vector<std::string> outputs{"out"};
    auto stored = store_outputs(objects, produced, outputs).value();

    dir.write("fresh/out/link/was-a-directory.txt", "x");  // a directory where the link goes
    dir.write("fresh/out/empty", "a file where the directory goes");
    fs::create_symlink("/etc/hostname", fresh / "out/a.txt");  // a link where the file goes
    auto restored = restore_outputs(objects, fresh, stored, nullptr);
    ASSERT_TRUE(restored) << restored.error().message;
    EXPECT_EQ(fs::read_symlink(fresh / "out/link"), "a.txt");
    EXPECT_TRUE(fs::is_directory(fresh / "out/empty"));
    EXPECT_FALSE(fs::is_symlink(fresh / "out/a.txt"));
    EXPECT_EQ(read_file(fresh / "out/a.txt"), "alpha");
}

TEST_F(OutputPathsTest, MissingOrOutsideOutputsAreErrors) {
    fs::create_directories(produced);
    std::vector<std::string> missing{"nope.txt"};
    auto none = store_outputs(objects, produced, missing);
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, util::ErrorCode::not_found);
    EXPECT_NE(none.error().message.find("nope.txt"), std::string::npos);

    for (const char* outside : {"../secret", "/etc/passwd", ".", ""}) {
        std::vector<std::string> outputs{outside};
        auto refused = store_outputs(objects, produced, outputs);
        ASSERT_FALSE(refused) << outside;
        EXPECT_EQ(refused.error().code, util::ErrorCode::bad_input) << outside;
    }
}

TEST_F(OutputPathsTest, RestoreRefusesPathsThatLeaveTheWorkspace) {
    std::vector<CachedPath> evil{{"../escaped", CachedPath::Type::dir, "", 0, false, ""}};
    auto refused = restore_outputs(objects, fresh, evil, nullptr);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, util::ErrorCode::bad_input);
    EXPECT_FALSE(fs::exists(dir / "escaped"));
}

}  // namespace
}  // namespace sluice::cache
