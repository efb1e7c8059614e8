// FileLock: exclusion between holders, release, and detecting a lock file moved away.
#include "runner/util/file_lock.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace sluice::util {
namespace {

class FileLockTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (std::filesystem::temp_directory_path() / "sluice-lock-XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::filesystem::path dir_;
};

TEST_F(FileLockTest, SecondHolderWaitsUntilRelease) {
    auto first = FileLock::acquire(dir_ / "a.lock");
    ASSERT_TRUE(first.has_value()) << first.error().message;
    auto second = FileLock::try_acquire(dir_ / "a.lock");
    ASSERT_TRUE(second.has_value());
    EXPECT_FALSE(second->has_value());
    first->release();
    auto third = FileLock::try_acquire(dir_ / "a.lock");
    ASSERT_TRUE(third.has_value());
    EXPECT_TRUE(third->has_value());
}

TEST_F(FileLockTest, MissingFileIsNotFoundWithoutCreate) {
    auto lock = FileLock::try_acquire(dir_ / "missing.lock", false);
    ASSERT_FALSE(lock.has_value());
    EXPECT_EQ(lock.error().code, ErrorCode::not_found);
}

TEST_F(FileLockTest, KnowsWhenItsFileWasMoved) {
    auto lock = FileLock::acquire(dir_ / "b.lock");
    ASSERT_TRUE(lock.has_value());
    EXPECT_TRUE(lock->still_at_path());
    std::filesystem::rename(dir_ / "b.lock", dir_ / "c.lock");
    EXPECT_FALSE(lock->still_at_path());
}

}  // namespace
}  // namespace sluice::util
