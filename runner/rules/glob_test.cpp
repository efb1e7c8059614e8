// Glob patterns for branches and paths: segments, globstars, classes, escapes, and
// lists with `!` exclusions.
#include "runner/rules/glob.hpp"

#include <gtest/gtest.h>

namespace sluice::rules {
namespace {

TEST(Glob, LiteralsMatchOnlyThemselves) {
    EXPECT_TRUE(glob_match("main", "main"));
    EXPECT_FALSE(glob_match("main", "mainline"));
    EXPECT_FALSE(glob_match("main", "mai"));
    EXPECT_FALSE(glob_match("main", ""));
    EXPECT_TRUE(glob_match("", ""));
    EXPECT_FALSE(glob_match("", "x"));
    EXPECT_TRUE(glob_match("release-1.0", "release-1.0"));
}

TEST(Glob, StarStaysInsideOneSegment) {
    EXPECT_TRUE(glob_match("feature/*", "feature/x"));
    EXPECT_TRUE(glob_match("feature/*", "feature/"));
    EXPECT_FALSE(glob_match("feature/*", "feature/x/y"));
    EXPECT_FALSE(glob_match("feature/*", "feature"));
    EXPECT_TRUE(glob_match("*", "main"));
    EXPECT_FALSE(glob_match("*", "feature/x"));
    EXPECT_TRUE(glob_match("*.py", "train.py"));
    EXPECT_FALSE(glob_match("*.py", "src/train.py"));
    EXPECT_TRUE(glob_match("re*se-*", "release-1"));
    EXPECT_TRUE(glob_match("*/*", "a/b"));
    EXPECT_FALSE(glob_match("*/*", "a/b/c"));
}

TEST(Glob, GlobstarCrossesSlashes) {
    EXPECT_TRUE(glob_match("feature/**", "feature/x"));
    EXPECT_TRUE(glob_match("feature/**", "feature/x/y"));
    EXPECT_FALSE(glob_match("feature/**", "feature"));
    EXPECT_FALSE(glob_match("feature/**", "features/x"));
    EXPECT_TRUE(glob_match("**", "a/b/c"));
    EXPECT_TRUE(glob_match("**", ""));
    EXPECT_TRUE(glob_match("service/**", "service/app/main.py"));
    EXPECT_TRUE(glob_match("releases/**-alpha", "releases/v1/beta-alpha"));
    EXPECT_TRUE(glob_match("a**b", "a/x/b"));
    EXPECT_TRUE(glob_match("***", "a/b"));
}

TEST(Glob, LeadingGlobstarSlashMatchesAnyDepthIncludingNone) {
    EXPECT_TRUE(glob_match("**/x.py", "x.py"));
    EXPECT_TRUE(glob_match("**/x.py", "a/x.py"));
    EXPECT_TRUE(glob_match("**/x.py", "a/b/x.py"));
    EXPECT_FALSE(glob_match("**/x.py", "a/bx.py"));
    EXPECT_FALSE(glob_match("**/x.py", "x.pyc"));
    EXPECT_TRUE(glob_match("**/*.py", "a/b/c.py"));
    EXPECT_TRUE(glob_match("**/*.py", "c.py"));
    EXPECT_TRUE(glob_match("**/test_*.py", "tests/unit/test_model.py"));
}

TEST(Glob, MiddleGlobstarMatchesZeroOrMoreDirectories) {
    EXPECT_TRUE(glob_match("a/**/b", "a/b"));
    EXPECT_TRUE(glob_match("a/**/b", "a/x/b"));
    EXPECT_TRUE(glob_match("a/**/b", "a/x/y/b"));
    EXPECT_FALSE(glob_match("a/**/b", "a/xb"));
    EXPECT_FALSE(glob_match("a/**/b", "ab"));
    EXPECT_TRUE(glob_match("data/**/*.csv", "data/raw/2024/x.csv"));
    EXPECT_TRUE(glob_match("data/**/*.csv", "data/x.csv"));
    EXPECT_TRUE(glob_match("**/**/x", "x"));
}

TEST(Glob, QuestionMarkIsOneCharacterButNotSlash) {
    EXPECT_TRUE(glob_match("v?", "v1"));
    EXPECT_FALSE(glob_match("v?", "v"));
    EXPECT_FALSE(glob_match("v?", "v12"));
    EXPECT_FALSE(glob_match("a?b", "a/b"));
    EXPECT_TRUE(glob_match("*.py?", "a.pyc"));
    EXPECT_FALSE(glob_match("*.py?", "a.py"));
}

TEST(Glob, CharacterClasses) {
    EXPECT_TRUE(glob_match("[abc]x", "bx"));
    EXPECT_FALSE(glob_match("[abc]x", "dx"));
    EXPECT_TRUE(glob_match("v[0-9].*", "v1.2"));
    EXPECT_FALSE(glob_match("v[0-9].*", "va.2"));
    EXPECT_TRUE(glob_match("v[!0-9]", "va"));
    EXPECT_FALSE(glob_match("v[!0-9]", "v7"));
    EXPECT_TRUE(glob_match("v[^0-9]", "va"));
    EXPECT_TRUE(glob_match("[]]", "]"));
    EXPECT_TRUE(glob_match("[a-]", "-"));
    EXPECT_FALSE(glob_match("a[/]b", "a/b"));
    EXPECT_FALSE(glob_match("a[!x]b", "a/b"));
    EXPECT_TRUE(glob_match("[z-a]", "m"));  // reversed range is read as a-z
}

TEST(Glob, UnclosedBracketIsLiteral) {
    EXPECT_TRUE(glob_match("a[b", "a[b"));
    EXPECT_FALSE(glob_match("a[b", "ab"));
}

TEST(Glob, BackslashEscapes) {
    EXPECT_TRUE(glob_match("a\\*b", "a*b"));
    EXPECT_FALSE(glob_match("a\\*b", "axb"));
    EXPECT_TRUE(glob_match("\\[x]", "[x]"));
    EXPECT_TRUE(glob_match("a\\", "a\\"));
}

TEST(Glob, PathologicalPatternsStayFast) {
    std::string text(2000, 'a');
    EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*a*b", text));
    EXPECT_FALSE(glob_match("**a**a**a**a**a**a**a**b", text));
    EXPECT_TRUE(glob_match("**/**/**/**/x", "a/b/c/d/e/f/g/x"));
}

TEST(Glob, KeepsItsPattern) { EXPECT_EQ(Glob("feature/*").pattern(), "feature/*"); }

TEST(MatchList, FirstMatchingPatternIsReported) {
    std::vector<std::string> list{"main", "feature/*"};
    auto m = match_list(list, "feature/x");
    EXPECT_TRUE(m.matched);
    EXPECT_EQ(m.pattern, "feature/*");
    m = match_list(list, "wip");
    EXPECT_FALSE(m.matched);
    EXPECT_EQ(m.pattern, "");
}

TEST(MatchList, LastMatchingPatternWinsWithExclusions) {
    std::vector<std::string> list{"releases/**", "!releases/**-alpha"};
    EXPECT_TRUE(match_list(list, "releases/1.0").matched);
    auto m = match_list(list, "releases/1.0-alpha");
    EXPECT_FALSE(m.matched);
    EXPECT_EQ(m.pattern, "!releases/**-alpha");
    // Included again by a later pattern.
    std::vector<std::string> again{"**/*.py", "!tests/**", "tests/conftest.py"};
    EXPECT_TRUE(match_list(again, "tests/conftest.py").matched);
    EXPECT_FALSE(match_list(again, "tests/test_x.py").matched);
    EXPECT_TRUE(match_list(again, "src/x.py").matched);
}

TEST(MatchList, OnlyExclusionsStartFromIncluded) {
    std::vector<std::string> list{"!main", "!release/*"};
    auto m = match_list(list, "feature/x");
    EXPECT_TRUE(m.matched);
    EXPECT_EQ(m.pattern, "");
    EXPECT_FALSE(match_list(list, "main").matched);
    EXPECT_FALSE(match_list(list, "release/1").matched);
}

TEST(MatchList, EmptyListMatchesNothing) {
    EXPECT_FALSE(match_list(std::vector<std::string>{}, "main").matched);
}

TEST(FormatList, Brackets) {
    EXPECT_EQ(format_list(std::vector<std::string>{"main", "develop"}), "[main, develop]");
    EXPECT_EQ(format_list(std::vector<std::string>{}), "[]");
}

}  // namespace
}  // namespace sluice::rules
