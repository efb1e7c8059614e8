// `sluice graph` output: text, Graphviz DOT and Mermaid.
#include "runner/plan/render.hpp"

#include <gtest/gtest.h>

#include "runner/pipeline/loader.hpp"

namespace sluice::plan {
namespace {

Plan plan_of(std::string_view yaml) {
    auto p = pipeline::load_pipeline_string(yaml, "sluice.yml");
    EXPECT_TRUE(p.has_value());
    auto plan = Plan::build(p ? *p : pipeline::Pipeline{});
    EXPECT_TRUE(plan.has_value());
    return *plan;
}

constexpr std::string_view k_pipeline = R"(name: churn-model
stages:
  deploy-staging:
    kind: deploy
    needs: [f1-gate, unit-tests]
    environment: staging
  unit-tests: {run: pytest}
  train: {run: python3 train.py, needs: unit-tests}
  f1-gate: {kind: gate, needs: [train], require: [f1 > 0.8]}
  image: {kind: image, needs: [f1-gate], context: .}
)";

TEST(Render, TextIsOneAlignedLinePerStageInOrder) {
    EXPECT_EQ(render_text(plan_of(k_pipeline)),
              "unit-tests      script\n"
              "train           script  <- unit-tests\n"
              "f1-gate         gate    <- train\n"
              "deploy-staging  deploy  <- f1-gate, unit-tests\n"
              "image           image   <- f1-gate\n");
}

TEST(Render, TextOfASelection) {
    Plan plan = plan_of(k_pipeline);
    auto included = plan.select({"train"});
    ASSERT_TRUE(included.has_value());
    EXPECT_EQ(render_text(plan, *included),
              "unit-tests  script\n"
              "train       script  <- unit-tests\n");
}

TEST(Render, DotIsAValidDigraph) {
    EXPECT_EQ(render_dot(plan_of(k_pipeline)),
              "digraph \"churn-model\" {\n"
              "    rankdir=LR;\n"
              "    node [shape=box, style=rounded];\n"
              "    \"unit-tests\";\n"
              "    \"train\";\n"
              "    \"f1-gate\" [shape=diamond, style=solid];\n"
              "    \"deploy-staging\" [style=\"rounded,bold\"];\n"
              "    \"image\" [shape=box3d, style=solid];\n"
              "    \"unit-tests\" -> \"train\";\n"
              "    \"train\" -> \"f1-gate\";\n"
              "    \"f1-gate\" -> \"deploy-staging\";\n"
              "    \"unit-tests\" -> \"deploy-staging\";\n"
              "    \"f1-gate\" -> \"image\";\n"
              "}\n");
}

TEST(Render, DotEscapesThePipelineName) {
    std::string dot = render_dot(plan_of("name: 'say \"hi\" \\ bye'\nstages:\n  a: {run: x}\n"));
    EXPECT_EQ(dot.substr(0, dot.find('\n')), R"(digraph "say \"hi\" \\ bye" {)");
}

TEST(Render, MermaidQuotesNamesAndUsesSafeIds) {
    EXPECT_EQ(render_mermaid(plan_of(k_pipeline)),
              "graph TD\n"
              "    s1[\"unit-tests\"]\n"
              "    s2[\"train\"]\n"
              "    s3{\"f1-gate\"}\n"
              "    s0([\"deploy-staging\"])\n"
              "    s4[[\"image\"]]\n"
              "    s1 --> s2\n"
              "    s2 --> s3\n"
              "    s3 --> s0\n"
              "    s1 --> s0\n"
              "    s3 --> s4\n");
}

TEST(Render, MermaidKeywordsAsStageNamesAreLabelsOnly) {
    std::string out = render_mermaid(plan_of("name: p\nstages:\n  end: {run: x}\n"));
    EXPECT_EQ(out, "graph TD\n    s0[\"end\"]\n");
}

TEST(Render, SelectionLeavesOtherStagesOutOfEveryFormat) {
    Plan plan = plan_of(k_pipeline);
    auto included = plan.select({"unit-tests"});
    ASSERT_TRUE(included.has_value());
    EXPECT_EQ(render_mermaid(plan, *included), "graph TD\n    s1[\"unit-tests\"]\n");
    EXPECT_EQ(render_dot(plan, *included).find("train"), std::string::npos);
}

}  // namespace
}  // namespace sluice::plan
