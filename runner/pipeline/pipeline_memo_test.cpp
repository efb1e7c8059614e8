// Remembered pipelines: the model survives the trip through the memo's record field for
// field, a second load of the same text comes from the memo, and a damaged or foreign
// memo is never trusted.
#include "runner/pipeline/pipeline_memo.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "runner/pipeline/loader.hpp"
#include "runner/pipeline/model_binary.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice::pipeline {
namespace {

using testing::TempDir;

// Every key the model has, each set to something other than its default.
constexpr std::string_view k_every_key = R"(name: churn-model
on:
  push:          { branches: [main, "feature/*"], tags: ["v*"] }
  merge_request: { target_branches: [main] }
variables: { MODEL_NAME: churn, THRESHOLD: "0.8" }
defaults:  { timeout: 10m, retry: { max: 2, delay: 3s, max_delay: 20s }, shell: bash }
environments:
  staging: {}
  production:
    branches: [main]
    protected: true
    alias: prod
    approval: { required: 2, approvers: [release-managers], self_approval: true, timeout: 1h }
stages:
  train:
    run: [python3 train.py, echo done]
    env: { SEED: "42" }
    inherit_env: [HOME]
    timeout: 5m
    retry: 1
    allow_failure: true
    shell: sh
    inputs:  [train.py, "data/**", "!data/tmp/**"]
    outputs: [model.pkl]
    cache: false
    metrics: metrics.json
    reports: { junit: reports/unit.xml }
    when: { event: [push], branch: [main], changes: ["data/**"] }
  f1-gate:
    kind: gate
    needs: [train]
    model: churn
    require: ["f1 >= 0.80"]
  deploy-production:
    kind: deploy
    needs: [f1-gate]
    environment: production
    approval: { required: 1, approvers: [ann], self_approval: false }
    promote:  { model: churn, alias: production }
    run: ./deploy.sh ${{ vars.MODEL_NAME }}
)";

std::vector<std::filesystem::path> memos_in(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) out.push_back(e.path());
    return out;
}

std::string read_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

void write_bytes(const std::filesystem::path& file, const std::string& bytes) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(PipelineMemo, EveryFieldSurvivesTheTripThroughTheMemoRecord) {
    auto loaded = load_pipeline_string(k_every_key, "sluice.yml");
    ASSERT_TRUE(loaded);
    auto bytes = to_binary(*loaded);
    auto back = pipeline_from_binary(bytes);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(to_binary(*back), bytes);
    // Spot checks that the fixture sets what it claims to.
    const Stage& train = back->stages.at(0);
    EXPECT_EQ(train.retry->max, 1);
    EXPECT_FALSE(train.cache);
    EXPECT_EQ(train.when->changes, std::vector<std::string>{"data/**"});
    EXPECT_EQ(train.env, (VarList{{"SEED", "42"}}));
    EXPECT_EQ(train.reports.at("junit"), "reports/unit.xml");
    EXPECT_EQ(back->environments.at(1).approval->timeout, std::chrono::hours(1));
    EXPECT_EQ(back->defaults.retry.max_delay, std::chrono::seconds(20));
    EXPECT_EQ(back->stages.at(2).promote->alias, "production");
    EXPECT_EQ(back->stages.at(2).kind, StageKind::deploy);
    EXPECT_EQ(back->stages.at(1).config.at("model"), "churn");
    EXPECT_EQ(*back->on.push_branches, (std::vector<std::string>{"main", "feature/*"}));
}

TEST(PipelineMemo, TheSecondLoadOfTheSameTextComesFromTheMemo) {
    TempDir dir;
    auto first = load_pipeline_remembered(k_every_key, "sluice.yml", dir.path());
    ASSERT_TRUE(first);
    auto memos = memos_in(dir.path());
    ASSERT_EQ(memos.size(), 1u);

    // Prove the second load reads the memo: change the pipeline's name inside it (to one
    // of the same length, so the record stays whole).
    std::string bytes = read_bytes(memos[0]);
    auto at = bytes.find("churn-model");
    ASSERT_NE(at, std::string::npos);
    bytes.replace(at, 11, "stale-model");
    write_bytes(memos[0], bytes);

    auto second = load_pipeline_remembered(k_every_key, "sluice.yml", dir.path());
    ASSERT_TRUE(second);
    EXPECT_EQ(second->name, "stale-model");
    // Another text, or the same text under another name, is parsed.
    auto other = load_pipeline_remembered(k_every_key, "other/sluice.yml", dir.path());
    ASSERT_TRUE(other);
    EXPECT_EQ(other->name, "churn-model");
    EXPECT_EQ(other->file, "other/sluice.yml");
}

TEST(PipelineMemo, ADamagedMemoIsParsedAgainAndReplaced) {
    TempDir dir;
    auto first = load_pipeline_remembered(k_every_key, "sluice.yml", dir.path());
    ASSERT_TRUE(first);
    auto memo = memos_in(dir.path()).at(0);
    std::string whole = read_bytes(memo);
    // Not a memo, nothing, its header only, cut short by one byte, one byte too many.
    auto head = whole.find('\n', whole.find('\n') + 1) + 1;
    for (std::string damage : {std::string("not a memo at all"), std::string(), whole.substr(0, head),
                               whole.substr(0, whole.size() - 1), whole + "x"}) {
        write_bytes(memo, damage);
        auto again = load_pipeline_remembered(k_every_key, "sluice.yml", dir.path());
        ASSERT_TRUE(again);
        EXPECT_EQ(to_binary(*again), to_binary(*first));
        EXPECT_EQ(read_bytes(memo), whole);  // written again
    }
}

TEST(PipelineMemo, AMemoOfAnotherShapeIsNotTrusted) {
    TempDir dir;
    ASSERT_TRUE(load_pipeline_remembered(k_every_key, "sluice.yml", dir.path()));
    auto memo = memos_in(dir.path()).at(0);
    std::string whole = read_bytes(memo);
    auto head = whole.find('\n', whole.find('\n') + 1) + 1;
    // The record's first field, the name's length, made far longer than the file; then
    // the same bytes under another format line, as another version would write them.
    std::string huge = whole;
    huge[head + 7] = '\x7f';
    std::string other_format = whole;
    other_format.replace(0, other_format.find('\n'), "sluice-pipeline-memo 2");
    for (const std::string& damage : {huge, other_format}) {
        write_bytes(memo, damage);
        auto loaded = load_pipeline_remembered(k_every_key, "sluice.yml", dir.path());
        ASSERT_TRUE(loaded);
        EXPECT_EQ(loaded->name, "churn-model");
        EXPECT_EQ(loaded->stages.size(), 3u);
    }
}

TEST(PipelineMemo, ErrorsAreReportedAndNeverRemembered) {
    TempDir dir;
    auto loaded = load_pipeline_remembered("name: p\nstages:\n  a:\n    run: true\n    needs: [b]\n",
                                           "sluice.yml", dir.path());
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().at(0).where.line, 5) << loaded.error().at(0).message;
    EXPECT_TRUE(memos_in(dir.path()).empty());
}

TEST(PipelineMemo, OnlyTheNewestMemosAreKept) {
    TempDir dir;
    for (int i = 0; i < k_remembered_pipelines + 5; ++i) {
        std::string yaml = "name: p" + std::to_string(i) + "\nstages:\n  a:\n    run: true\n";
        ASSERT_TRUE(load_pipeline_remembered(yaml, "sluice.yml", dir.path()));
    }
    EXPECT_EQ(memos_in(dir.path()).size(), static_cast<std::size_t>(k_remembered_pipelines));
}

}  // namespace
}  // namespace sluice::pipeline
