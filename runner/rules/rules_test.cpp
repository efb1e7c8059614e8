// `on:` and `when:` decisions, read from real sluice.yml text so the tests follow the
// loader's meaning of every spelling, and the reasons users see.
#include "runner/rules/rules.hpp"

#include <gtest/gtest.h>

#include "runner/pipeline/loader.hpp"

namespace sluice::rules {
namespace {

pipeline::Pipeline load(const std::string& yaml) {
    auto p = pipeline::load_pipeline_string(yaml, "sluice.yml");
    EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().front().to_string());
    return p ? *p : pipeline::Pipeline{};
}

pipeline::Triggers on(const std::string& on_yaml) {
    return load("name: t\non: " + on_yaml + "\nstages:\n  a: {run: x}\n").on;
}

pipeline::When when(const std::string& when_yaml) {
    auto p = load("name: t\nstages:\n  a:\n    run: x\n    when: " + when_yaml + "\n");
    return p.stages.empty() || !p.stages[0].when ? pipeline::When{} : *p.stages[0].when;
}

Trigger make(std::string event, std::string branch, std::string target = {}, std::string tag = {}) {
    Trigger t;
    t.event = std::move(event);
    t.branch = std::move(branch);
    t.target_branch = std::move(target);
    t.tag = std::move(tag);
    return t;
}

Trigger push(std::string branch) { return make("push", std::move(branch)); }

Trigger tag_push(std::string tag) { return make("push", "", "", std::move(tag)); }

Trigger merge_request(std::string source, std::string target) {
    return make("merge_request", std::move(source), std::move(target));
}

Trigger manual(std::string branch = "main") { return make("manual", std::move(branch)); }

Trigger with_changes(Trigger t, std::vector<std::string> files) {
    t.changed_files = std::move(files);
    return t;
}

// ---- on: ----------------------------------------------------------------------

TEST(StartsPipeline, NoOnMeansEveryEvent) {
    auto p = load("name: t\nstages:\n  a: {run: x}\n");
    EXPECT_TRUE(starts_pipeline(p.on, push("anything")).yes);
    EXPECT_TRUE(starts_pipeline(p.on, merge_request("x", "y")).yes);
    EXPECT_TRUE(starts_pipeline(p.on, manual()).yes);
    EXPECT_TRUE(starts_pipeline(p.on, tag_push("v1")).yes);
    EXPECT_EQ(starts_pipeline(p.on, push("wip")).why,
              "push to wip: the pipeline has no `on:`, every event starts it");
}

TEST(StartsPipeline, PushBranchGlobs) {
    auto t = on("{push: {branches: [main, develop, \"feature/*\"]}}");
    auto d = starts_pipeline(t, push("feature/x"));
    EXPECT_TRUE(d.yes);
    EXPECT_EQ(d.why, "push to feature/x matches `feature/*`");
    EXPECT_TRUE(starts_pipeline(t, push("main")).yes);
    EXPECT_EQ(starts_pipeline(t, push("main")).why, "push to main matches `main`");
    d = starts_pipeline(t, push("wip"));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why, "push to wip is not in on.push.branches [main, develop, feature/*]");
    EXPECT_FALSE(starts_pipeline(t, push("feature/x/y")).yes);
}

TEST(StartsPipeline, PushExclusions) {
    auto t = on("{push: {branches: [\"releases/**\", \"!releases/**-alpha\"]}}");
    EXPECT_TRUE(starts_pipeline(t, push("releases/1.0")).yes);
    auto d = starts_pipeline(t, push("releases/1.0-alpha"));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why, "push to releases/1.0-alpha is excluded by `!releases/**-alpha`");
    auto all_but = on("{push: {branches: [\"!wip/**\"]}}");
    d = starts_pipeline(all_but, push("main"));
    EXPECT_TRUE(d.yes);
    EXPECT_EQ(d.why, "push to main is not excluded by on.push.branches [!wip/**]");
    EXPECT_FALSE(starts_pipeline(all_but, push("wip/x")).yes);
}

TEST(StartsPipeline, PushWithEmptyBranchListMeansEveryBranch) {
    for (const char* spelling : {"push", "[push, merge_request]", "{push: {}}", "{push: }"}) {
        auto d = starts_pipeline(on(spelling), push("anything/at/all"));
        EXPECT_TRUE(d.yes) << spelling;
        EXPECT_EQ(d.why, "push to anything/at/all: on.push covers every branch") << spelling;
    }
}

TEST(StartsPipeline, NoPushInOn) {
    auto d = starts_pipeline(on("{merge_request: {target_branches: [main]}}"), push("main"));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why, "push to main: push events do not start this pipeline (`on:` has no push)");
}

TEST(StartsPipeline, PushWithOnlyTagsIgnoresBranchPushes) {
    auto t = on("{push: {tags: [\"v*\"]}}");
    auto d = starts_pipeline(t, push("main"));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why,
              "push to main: on.push lists only tags [v*], so branch pushes do not start the "
              "pipeline");
    d = starts_pipeline(t, tag_push("v1.2"));
    EXPECT_TRUE(d.yes);
    EXPECT_EQ(d.why, "push of tag v1.2 matches `v*`");
    d = starts_pipeline(t, tag_push("nightly"));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why, "push of tag nightly is not in on.push.tags [v*]");
}

TEST(StartsPipeline, TagPushes) {
    EXPECT_TRUE(starts_pipeline(on("push"), tag_push("anything")).yes);
    EXPECT_EQ(starts_pipeline(on("push"), tag_push("x")).why,
              "push of tag x: on.push covers every tag");
    auto branches_only = on("{push: {branches: [main]}}");
    auto d = starts_pipeline(branches_only, tag_push("v1"));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why, "push of tag v1: tag pushes do not start this pipeline (no on.push.tags)");
}

TEST(StartsPipeline, DetachedPushCannotMatchBranchGlobs) {
    auto d = starts_pipeline(on("{push: {branches: [main]}}"), push(""));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why, "push to a detached HEAD (no branch) cannot match on.push.branches [main]");
    EXPECT_TRUE(starts_pipeline(on("push"), push("")).yes);
}

TEST(StartsPipeline, MergeRequestTargets) {
    auto t = on("{merge_request: {target_branches: [main, \"release/*\"]}}");
    auto d = starts_pipeline(t, merge_request("feature/x", "main"));
    EXPECT_TRUE(d.yes);
    EXPECT_EQ(d.why, "merge request into main matches `main`");
    EXPECT_TRUE(starts_pipeline(t, merge_request("f", "release/2")).yes);
    d = starts_pipeline(t, merge_request("f", "develop"));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why,
              "merge request into develop is not in on.merge_request.target_branches "
              "[main, release/*]");
    d = starts_pipeline(t, merge_request("f", ""));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why,
              "a merge request with no target branch cannot match "
              "on.merge_request.target_branches [main, release/*]");
    EXPECT_TRUE(starts_pipeline(on("merge_request"), merge_request("a", "b")).yes);
    EXPECT_EQ(starts_pipeline(on("merge_request"), merge_request("a", "b")).why,
              "merge request into b: on.merge_request covers every target branch");
    d = starts_pipeline(on("push"), merge_request("a", "main"));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why, "merge requests do not start this pipeline (`on:` has no merge_request)");
}

TEST(StartsPipeline, ManualIsAllowedUnlessTurnedOff) {
    auto d = starts_pipeline(on("{push: {branches: [main]}}"), manual("wip"));
    EXPECT_TRUE(d.yes);
    EXPECT_EQ(d.why, "manual runs are always allowed");
    EXPECT_TRUE(starts_pipeline(on("[push]"), manual()).yes);
    d = starts_pipeline(on("{push: {branches: [main]}, manual: false}"), manual());
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why, "manual runs are turned off (`on.manual: false`)");
}

TEST(StartsPipeline, UnknownEvent) {
    auto d = starts_pipeline(on("push"), make("schedule", ""));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why, "unknown event `schedule` (events: push, merge_request, manual)");
}

// ---- when: --------------------------------------------------------------------

TEST(StageRuns, EmptyWhenRuns) {
    auto d = stage_runs(pipeline::When{}, push("x"));
    EXPECT_TRUE(d.yes);
    EXPECT_EQ(d.why, "`when:` lists no conditions");
}

TEST(StageRuns, Event) {
    auto w = when("{event: [push, merge_request]}");
    EXPECT_TRUE(stage_runs(w, push("x")).yes);
    EXPECT_EQ(stage_runs(w, push("x")).why, "event push is in when.event [push, merge_request]");
    EXPECT_TRUE(stage_runs(w, merge_request("x", "main")).yes);
    auto d = stage_runs(w, manual());
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why, "event manual is not in when.event [push, merge_request]");
    EXPECT_TRUE(stage_runs(when("{event: push}"), push("x")).yes);
}

TEST(StageRuns, Branch) {
    auto w = when("{branch: [main, \"release/*\"]}");
    EXPECT_TRUE(stage_runs(w, push("main")).yes);
    EXPECT_EQ(stage_runs(w, push("release/1")).why, "branch release/1 matches `release/*`");
    auto d = stage_runs(w, push("feature/x"));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why, "when.branch [main, release/*] does not match feature/x");
    // A manual run on main counts too: when.branch is about the commit's branch.
    EXPECT_TRUE(stage_runs(w, manual("main")).yes);
    // A merge request's branch is its source branch.
    EXPECT_FALSE(stage_runs(w, merge_request("feature/x", "main")).yes);
}

TEST(StageRuns, BranchWithoutOne) {
    auto w = when("{branch: [main]}");
    auto d = stage_runs(w, push(""));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why, "when.branch [main] does not match a detached HEAD (no branch)");
    d = stage_runs(w, tag_push("v1"));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why, "when.branch [main] does not match tag v1");
}

TEST(StageRuns, BranchExclusion) {
    auto w = when("{branch: [\"**\", \"!wip/**\"]}");
    EXPECT_TRUE(stage_runs(w, push("main")).yes);
    auto d = stage_runs(w, push("wip/a"));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why, "when.branch excludes wip/a (`!wip/**`)");
    auto only_excl = when("{branch: [\"!main\"]}");
    EXPECT_EQ(stage_runs(only_excl, push("dev")).why, "branch dev is not excluded by when.branch");
}

TEST(StageRuns, TargetBranch) {
    auto w = when("{target_branch: [main]}");
    auto d = stage_runs(w, merge_request("feature/x", "main"));
    EXPECT_TRUE(d.yes);
    EXPECT_EQ(d.why, "target branch main matches `main`");
    d = stage_runs(w, merge_request("feature/x", "develop"));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why, "when.target_branch [main] does not match develop");
    d = stage_runs(w, push("main"));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why, "when.target_branch [main] needs a merge request; this is a push");
    d = stage_runs(w, merge_request("x", ""));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why,
              "when.target_branch [main] does not match: the merge request has no target branch");
}

TEST(StageRuns, ChangesOnAPushDiff) {
    auto w = when("{changes: [\"service/**\", \"Dockerfile\"]}");
    auto d = stage_runs(w, with_changes(push("main"), {"README.md", "service/app/main.py"}));
    EXPECT_TRUE(d.yes);
    EXPECT_EQ(d.why, "changed file service/app/main.py matches `service/**` (when.changes)");
    EXPECT_TRUE(stage_runs(w, with_changes(push("main"), {"Dockerfile"})).yes);
    d = stage_runs(w, with_changes(push("main"), {"README.md", "train.py"}));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why,
              "no changed file matches when.changes [service/**, Dockerfile] (2 files changed)");
    d = stage_runs(w, with_changes(push("main"), {"docs/service/x.md"}));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why,
              "no changed file matches when.changes [service/**, Dockerfile] (1 file changed)");
    d = stage_runs(w, with_changes(push("main"), {}));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why,
              "no changed file matches when.changes [service/**, Dockerfile] (nothing changed)");
}

TEST(StageRuns, ChangesOnAMergeRequestDiff) {
    auto w = when(
        "{event: merge_request, target_branch: [main], changes: [\"**/*.py\", \"!tests/**\"]}");
    auto mr = merge_request("feature/x", "main");
    EXPECT_TRUE(stage_runs(w, with_changes(mr, {"src/model/train.py"})).yes);
    EXPECT_TRUE(stage_runs(w, with_changes(mr, {"train.py"})).yes);
    auto d = stage_runs(w, with_changes(mr, {"tests/test_x.py", "README.md"}));
    EXPECT_FALSE(d.yes);
    EXPECT_EQ(d.why, "no changed file matches when.changes [**/*.py, !tests/**] (2 files changed)");
    d = stage_runs(w, with_changes(mr, {"a.py"}));
    EXPECT_EQ(d.why,
              "event merge_request is in when.event [merge_request]; target branch main matches "
              "`main`; changed file a.py matches `**/*.py` (when.changes)");
}

TEST(StageRuns, UnknownChangesRunTheStage) {
    auto w = when("{changes: [\"service/**\"]}");
    auto d = stage_runs(w, manual());
    EXPECT_TRUE(d.yes);
    EXPECT_EQ(d.why,
              "the changed files are unknown (no base commit to compare with), so "
              "when.changes [service/**] counts as met");
}

TEST(StageRuns, AllConditionsMustHold) {
    auto w = when("{event: push, branch: [main], changes: [\"data/**\"]}");
    EXPECT_TRUE(stage_runs(w, with_changes(push("main"), {"data/x.csv"})).yes);
    // The first condition that fails is the reason.
    EXPECT_EQ(stage_runs(w, with_changes(manual("main"), {"data/x.csv"})).why,
              "event manual is not in when.event [push]");
    EXPECT_EQ(stage_runs(w, with_changes(push("dev"), {"data/x.csv"})).why,
              "when.branch [main] does not match dev");
    EXPECT_EQ(stage_runs(w, with_changes(push("main"), {"x.py"})).why,
              "no changed file matches when.changes [data/**] (1 file changed)");
}

TEST(StageDecisions, EveryStageInFileOrder) {
    auto p = load(R"(name: t
on: {push: {branches: [main, "feature/*"]}}
stages:
  test: {run: x}
  push:
    run: x
    needs: [test]
    when: {event: push, branch: [main, develop]}
  docs:
    run: x
    when: {changes: ["docs/**"]}
)");
    auto decisions = stage_decisions(p, with_changes(push("feature/x"), {"src/a.py"}));
    ASSERT_EQ(decisions.size(), 3u);
    EXPECT_EQ(decisions[0].stage, "test");
    EXPECT_TRUE(decisions[0].decision.yes);
    EXPECT_EQ(decisions[0].decision.why, "no `when:`, runs for every event");
    EXPECT_EQ(decisions[1].stage, "push");
    EXPECT_FALSE(decisions[1].decision.yes);
    EXPECT_EQ(decisions[1].decision.why, "when.branch [main, develop] does not match feature/x");
    EXPECT_FALSE(decisions[2].decision.yes);
}

TEST(Describe, Triggers) {
    EXPECT_EQ(describe(push("main")), "push to main");
    EXPECT_EQ(describe(push("")), "push to a detached HEAD");
    EXPECT_EQ(describe(tag_push("v1.2")), "push of tag v1.2");
    EXPECT_EQ(describe(merge_request("feature/x", "main")),
              "merge request from feature/x into main");
    EXPECT_EQ(describe(merge_request("", "main")), "merge request into main");
    EXPECT_EQ(describe(manual("main")), "manual run on main");
    EXPECT_EQ(describe(manual("")), "manual run");
}

}  // namespace
}  // namespace sluice::rules
