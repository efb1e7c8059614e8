// Edit distance and "did you mean" suggestions.
#include "runner/util/suggest.hpp"

#include <gtest/gtest.h>

#include <array>

namespace sluice::util {
namespace {

TEST(Suggest, EditDistance) {
    EXPECT_EQ(edit_distance("", ""), 0u);
    EXPECT_EQ(edit_distance("abc", ""), 3u);
    EXPECT_EQ(edit_distance("timout", "timeout"), 1u);
    EXPECT_EQ(edit_distance("trian", "train"), 1u);  // a swap counts once
    EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(Suggest, ClosestMatchWhenCloseEnough) {
    constexpr std::array<std::string_view, 4> keys{"run", "needs", "timeout", "retry"};
    EXPECT_EQ(closest_match("timout", keys), "timeout");
    EXPECT_EQ(closest_match("rn", keys), "run");
    EXPECT_EQ(closest_match("Needs", keys), "needs");  // case is ignored
    EXPECT_EQ(closest_match("frobnicate", keys), std::nullopt);
    EXPECT_EQ(closest_match("abc", keys), std::nullopt);
    EXPECT_EQ(closest_match("run", keys), std::nullopt);  // an exact match is no suggestion
}

TEST(Suggest, DidYouMean) {
    std::vector<std::string> stages{"train", "test"};
    EXPECT_EQ(did_you_mean("trian", stages), "; did you mean `train`?");
    EXPECT_EQ(did_you_mean("deploy", stages), "");
}

}  // namespace
}  // namespace sluice::util
