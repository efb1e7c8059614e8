// Stable topological order and cycle extraction.
#include "runner/util/graph.hpp"

#include <gtest/gtest.h>

namespace sluice::util {
namespace {

TEST(Graph, OrderIsStable) {
    // 0 needs 2; 1 and 2 are free: 1 before 2 (lowest ready first), then 0.
    auto order = topological_order({{2}, {}, {}});
    ASSERT_TRUE(order.has_value());
    EXPECT_EQ(*order, (std::vector<int>{1, 2, 0}));
}

TEST(Graph, OrderOfACycleIsNullopt) {
    EXPECT_FALSE(topological_order({{1}, {0}}).has_value());
    EXPECT_FALSE(topological_order({{0}}).has_value());
}

TEST(Graph, CyclesOnePerComponentStartingAtTheLowestNode) {
    // 0 -> 2 -> 1 -> 0, 3 -> 3, 4 -> 5 -> 4, 6 free.
    auto cycles = find_cycles({{2}, {0}, {1}, {3}, {5}, {4}, {}});
    ASSERT_EQ(cycles.size(), 3u);
    EXPECT_EQ(cycles[0], (std::vector<int>{0, 2, 1}));
    EXPECT_EQ(cycles[1], (std::vector<int>{3}));
    EXPECT_EQ(cycles[2], (std::vector<int>{4, 5}));
}

TEST(Graph, ShortestCycleThroughTheFirstNode) {
    // 0 -> 1 -> 2 -> 0, and 0 -> 2 directly: the reported cycle is the shorter 0 -> 2 -> 0.
    auto cycles = find_cycles({{1, 2}, {2}, {0}});
    ASSERT_EQ(cycles.size(), 1u);
    EXPECT_EQ(cycles[0], (std::vector<int>{0, 2}));
}

TEST(Graph, NoCyclesInADag) { EXPECT_TRUE(find_cycles({{}, {0}, {0, 1}}).empty()); }

TEST(Graph, OutOfRangeEdgesAreIgnored) {
    auto order = topological_order({{7, -1}, {0}});
    ASSERT_TRUE(order.has_value());
    EXPECT_EQ(*order, (std::vector<int>{0, 1}));
}

}  // namespace
}  // namespace sluice::util
