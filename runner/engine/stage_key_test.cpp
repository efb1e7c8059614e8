// Stage keys: the same inputs give the same key; each part that changes changes it,
// and explain_change names the first difference a person should know of.
#include "runner/engine/stage_key.hpp"

#include <gtest/gtest.h>

#include "runner/testing/temp_dir.hpp"

namespace sluice::engine {
namespace {

class StageKeyTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_.write("train.py", "fit()\n");
        dir_.write("data/a.csv", "1,2\n");
        input_.kind = "script";
        input_.command = {"python3 train.py"};
        input_.variables = {{"MODEL", "churn"}};
        input_.inherited = {"API_TOKEN"};
        input_.needs = {{"unit-tests", "abc"}};
    }
    StageKey key() {
        std::vector<std::string> patterns = {"train.py", "data/**"};
        auto inputs = match_stage_files(dir_.path(), patterns);
        EXPECT_TRUE(inputs);
        auto k = compute_stage_key(input_, *inputs, dir_.path(), digests_);
        EXPECT_TRUE(k) << (k ? "" : k.error().message);
        return *k;
    }
    testing::TempDir dir_;
    cache::FileDigests digests_;
    StageKeyInput input_;
};

TEST_F(StageKeyTest, EqualInputsGiveEqualKeys) {
    auto a = key();
    auto b = key();
    EXPECT_EQ(a.key, b.key);
    EXPECT_EQ(a.key.size(), 64u);
    EXPECT_EQ(explain_change(a.parts, b.parts), "");
    EXPECT_EQ(a.parts["files"]["data/a.csv"].get<std::string>().size(), 64u);
}

TEST_F(StageKeyTest, EveryPartChangesTheKeyAndIsExplained) {
    auto base = key();
    dir_.write("data/a.csv", "1,3\n");
    auto file = key();
    EXPECT_NE(file.key, base.key);
    EXPECT_EQ(explain_change(base.parts, file.parts), "input data/a.csv changed");
    dir_.write("data/b.csv", "new\n");
    EXPECT_EQ(explain_change(file.parts, key().parts), "input data/b.csv is new");

    auto before = key();
    input_.command = {"python3 train.py --fast"};
    auto command = key();
    EXPECT_NE(command.key, before.key);
    EXPECT_EQ(explain_change(before.parts, command.parts), "the command changed");

    input_.variables = {{"MODEL", "churn-v2"}};
    auto vars = key();
    EXPECT_EQ(explain_change(command.parts, vars.parts), "its variables changed");

    input_.needs = {{"unit-tests", "def"}};
    auto needs = key();
    EXPECT_EQ(explain_change(vars.parts, needs.parts), "needed stage unit-tests changed");
}

TEST_F(StageKeyTest, InheritedVariablesCountByNameOnly) {
    ::setenv("API_TOKEN", "secret-1", 1);
    auto a = key();
    ::setenv("API_TOKEN", "secret-2", 1);
    auto b = key();
    EXPECT_EQ(a.key, b.key);
    EXPECT_EQ(a.parts.dump().find("secret"), std::string::npos);
    ::unsetenv("API_TOKEN");
}

}  // namespace
}  // namespace sluice::engine
