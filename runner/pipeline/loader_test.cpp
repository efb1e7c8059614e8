// The loader on valid pipelines: DESIGN.md's example and each spelling of each key.
#include "runner/pipeline/loader.hpp"

#include <gtest/gtest.h>

#include "runner/pipeline/loader_test_support.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice::pipeline {
namespace {

using test::load_ok;
using namespace std::chrono_literals;

// Verbatim from /work/shared/DESIGN.md.
constexpr std::string_view k_design_example = R"(name: churn-model
on:                                   # which events start this pipeline
  push:          { branches: [main, develop, "feature/*"] }
  merge_request: { target_branches: [main, develop] }
variables: { MODEL_NAME: churn }
defaults:  { timeout: 10m, retry: 0 }
stages:
  unit-tests:
    run: python3 -m pytest -q tests/unit --junitxml=reports/unit.xml
    reports: { junit: reports/unit.xml }
  train:
    needs: [unit-tests]
    run: python3 train.py --out model.pkl --metrics metrics.json
    inputs:  [train.py, "data/**"]          # content-hashed: unchanged => skipped
    outputs: [model.pkl, metrics.json]
    metrics: metrics.json                    # logged to the registry as the candidate
  f1-gate:
    kind: gate
    needs: [train]
    registry: builtin                        # or mlflow: { uri: http://127.0.0.1:5000 }
    model: churn
    require:
      - f1 >= 0.80
      - f1 >= champion.f1 - 0.01             # champion = the version now in production
  image:
    kind: image
    needs: [f1-gate]
    context: service/
    tag: 127.0.0.1:5000/churn:${{ commit.short }}
  push:
    kind: push
    needs: [image]
    when: { event: push, branch: [main, develop] }
  deploy-staging:
    kind: deploy
    needs: [push]
    environment: staging
    run: ./deploy.sh staging
  deploy-production:
    kind: deploy
    needs: [deploy-staging]
    environment: production
    approval: { required: 1, approvers: [release-managers], self_approval: false }
    promote:  { model: churn, alias: production }
    run: ./deploy.sh production
)";

TEST(Loader, DesignExampleLoads) {
    Pipeline p = load_ok(k_design_example);
    EXPECT_EQ(p.name, "churn-model");
    EXPECT_EQ(p.file, "sluice.yml");

    EXPECT_FALSE(p.on.any);
    ASSERT_TRUE(p.on.push_branches.has_value());
    EXPECT_EQ(*p.on.push_branches, (std::vector<std::string>{"main", "develop", "feature/*"}));
    ASSERT_TRUE(p.on.merge_request_targets.has_value());
    EXPECT_EQ(*p.on.merge_request_targets, (std::vector<std::string>{"main", "develop"}));
    EXPECT_TRUE(p.on.manual);
    EXPECT_TRUE(p.on.tags.empty());
    EXPECT_FALSE(p.on.all_tags);

    EXPECT_EQ(p.variables, (VarList{{"MODEL_NAME", "churn"}}));
    EXPECT_EQ(p.defaults.timeout, 10min);
    EXPECT_EQ(p.defaults.retry.max, 0);
    EXPECT_EQ(p.defaults.shell, "sh");

    ASSERT_EQ(p.stages.size(), 7u);
    std::vector<std::string> names;
    for (const auto& s : p.stages) names.push_back(s.name);
    EXPECT_EQ(names, (std::vector<std::string>{"unit-tests", "train", "f1-gate", "image", "push",
                                               "deploy-staging", "deploy-production"}));

    const Stage& unit = p.stages[0];
    EXPECT_EQ(unit.kind, StageKind::script);
    EXPECT_EQ(unit.pos.line, 8);
    EXPECT_EQ(unit.pos.column, 3);
    EXPECT_EQ(
        unit.run,
        (std::vector<std::string>{"python3 -m pytest -q tests/unit --junitxml=reports/unit.xml"}));
    EXPECT_EQ(unit.run_pos.line, 9);
    EXPECT_EQ(unit.run_pos.column, 10);
    EXPECT_EQ(unit.reports.at("junit"), "reports/unit.xml");
    EXPECT_TRUE(unit.needs.empty());

    const Stage& train = *p.find("train");
    EXPECT_EQ(train.needs, (std::vector<std::string>{"unit-tests"}));
    ASSERT_EQ(train.needs_pos.size(), 1u);
    EXPECT_EQ(train.needs_pos[0].line, 12);
    EXPECT_EQ(train.needs_pos[0].column, 13);
    EXPECT_EQ(train.inputs, (std::vector<std::string>{"train.py", "data/**"}));
    EXPECT_EQ(train.outputs, (std::vector<std::string>{"model.pkl", "metrics.json"}));
    EXPECT_EQ(train.metrics, "metrics.json");
    EXPECT_TRUE(train.cache);
    EXPECT_EQ(p.timeout_of(train), 10min);

    const Stage& gate = *p.find("f1-gate");
    EXPECT_EQ(gate.kind, StageKind::gate);
    EXPECT_TRUE(gate.run.empty());
    EXPECT_EQ(gate.config["registry"], "builtin");
    EXPECT_EQ(gate.config["model"], "churn");
    EXPECT_EQ(gate.config["require"], nlohmann::json({"f1 >= 0.80", "f1 >= champion.f1 - 0.01"}));

    const Stage& image = *p.find("image");
    EXPECT_EQ(image.kind, StageKind::image);
    EXPECT_EQ(image.config["context"], "service/");
    EXPECT_EQ(image.config["tag"], "127.0.0.1:5000/churn:${{ commit.short }}");

    const Stage& push = *p.find("push");
    EXPECT_EQ(push.kind, StageKind::push);
    ASSERT_TRUE(push.when.has_value());
    EXPECT_EQ(push.when->events, (std::vector<std::string>{"push"}));
    EXPECT_EQ(push.when->branches, (std::vector<std::string>{"main", "develop"}));
    EXPECT_EQ(push.when->pos.line, 33);
    EXPECT_EQ(push.config, nlohmann::json::object());

    const Stage& staging = *p.find("deploy-staging");
    EXPECT_EQ(staging.kind, StageKind::deploy);
    EXPECT_EQ(staging.environment, "staging");
    EXPECT_EQ(staging.run, (std::vector<std::string>{"./deploy.sh staging"}));
    EXPECT_FALSE(staging.approval.has_value());

    const Stage& production = *p.find("deploy-production");
    ASSERT_TRUE(production.approval.has_value());
    EXPECT_EQ(production.approval->required, 1);
    EXPECT_EQ(production.approval->approvers, (std::vector<std::string>{"release-managers"}));
    EXPECT_FALSE(production.approval->self_approval);
    EXPECT_EQ(production.approval->pos.line, 43);
    ASSERT_TRUE(production.promote.has_value());
    EXPECT_EQ(production.promote->model, "churn");
    EXPECT_EQ(production.promote->alias, "production");
}

TEST(Loader, RunAsStringIsOneLine) {
    Pipeline p = load_ok("name: p\nstages:\n  a:\n    run: make test && make lint\n");
    EXPECT_EQ(p.stages[0].run, (std::vector<std::string>{"make test && make lint"}));
}

TEST(Loader, RunAsListKeepsEachLine) {
    Pipeline p = load_ok("name: p\nstages:\n  a:\n    run:\n      - make\n      - make test\n");
    EXPECT_EQ(p.stages[0].run, (std::vector<std::string>{"make", "make test"}));
    EXPECT_EQ(p.stages[0].run_pos.line, 5);
}

TEST(Loader, RunAsBlockScalarIsOneScript) {
    Pipeline p = load_ok("name: p\nstages:\n  a:\n    run: |\n      set -e\n      make\n");
    EXPECT_EQ(p.stages[0].run, (std::vector<std::string>{"set -e\nmake\n"}));
}

TEST(Loader, StagesKeepFileOrder) {
    Pipeline p = load_ok(
        "name: p\nstages:\n  zeta: {run: x}\n  alpha: {run: x}\n  mid: {run: x, needs: zeta}\n");
    ASSERT_EQ(p.stages.size(), 3u);
    EXPECT_EQ(p.stages[0].name, "zeta");
    EXPECT_EQ(p.stages[1].name, "alpha");
    EXPECT_EQ(p.stages[2].name, "mid");
    EXPECT_EQ(p.stages[2].needs, (std::vector<std::string>{"zeta"}));
    EXPECT_EQ(p.index_of("mid"), 2);
}

TEST(Loader, NoOnMeansEveryEvent) {
    Pipeline p = load_ok("name: p\nstages:\n  a: {run: x}\n");
    EXPECT_TRUE(p.on.any);
}

TEST(Loader, OnAsOneEventMeansEveryBranch) {
    Pipeline p = load_ok("name: p\non: push\nstages:\n  a: {run: x}\n");
    EXPECT_FALSE(p.on.any);
    ASSERT_TRUE(p.on.push_branches.has_value());
    EXPECT_TRUE(p.on.push_branches->empty());
    EXPECT_TRUE(p.on.all_tags);
    EXPECT_FALSE(p.on.merge_request_targets.has_value());
    EXPECT_TRUE(p.on.manual);
}

TEST(Loader, OnAsListOfEvents) {
    Pipeline p = load_ok("name: p\non: [push, merge_request]\nstages:\n  a: {run: x}\n");
    ASSERT_TRUE(p.on.push_branches.has_value());
    EXPECT_TRUE(p.on.push_branches->empty());
    ASSERT_TRUE(p.on.merge_request_targets.has_value());
    EXPECT_TRUE(p.on.merge_request_targets->empty());
}

TEST(Loader, OnPushWithOnlyTagsLeavesBranchPushesOut) {
    Pipeline p = load_ok(
        "name: p\non:\n  push: {tags: [\"v*\"]}\n  manual: false\nstages:\n  a: {run: x}\n");
    EXPECT_FALSE(p.on.push_branches.has_value());
    EXPECT_EQ(p.on.tags, (std::vector<std::string>{"v*"}));
    EXPECT_FALSE(p.on.all_tags);
    EXPECT_FALSE(p.on.manual);
}

TEST(Loader, OnPushWithoutFiltersTakesEverything) {
    Pipeline p = load_ok("name: p\non:\n  push:\n  merge_request:\nstages:\n  a: {run: x}\n");
    ASSERT_TRUE(p.on.push_branches.has_value());
    EXPECT_TRUE(p.on.push_branches->empty());
    EXPECT_TRUE(p.on.all_tags);
    ASSERT_TRUE(p.on.merge_request_targets.has_value());
    EXPECT_TRUE(p.on.merge_request_targets->empty());
}

TEST(Loader, StageKeysOfEveryType) {
    Pipeline p = load_ok(R"(name: p
variables:
  A: 1
  B: "two ${{ vars.A }}"
  EMPTY:
defaults: {timeout: 1h30m, retry: {max: 2, delay: 5s}, shell: bash}
stages:
  a:
    run: [echo a]
    needs: []
    env: {X: "1", Y: "${{ commit.sha }}"}
    inherit_env: [HOME, PATH]
    timeout: 45s
    retry: 3
    allow_failure: true
    shell: zsh
    cache: false
    environment: review
    when: {event: [push, manual], target_branch: main, changes: ["src/**"]}
  b:
    needs: a
    env: inherit
    retry: {max: 1, delay: 2m}
    run: echo ${{ stages.a.outputs.run_id }}
)");
    EXPECT_EQ(p.variables, (VarList{{"A", "1"}, {"B", "two ${{ vars.A }}"}, {"EMPTY", ""}}));
    EXPECT_EQ(p.defaults.timeout, 90min);
    EXPECT_EQ(p.defaults.retry.max, 2);
    EXPECT_EQ(p.defaults.retry.delay, 5s);
    EXPECT_EQ(p.defaults.shell, "bash");

    const Stage& a = p.stages[0];
    EXPECT_EQ(a.env, (VarList{{"X", "1"}, {"Y", "${{ commit.sha }}"}}));
    EXPECT_EQ(a.inherit_env, (std::vector<std::string>{"HOME", "PATH"}));
    EXPECT_FALSE(a.inherit_all_env);
    EXPECT_EQ(a.timeout, 45s);
    EXPECT_EQ(p.retry_of(a).max, 3);
    EXPECT_TRUE(a.allow_failure);
    EXPECT_EQ(p.shell_of(a), "zsh");
    EXPECT_FALSE(a.cache);
    EXPECT_EQ(a.environment, "review");
    ASSERT_TRUE(a.when.has_value());
    EXPECT_EQ(a.when->events, (std::vector<std::string>{"push", "manual"}));
    EXPECT_EQ(a.when->target_branches, (std::vector<std::string>{"main"}));
    EXPECT_EQ(a.when->changes, (std::vector<std::string>{"src/**"}));

    const Stage& b = p.stages[1];
    EXPECT_EQ(b.needs, (std::vector<std::string>{"a"}));
    EXPECT_TRUE(b.inherit_all_env);
    EXPECT_EQ(p.retry_of(b).delay, 2min);
    EXPECT_EQ(p.retry_of(b).max_delay, 2min);  // the cap rises to a longer delay
    EXPECT_EQ(p.timeout_of(b), 90min);
    EXPECT_EQ(p.shell_of(b), "bash");
}

TEST(Loader, KindSpecificKeysGoToConfig) {
    Pipeline p = load_ok(R"(name: p
stages:
  gate:
    kind: gate
    registry: {mlflow: {uri: "http://127.0.0.1:5000"}}
    require: f1 >= 0.8
    if_no_champion: pass
    candidate: ${{ run.id }}
  image:
    kind: image
    context: .
    entrypoint: [python3, serve.py]
    cmd: serve --port 80
    env: {PORT: 80}
    expose: [8080, 9090/tcp]
    labels: {org.opencontainers.image.source: repo}
    ignore: .git
  push:
    kind: push
    image: churn
    credentials: {username: bot, password: "${{ vars.TOKEN }}"}
  deploy:
    kind: deploy
    environment: staging
    target: kubernetes
    manifest: k8s/deploy.yml
    health_url: http://127.0.0.1:8080/health
    image: registry/churn@sha256:0123
    health_timeout: 90s
    replicas: 2
    namespace: ml
variables: {TOKEN: secret}
)");
    const Stage& gate = p.stages[0];
    EXPECT_EQ(gate.config["registry"],
              nlohmann::json::parse(R"({"mlflow": {"uri": "http://127.0.0.1:5000"}})"));
    EXPECT_EQ(gate.config["require"], nlohmann::json({"f1 >= 0.8"}));
    EXPECT_EQ(gate.config["if_no_champion"], "pass");
    EXPECT_EQ(gate.config["candidate"], "${{ run.id }}");

    const Stage& image = p.stages[1];
    EXPECT_EQ(image.config["entrypoint"], nlohmann::json({"python3", "serve.py"}));
    EXPECT_EQ(image.config["cmd"], "serve --port 80");
    EXPECT_EQ(image.config["env"], nlohmann::json({{"PORT", "80"}}));
    EXPECT_TRUE(image.env.empty());  // an image's env is the image's, not the build's
    EXPECT_EQ(image.config["expose"], nlohmann::json({"8080", "9090/tcp"}));
    EXPECT_EQ(image.config["labels"]["org.opencontainers.image.source"], "repo");
    EXPECT_EQ(image.config["ignore"], nlohmann::json({".git"}));

    EXPECT_EQ(p.stages[2].config["credentials"]["username"], "bot");
    EXPECT_EQ(p.stages[3].config["target"], "kubernetes");
    EXPECT_EQ(p.stages[3].config["image"], "registry/churn@sha256:0123");
    EXPECT_EQ(p.stages[3].config["health_timeout"], "90s");
    EXPECT_EQ(p.stages[3].config["replicas"], "2");
    EXPECT_EQ(p.stages[3].config["namespace"], "ml");
    EXPECT_EQ(p.stages[3].environment, "staging");
}

TEST(Loader, ReadsFilesAndNamesThemInErrors) {
    testing::TempDir dir;
    auto ok = dir.write("sluice.yml", "name: p\nstages:\n  a: {run: x}\n");
    auto loaded = load_pipeline_file(ok);
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(loaded->file, ok.string());

    auto bad = dir.write("bad.yml", "name: p\nstages:\n  a: {rn: x}\n");
    auto failed = load_pipeline_file(bad);
    ASSERT_FALSE(failed.has_value());
    EXPECT_EQ(failed.error()[0].where.file, bad.string());
    EXPECT_EQ(failed.error()[0].to_string(),
              bad.string() + ":3:7: unknown key `rn` in stage `a`; did you mean `run`?");
}

TEST(Loader, MissingFileIsNotFound) {
    testing::TempDir dir;
    auto result = load_pipeline_file(dir / "nope.yml");
    ASSERT_FALSE(result.has_value());
    ASSERT_EQ(result.error().size(), 1u);
    EXPECT_EQ(result.error()[0].code, util::ErrorCode::not_found);
}

TEST(Loader, DirectoryIsAnIoError) {
    testing::TempDir dir;
    auto result = load_pipeline_file(dir.path());
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error()[0].code, util::ErrorCode::io);
}

TEST(Loader, Utf8ByteOrderMarkIsIgnored) {
    Pipeline p = load_ok("\xEF\xBB\xBFname: p\nstages:\n  a: {run: x}\n");
    EXPECT_EQ(p.name, "p");
}

}  // namespace
}  // namespace sluice::pipeline
