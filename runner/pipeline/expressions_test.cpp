// `${{ }}` scanning, name checks and substitution.
#include "runner/pipeline/expressions.hpp"

#include <gtest/gtest.h>

#include <map>

namespace sluice::pipeline {
namespace {

TEST(Expressions, FindsEachExpressionWithItsOffset) {
    auto found = find_expressions("a ${{ commit.sha }} b ${{vars.X}}");
    ASSERT_EQ(found.size(), 2u);
    EXPECT_EQ(found[0].offset, 2u);
    EXPECT_EQ(found[0].length, 17u);
    EXPECT_EQ(found[0].name, "commit.sha");
    EXPECT_EQ(found[1].offset, 22u);
    EXPECT_EQ(found[1].name, "vars.X");
    EXPECT_TRUE(found[1].problem.empty());
}

TEST(Expressions, ShellSyntaxIsNotAnExpression) {
    EXPECT_TRUE(find_expressions("echo $HOME ${HOME} $((1+2)) ${x:-{}}").empty());
}

TEST(Expressions, MalformedExpressions) {
    EXPECT_EQ(find_expressions("${{ a")[0].problem, "unterminated `${{`: expected `}}`");
    EXPECT_FALSE(find_expressions("${{}}")[0].problem.empty());
    EXPECT_FALSE(find_expressions("${{ a b }}")[0].problem.empty());
    EXPECT_FALSE(find_expressions("${{ a..b }}")[0].problem.empty());
    EXPECT_FALSE(find_expressions("${{ .a }}")[0].problem.empty());
    EXPECT_FALSE(find_expressions("${{ a. }}")[0].problem.empty());
    EXPECT_FALSE(find_expressions("${{ f(x) }}")[0].problem.empty());
}

TEST(Expressions, KnownNames) {
    ExpressionScope scope{{"MODEL"}, true, {"train"}, {"train", "deploy"}};
    for (auto name : builtin_names()) EXPECT_EQ(check_name(name, scope), "") << name;
    EXPECT_EQ(check_name("vars.MODEL", scope), "");
    EXPECT_EQ(check_name("stages.train.outputs.run_id", scope), "");
}

TEST(Expressions, UnknownNames) {
    ExpressionScope scope{{"MODEL"}, true, {"train"}, {"train", "deploy"}};
    EXPECT_EQ(check_name("commit", scope), "unknown name `commit` in `${{ }}`");
    EXPECT_EQ(check_name("vars.MODEL.x", scope),
              "unknown name `vars.MODEL.x` in `${{ }}`; did you mean `vars.MODEL`?");
    EXPECT_EQ(check_name("stages.train.result", scope),
              "unknown name `stages.train.result`; a stage's outputs are named "
              "`stages.STAGE.outputs.KEY`");
    EXPECT_EQ(check_name("stages.deploy.outputs.x", scope),
              "`stages.deploy.outputs.x` uses stage `deploy`, which this stage does not need; "
              "add it to `needs`");
}

TEST(Expressions, InterpolateReplacesEachName) {
    std::map<std::string, std::string, std::less<>> values{{"commit.short", "abc1234"},
                                                           {"vars.X", "${{ vars.X }}"}};
    auto lookup = [&](std::string_view name) -> std::optional<std::string> {
        auto it = values.find(name);
        if (it == values.end()) return std::nullopt;
        return it->second;
    };
    EXPECT_EQ(interpolate("repo:${{ commit.short }}-${{vars.X}}!", lookup),
              "repo:abc1234-${{ vars.X }}!");  // values are not scanned again
    EXPECT_EQ(interpolate("no expressions", lookup), "no expressions");

    auto missing = interpolate("x ${{ commit.sha }}", lookup);
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, util::ErrorCode::bad_input);
    EXPECT_EQ(missing.error().message, "no value for `${{ commit.sha }}`");

    auto malformed = interpolate("x ${{ commit.sha", lookup);
    ASSERT_FALSE(malformed.has_value());
    EXPECT_EQ(malformed.error().message, "unterminated `${{`: expected `}}`");
}

}  // namespace
}  // namespace sluice::pipeline
