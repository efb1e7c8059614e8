// The plan: deps and dependents, stable topological order, and the --only closure.
#include "runner/plan/plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "runner/pipeline/loader.hpp"

namespace sluice::plan {
namespace {

pipeline::Pipeline load(std::string_view yaml) {
    auto p = pipeline::load_pipeline_string(yaml, "sluice.yml");
    EXPECT_TRUE(p.has_value());
    return p ? *p : pipeline::Pipeline{};
}

// A stage made by hand, as tests of other folders build pipelines.
pipeline::Stage stage(std::string name, std::vector<std::string> needs = {}) {
    pipeline::Stage s;
    s.name = std::move(name);
    s.needs = std::move(needs);
    s.run = {"true"};
    return s;
}

std::vector<std::string> names(const Plan& plan, const std::vector<int>& indices) {
    std::vector<std::string> out;
    for (int i : indices) out.push_back(plan.name(i));
    return out;
}

std::vector<std::string> selected(const Plan& plan, const std::vector<bool>& included) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < included.size(); ++i) {
        if (included[i]) out.push_back(plan.name(static_cast<int>(i)));
    }
    return out;
}

constexpr std::string_view k_diamond = R"(name: diamond
stages:
  lint: {run: x}
  build: {run: x}
  test: {run: x, needs: [build]}
  docs: {run: x, needs: [build]}
  package: {run: x, needs: [test, docs, lint]}
)";

TEST(Plan, NeedsAndDependentsByIndex) {
    auto plan = Plan::build(load(k_diamond));
    ASSERT_TRUE(plan.has_value());
    EXPECT_EQ(plan->size(), 5u);
    EXPECT_EQ(plan->pipeline_name(), "diamond");
    EXPECT_EQ(names(*plan, plan->needs(4)), (std::vector<std::string>{"test", "docs", "lint"}));
    EXPECT_EQ(names(*plan, plan->dependents(1)), (std::vector<std::string>{"test", "docs"}));
    EXPECT_TRUE(plan->dependents(4).empty());
    EXPECT_EQ(plan->index_of("docs"), 3);
    EXPECT_EQ(plan->index_of("nope"), -1);
    EXPECT_EQ(plan->kind(0), pipeline::StageKind::script);
}

TEST(Plan, OrderIsTopologicalAndFileOrderAmongReadyStages) {
    auto plan = Plan::build(load(k_diamond));
    ASSERT_TRUE(plan.has_value());
    EXPECT_EQ(names(*plan, plan->order()),
              (std::vector<std::string>{"lint", "build", "test", "docs", "package"}));
}

TEST(Plan, OrderPutsALaterStageFirstWhenAnEarlierOneNeedsIt) {
    pipeline::Pipeline p;
    p.stages = {stage("deploy", {"build"}), stage("notify"), stage("build")};
    auto plan = Plan::build(p);
    ASSERT_TRUE(plan.has_value());
    // notify (index 1) and build (index 2) are ready at once: file order.
    EXPECT_EQ(names(*plan, plan->order()), (std::vector<std::string>{"notify", "build", "deploy"}));
}

TEST(Plan, LongChainDoesNotRecurse) {
    pipeline::Pipeline p;
    for (int i = 0; i < 20000; ++i) {
        p.stages.push_back(stage("s" + std::to_string(i),
                                 i == 0 ? std::vector<std::string>{}
                                        : std::vector<std::string>{"s" + std::to_string(i - 1)}));
    }
    auto plan = Plan::build(p);
    ASSERT_TRUE(plan.has_value());
    EXPECT_EQ(plan->order().back(), 19999);
    auto only = plan->select({"s19999"});
    ASSERT_TRUE(only.has_value());
    EXPECT_EQ(std::count(only->begin(), only->end(), true), 20000);
}

TEST(Plan, HandMadeCycleIsAnError) {
    pipeline::Pipeline p;
    p.stages = {stage("a", {"c"}), stage("b", {"a"}), stage("c", {"b"})};
    auto plan = Plan::build(p);
    ASSERT_FALSE(plan.has_value());
    EXPECT_EQ(plan.error().code, util::ErrorCode::bad_input);
    EXPECT_EQ(plan.error().message, "dependency cycle: a -> c -> b -> a");
}

TEST(Plan, HandMadeUnknownNeedIsAnError) {
    pipeline::Pipeline p;
    p.stages = {stage("a", {"zzz"})};
    auto plan = Plan::build(p);
    ASSERT_FALSE(plan.has_value());
    EXPECT_EQ(plan.error().message, "stage `a` needs unknown stage `zzz`");
}

TEST(Plan, OnlyTakesTheStageAndEverythingItNeeds) {
    auto plan = Plan::build(load(k_diamond));
    ASSERT_TRUE(plan.has_value());
    auto test = plan->select({"test"});
    ASSERT_TRUE(test.has_value());
    EXPECT_EQ(selected(*plan, *test), (std::vector<std::string>{"build", "test"}));

    auto package = plan->select({"package"});
    ASSERT_TRUE(package.has_value());
    EXPECT_EQ(selected(*plan, *package).size(), 5u);

    auto two = plan->select({"docs", "lint"});
    ASSERT_TRUE(two.has_value());
    EXPECT_EQ(selected(*plan, *two), (std::vector<std::string>{"lint", "build", "docs"}));
}

TEST(Plan, OnlyNothingSelectsEverything) {
    auto plan = Plan::build(load(k_diamond));
    ASSERT_TRUE(plan.has_value());
    auto all = plan->select({});
    ASSERT_TRUE(all.has_value());
    EXPECT_EQ(*all, std::vector<bool>(5, true));
}

TEST(Plan, OnlyUnknownStageSuggestsTheClosest) {
    auto plan = Plan::build(load(k_diamond));
    ASSERT_TRUE(plan.has_value());
    auto bad = plan->select({"test", "pakage"});
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code, util::ErrorCode::bad_input);
    EXPECT_EQ(bad.error().message, "unknown stage `pakage` in --only; did you mean `package`?");
    auto far = plan->select({"zebra"});
    ASSERT_FALSE(far.has_value());
    EXPECT_EQ(far.error().message, "unknown stage `zebra` in --only");
}

TEST(Plan, SelectStagesIsBuildThenSelect) {
    auto included = select_stages(load(k_diamond), {"docs"});
    ASSERT_TRUE(included.has_value());
    EXPECT_EQ(*included, (std::vector<bool>{false, true, false, true, false}));
}

}  // namespace
}  // namespace sluice::plan
