// match_stage_files on real directories: globs, directories standing for their files,
// exclusions, empty directories, what matched nothing, and patterns that leave the
// workspace.
#include "runner/engine/stage_files.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "runner/testing/temp_dir.hpp"

namespace sluice::engine {
namespace {

std::vector<std::string> paths(const MatchedPaths& m) {
    std::vector<std::string> out;
    for (const auto& p : m.paths) out.push_back(p.path);
    return out;
}

class StageFiles : public ::testing::Test {
protected:
    void SetUp() override {
        dir_.write("train.py", "x");
        dir_.write("data/a.csv", "1");
        dir_.write("data/b.csv", "2");
        dir_.write("data/raw/c.json", "3");
        dir_.write("src/pkg/m.py", "4");
        dir_.write(".git/HEAD", "ref");
        dir_.write("state/sluice.db", "");
        std::filesystem::create_directories(dir_ / "out/empty");
        ASSERT_EQ(::symlink("train.py", (dir_ / "link.py").c_str()), 0);
    }
    MatchedPaths match(std::vector<std::string> patterns) {
        auto m = match_stage_files(dir_.path(), patterns, dir_ / "state");
        EXPECT_TRUE(m) << (m ? "" : m.error().message);
        return m ? *m : MatchedPaths{};
    }
    testing::TempDir dir_;
};

TEST_F(StageFiles, GlobsLiteralsAndDirectories) {
    EXPECT_EQ(paths(match({"data/*.csv"})), (std::vector<std::string>{"data/a.csv", "data/b.csv"}));
    EXPECT_EQ(paths(match({"data/**"})),
              (std::vector<std::string>{"data/a.csv", "data/b.csv", "data/raw/c.json"}));
    EXPECT_EQ(paths(match({"data"})),
              (std::vector<std::string>{"data/a.csv", "data/b.csv", "data/raw/c.json"}));
    EXPECT_EQ(paths(match({"./train.py", "**/*.py"})),
              (std::vector<std::string>{"link.py", "src/pkg/m.py", "train.py"}));
    // `*` stays in its segment.
    EXPECT_EQ(paths(match({"*.py"})), (std::vector<std::string>{"link.py", "train.py"}));
}

TEST_F(StageFiles, ExclusionsSymlinksAndEmptyDirectories) {
    EXPECT_EQ(paths(match({"data/**", "!data/raw/**"})),
              (std::vector<std::string>{"data/a.csv", "data/b.csv"}));
    auto m = match({"link.py", "out"});
    ASSERT_EQ(m.paths.size(), 2u);
    EXPECT_EQ(m.paths[0].type, MatchedPath::Type::symlink);
    EXPECT_EQ(m.paths[1].path, "out/empty");
    EXPECT_EQ(m.paths[1].type, MatchedPath::Type::dir);
}

TEST_F(StageFiles, GitAndTheStateDirectoryAreNeverMatched) {
    auto all = paths(match({"**"}));
    for (const auto& p : all) {
        EXPECT_FALSE(p.starts_with(".git/")) << p;
        EXPECT_FALSE(p.starts_with("state/")) << p;
    }
    EXPECT_EQ(all.size(), 7u);
}

TEST_F(StageFiles, WhatMatchedNothingIsListed) {
    auto m = match({"train.py", "model.pkl", "reports/*.xml", "!nothing"});
    EXPECT_EQ(m.unmatched, (std::vector<std::string>{"model.pkl", "reports/*.xml"}));
}

TEST_F(StageFiles, PatternsThatLeaveTheWorkspaceAreRefused) {
    for (std::vector<std::string> p : {std::vector<std::string>{"../secret"},
                                       std::vector<std::string>{"/etc/passwd"},
                                       std::vector<std::string>{"data/../../x"}}) {
        auto m = match_stage_files(dir_.path(), p);
        ASSERT_FALSE(m) << p[0];
        EXPECT_EQ(m.error().code, util::ErrorCode::bad_input);
        EXPECT_NE(m.error().message.find(p[0]), std::string::npos) << m.error().message;
    }
}

}  // namespace
}  // namespace sluice::engine
