// The loader's error reports: one test per kind of mistake, each checking the message
// and the line and column it points at.
#include <gtest/gtest.h>

#include "runner/pipeline/loader.hpp"
#include "runner/pipeline/loader_test_support.hpp"

namespace sluice::pipeline {
namespace {

using test::dump;
using test::errors_of;
using test::expect_one_error;

TEST(LoaderErrors, UnknownStageKeySuggestsTheClosest) {
    expect_one_error("name: p\nstages:\n  a:\n    run: x\n    timout: 5m\n", 5, 5,
                     "unknown key `timout` in stage `a`; did you mean `timeout`?");
}

TEST(LoaderErrors, UnknownKeyWithNothingCloseHasNoSuggestion) {
    expect_one_error("name: p\nstages:\n  a:\n    run: x\n    frobnicate: 1\n", 5, 5,
                     "unknown key `frobnicate` in stage `a`");
}

TEST(LoaderErrors, UnknownTopLevelKey) {
    expect_one_error("name: p\nstages:\n  a: {run: x}\nvaraibles: {}\n", 4, 1,
                     "unknown key `varaibles`; did you mean `variables`?");
}

TEST(LoaderErrors, UnknownKeyInsideNestedMap) {
    expect_one_error("name: p\nstages:\n  a:\n    run: x\n    approval: {requird: 2}\n", 5, 16,
                     "unknown key `requird` in `approval`; did you mean `required`?");
}

TEST(LoaderErrors, NeedsOfTheWrongType) {
    expect_one_error("name: p\nstages:\n  a:\n    run: x\n    needs: {b: 1}\n", 5, 12,
                     "`needs` must be a list of stage names, got a map");
}

TEST(LoaderErrors, DeployTargetsNeedWhatTheyDeploy) {
    expect_one_error("name: p\nstages:\n  d:\n    kind: deploy\n    environment: s\n"
                     "    target: kubernetes\n",
                     3, 3,
                     "stage `d` needs `image`: target kubernetes deploys an image pinned by digest "
                     "(e.g. ${{ stages.push.outputs.image }})");
    expect_one_error("name: p\nstages:\n  d:\n    kind: deploy\n    environment: s\n"
                     "    target: local\n",
                     3, 3,
                     "stage `d` needs `image` (an OCI image layout) or `run` (the service's "
                     "command): target local runs one of them");
}

TEST(LoaderErrors, DeployDurationsAndCounts) {
    expect_one_error("name: p\nstages:\n  d:\n    kind: deploy\n    environment: s\n"
                     "    run: x\n    health_timeout: soon\n",
                     7, 21, "`health_timeout` must be a duration like 30s, 2m or 1h30m, got `soon`");
    expect_one_error("name: p\nstages:\n  d:\n    kind: deploy\n    environment: s\n"
                     "    run: x\n    replicas: -1\n",
                     7, 15, "`replicas` must be a whole number, got `-1`");
}

TEST(LoaderErrors, BooleanOfTheWrongType) {
    expect_one_error("name: p\nstages:\n  a:\n    run: x\n    allow_failure: maybe\n", 5, 20,
                     "`allow_failure` must be true or false, got `maybe`");
}

TEST(LoaderErrors, RetryBelowZero) {
    expect_one_error("name: p\nstages:\n  a:\n    run: x\n    retry: -1\n", 5, 12,
                     "`retry` must be a whole number from 0 to 100, got `-1`");
}

TEST(LoaderErrors, ApprovalRequiredBelowOne) {
    expect_one_error("name: p\nstages:\n  a:\n    run: x\n    approval: {required: 0}\n", 5, 26,
                     "`approval.required` must be a whole number >= 1, got `0`");
}

TEST(LoaderErrors, EmptyRunString) {
    expect_one_error("name: p\nstages:\n  a:\n    run: \"\"\n", 4, 10, "`run` is empty");
}

TEST(LoaderErrors, RunWithNoValuePointsAtTheKey) {
    expect_one_error("name: p\nstages:\n  a:\n    run:\n", 4, 5, "`run` is empty");
}

TEST(LoaderErrors, EmptyRunList) {
    expect_one_error("name: p\nstages:\n  a:\n    run: []\n", 4, 10, "`run` is an empty list");
}

TEST(LoaderErrors, BlankLineInRunList) {
    expect_one_error("name: p\nstages:\n  a:\n    run:\n      - make\n      - \"  \"\n", 6, 9,
                     "`run` has an empty line");
}

TEST(LoaderErrors, ScriptStageWithoutRun) {
    expect_one_error("name: p\nstages:\n  a:\n    timeout: 5m\n", 3, 3,
                     "stage `a` has no `run`: a script stage needs the commands to run");
}

TEST(LoaderErrors, RunOnAGate) {
    expect_one_error("name: p\nstages:\n  g:\n    kind: gate\n    require: [f1 > 0]\n    run: x\n",
                     6, 5, "`run` is only valid for kinds script, deploy and image");
}

TEST(LoaderErrors, InputsOnADeploy) {
    expect_one_error("name: p\nstages:\n  d:\n    kind: deploy\n    environment: staging\n"
                     "    run: ./deploy.sh\n    inputs: [app.py]\n",
                     7, 5, "`inputs` is only valid for script stages: a deploy stage always runs");
}

TEST(LoaderErrors, NeedsUnknownStageSuggestsTheClosest) {
    expect_one_error(
        "name: p\nstages:\n  train: {run: x}\n  test:\n    run: x\n    needs: [trian]\n", 6, 13,
        "unknown stage `trian` in `needs`; did you mean `train`?");
}

TEST(LoaderErrors, NeedsUnknownStageNeverSuggestsItself) {
    expect_one_error("name: p\nstages:\n  deploy:\n    run: x\n    needs: deploy-x\n", 5, 12,
                     "unknown stage `deploy-x` in `needs`");
}

TEST(LoaderErrors, NeedsUnknownStageWithNothingClose) {
    expect_one_error("name: p\nstages:\n  a:\n    run: x\n    needs: zebra\n", 5, 12,
                     "unknown stage `zebra` in `needs`");
}

TEST(LoaderErrors, DependencyCyclePrintsTheCycle) {
    expect_one_error(R"(name: p
stages:
  a:
    run: x
    needs: [c]
  b:
    run: x
    needs: [a]
  c:
    run: x
    needs: [b]
)",
                     5, 13, "dependency cycle: a -> c -> b -> a");
}

TEST(LoaderErrors, TwoSeparateCyclesAreTwoErrors) {
    auto errors = errors_of(R"(name: p
stages:
  a: {run: x, needs: b}
  b: {run: x, needs: a}
  c: {run: x, needs: d}
  d: {run: x, needs: c}
)");
    ASSERT_EQ(errors.size(), 2u) << dump(errors);
    EXPECT_EQ(errors[0].message, "dependency cycle: a -> b -> a");
    EXPECT_EQ(errors[0].where.line, 3);
    EXPECT_EQ(errors[1].message, "dependency cycle: c -> d -> c");
    EXPECT_EQ(errors[1].where.line, 5);
}

TEST(LoaderErrors, StageNeedingItself) {
    expect_one_error("name: p\nstages:\n  a:\n    run: x\n    needs: [a]\n", 5, 13,
                     "stage `a` needs itself");
}

TEST(LoaderErrors, NeedListedTwice) {
    expect_one_error("name: p\nstages:\n  a: {run: x}\n  b: {run: x, needs: [a, a]}\n", 4, 26,
                     "`a` is listed twice in `needs`");
}

TEST(LoaderErrors, DuplicateStageName) {
    // yaml-cpp keeps both keys of a map; the loader reports the second.
    expect_one_error("name: p\nstages:\n  a: {run: x}\n  a: {run: y}\n", 4, 3,
                     "duplicate stage `a` (first at line 3)");
}

TEST(LoaderErrors, DuplicateKey) {
    expect_one_error("name: p\nstages:\n  a:\n    run: x\n    run: y\n", 5, 5,
                     "duplicate key `run` (first at line 4)");
}

TEST(LoaderErrors, DuplicateTopLevelKey) {
    expect_one_error("name: p\nstages:\n  a: {run: x}\nname: q\n", 4, 1,
                     "duplicate key `name` (first at line 1)");
}

TEST(LoaderErrors, BadDuration) {
    expect_one_error("name: p\nstages:\n  a:\n    run: x\n    timeout: 10 minutes\n", 5, 14,
                     "`timeout` must be a duration such as 45s, 10m, 1h30m or 2d, got "
                     "`10 minutes`");
}

TEST(LoaderErrors, BadDurationInDefaults) {
    expect_one_error("name: p\ndefaults: {timeout: 1.5h}\nstages:\n  a: {run: x}\n", 2, 21,
                     "`defaults.timeout` must be a duration such as 45s, 10m, 1h30m or 2d, got "
                     "`1.5h`");
}

TEST(LoaderErrors, ZeroTimeout) {
    expect_one_error("name: p\nstages:\n  a:\n    run: x\n    timeout: 0s\n", 5, 14,
                     "`timeout` must be longer than zero");
}

TEST(LoaderErrors, UnknownKindSuggestsTheClosest) {
    expect_one_error("name: p\nstages:\n  a:\n    kind: gatte\n    run: x\n", 4, 11,
                     "unknown kind `gatte`; did you mean `gate`?");
}

TEST(LoaderErrors, UnknownKindListsTheKinds) {
    expect_one_error("name: p\nstages:\n  a:\n    kind: banana\n", 4, 11,
                     "unknown kind `banana` (kinds: script, gate, image, push, deploy)");
}

TEST(LoaderErrors, KindSpecificKeyOnTheWrongKind) {
    expect_one_error("name: p\nstages:\n  a:\n    run: x\n    require: [f1 > 0.8]\n", 5, 5,
                     "`require` is only valid for kind gate");
}

TEST(LoaderErrors, KeyOfSeveralKindsOnAnother) {
    expect_one_error("name: p\nstages:\n  a:\n    run: x\n    tag: v1\n", 5, 5,
                     "`tag` is only valid for kinds image and push");
}

TEST(LoaderErrors, GateWithoutRequire) {
    expect_one_error("name: p\nstages:\n  g:\n    kind: gate\n    model: churn\n", 3, 3,
                     "stage `g` needs `require`: a gate stage cannot do without it");
}

TEST(LoaderErrors, DeployWithoutEnvironment) {
    expect_one_error("name: p\nstages:\n  d:\n    kind: deploy\n    run: ./deploy.sh\n", 3, 3,
                     "stage `d` needs `environment`: a deploy stage deploys to one");
}

TEST(LoaderErrors, BadChoiceSuggestsTheClosest) {
    expect_one_error(
        "name: p\nstages:\n  g:\n    kind: gate\n    require: [x > 0]\n    if_no_champion: pas\n", 6,
        21, "`if_no_champion` must be pass or fail, got `pas`; did you mean `pass`?");
}

TEST(LoaderErrors, UnknownRegistry) {
    expect_one_error(
        "name: p\nstages:\n  g:\n    kind: gate\n    require: [x > 0]\n    registry: {mlfow: {}}\n", 6,
        16, "unknown registry `mlfow`; did you mean `mlflow`? (registries: builtin, file, mlflow)");
}

TEST(LoaderErrors, PromoteNeedsModelAndAlias) {
    expect_one_error("name: p\nstages:\n  a:\n    run: x\n    promote: {model: churn}\n", 5, 14,
                     "`promote` needs `alias`");
}

TEST(LoaderErrors, UnknownNameInPlainScalar) {
    expect_one_error("name: p\nstages:\n  a:\n    run: echo ${{ commit.shaa }}\n", 4, 15,
                     "unknown name `commit.shaa` in `${{ }}`; did you mean `commit.sha`?");
}

TEST(LoaderErrors, UnknownNameInQuotedScalar) {
    expect_one_error("name: p\nstages:\n  a:\n    run: \"echo ${{ nope }}\"\n", 4, 16,
                     "unknown name `nope` in `${{ }}`");
}

TEST(LoaderErrors, UnknownNameInBlockScalar) {
    expect_one_error(
        "name: p\nstages:\n  a:\n    run: |\n      echo hi\n      echo ${{ vars.NOPE }}\n", 6, 12,
        "unknown variable `vars.NOPE` (not declared in `variables`)");
}

TEST(LoaderErrors, SecondExpressionOnALineGetsItsOwnColumn) {
    expect_one_error("name: p\nstages:\n  a:\n    run: echo ${{ commit.sha }} ${{ bad }}\n", 4, 33,
                     "unknown name `bad` in `${{ }}`");
}

TEST(LoaderErrors, UnknownVariableSuggestsTheClosest) {
    expect_one_error(
        "name: p\nvariables: {MODEL_NAME: churn}\nstages:\n  a:\n    run: echo ${{ vars.MODEL_NAM "
        "}}\n",
        5, 15,
        "unknown variable `vars.MODEL_NAM` (not declared in `variables`); did you mean "
        "`vars.MODEL_NAME`?");
}

TEST(LoaderErrors, UnterminatedExpression) {
    expect_one_error("name: p\nstages:\n  a:\n    run: echo ${{ commit.sha\n", 4, 15,
                     "unterminated `${{`: expected `}}`");
}

TEST(LoaderErrors, EmptyExpression) {
    expect_one_error("name: p\nstages:\n  a:\n    run: echo ${{ }}\n", 4, 15,
                     "empty `${{ }}`: expected a name such as `vars.NAME` or `commit.sha`");
}

TEST(LoaderErrors, ExpressionThatIsNotAName) {
    expect_one_error("name: p\nstages:\n  a:\n    run: echo ${{ a + b }}\n", 4, 15,
                     "invalid expression `${{ a + b }}`: expected a dotted name such as "
                     "`vars.NAME` or `commit.sha`");
}

TEST(LoaderErrors, OutputsOfAStageNotNeeded) {
    expect_one_error(R"(name: p
stages:
  a: {run: x}
  b: {run: x}
  c:
    needs: [b]
    run: echo ${{ stages.a.outputs.id }}
)",
                     7, 15,
                     "`stages.a.outputs.id` uses stage `a`, which this stage does not need; add "
                     "it to `needs`");
}

TEST(LoaderErrors, OutputsOfAStageNeededTransitivelyAreFine) {
    EXPECT_TRUE(errors_of(R"(name: p
stages:
  a: {run: x}
  b: {run: x, needs: a}
  c:
    needs: [b]
    run: echo ${{ stages.a.outputs.id }} ${{ stages.b.outputs.other-key }}
)")
                    .empty());
}

TEST(LoaderErrors, OutputsOfAnUnknownStage) {
    expect_one_error(
        "name: p\nstages:\n  train: {run: x}\n  b:\n    needs: [train]\n"
        "    run: echo ${{ stages.trian.outputs.id }}\n",
        6, 15,
        "unknown stage `trian` in `stages.trian.outputs.id`; did you mean "
        "`train`?");
}

TEST(LoaderErrors, ExpressionInEnvAndConfigValues) {
    auto errors = errors_of(R"(name: p
stages:
  a:
    run: x
    env: {A: "${{ nope }}"}
  i:
    kind: image
    context: .
    tag: repo:${{ commit.shot }}
)");
    ASSERT_EQ(errors.size(), 2u) << dump(errors);
    EXPECT_EQ(errors[0].where.line, 5);
    EXPECT_EQ(errors[0].where.column, 15);
    EXPECT_EQ(errors[1].where.line, 9);
    EXPECT_EQ(errors[1].where.column, 15);
    EXPECT_EQ(errors[1].message,
              "unknown name `commit.shot` in `${{ }}`; did you mean `commit.short`?");
}

TEST(LoaderErrors, VariableMayOnlyUseEarlierVariables) {
    expect_one_error("name: p\nvariables:\n  A: ${{ vars.B }}\n  B: b\nstages:\n  a: {run: x}\n", 3,
                     6, "unknown variable `vars.B` (not declared in `variables` before it)");
}

TEST(LoaderErrors, StageOutputsInVariables) {
    expect_one_error(
        "name: p\nvariables:\n  A: ${{ stages.a.outputs.x }}\nstages:\n  a: {run: x}\n", 3, 6,
        "`stages.` names can only be used inside a stage, in `stages.a.outputs.x`");
}

TEST(LoaderErrors, BadVariableName) {
    expect_one_error("name: p\nvariables:\n  MODEL-NAME: x\nstages:\n  a: {run: x}\n", 3, 3,
                     "`MODEL-NAME` is not a valid environment variable name (letters, digits and "
                     "`_`, not starting with a digit)");
}

TEST(LoaderErrors, BadStageName) {
    expect_one_error("name: p\nstages:\n  a.b: {run: x}\n", 3, 3,
                     "stage name `a.b` may only contain letters, digits, `-` and `_`");
}

TEST(LoaderErrors, UnknownEventSuggestsTheClosest) {
    expect_one_error("name: p\non: [push, merge-request]\nstages:\n  a: {run: x}\n", 2, 12,
                     "unknown event `merge-request`; did you mean `merge_request`? (events: push, "
                     "merge_request, manual)");
}

TEST(LoaderErrors, UnknownReportKind) {
    expect_one_error("name: p\nstages:\n  a:\n    run: x\n    reports: {junt: r.xml}\n", 5, 15,
                     "unknown report kind `junt`; did you mean `junit`? (report kinds: junit)");
}

TEST(LoaderErrors, MissingNameAndStages) {
    auto errors = errors_of("on: push\n");
    ASSERT_EQ(errors.size(), 2u) << dump(errors);
    EXPECT_EQ(errors[0].message, "the pipeline has no `name`");
    EXPECT_EQ(errors[1].message, "the pipeline has no `stages`");
    EXPECT_EQ(errors[0].where.line, 1);
}

TEST(LoaderErrors, EmptyStages) {
    expect_one_error("name: p\nstages: {}\n", 2, 9, "`stages` is empty");
}

TEST(LoaderErrors, MergeKeysAreExplained) {
    expect_one_error("name: p\nstages:\n  a:\n    <<: {run: x}\n    run: y\n", 4, 5,
                     "YAML merge keys (`<<`) are not supported; repeat the keys or use `defaults`");
}

TEST(LoaderErrors, YamlSyntaxErrorIsOneErrorAtItsMark) {
    expect_one_error("name: p\nstages:\n  a: {run: [x}\n", 3, 14,
                     "YAML syntax error: illegal flow end");
}

TEST(LoaderErrors, TopLevelThatIsNotAMap) {
    expect_one_error("- a\n- b\n", 1, 1,
                     "the top level must be a map (name, on, variables, defaults, stages), got a "
                     "list");
}

TEST(LoaderErrors, ColumnsCountCharactersNotBytes) {
    expect_one_error("name: p\nstages:\n  a:\n    run: \"é ${{ x }}\"\n", 4, 13,
                     "unknown name `x` in `${{ }}`");
}

TEST(LoaderErrors, AllMistakesAreReportedAtOnceInFileOrder) {
    auto errors = errors_of(R"(name: p
stages:
  a:
    run: echo ${{ comit.sha }}
    timout: 5m
  b:
    kind: gatte
  c:
    needs: [a, zzz]
    run: ""
    retry: many
)");
    ASSERT_EQ(errors.size(), 6u) << dump(errors);
    std::vector<std::pair<int, int>> where;
    for (const auto& e : errors) where.emplace_back(e.where.line, e.where.column);
    EXPECT_EQ(where, (std::vector<std::pair<int, int>>{
                         {4, 15}, {5, 5}, {7, 11}, {9, 16}, {10, 10}, {11, 12}}));
    EXPECT_EQ(errors[0].message,
              "unknown name `comit.sha` in `${{ }}`; did you mean `commit.sha`?");
    EXPECT_EQ(errors[3].message, "unknown stage `zzz` in `needs`");
}

}  // namespace
}  // namespace sluice::pipeline

namespace sluice::pipeline {
namespace {

TEST(LoaderErrors, AGateRuleWithASyntaxErrorIsReportedAtItsColumn) {
    // The rule's text starts at column 10 (after the quote); it ends, at its 7th
    // character, where a number, a name or `(` was expected.
    test::expect_one_error(
        "name: p\nstages:\n  g:\n    kind: gate\n    require:\n      - \"f1 >= \"\n", 6, 16,
        "in rule `f1 >= `: expected a number, a name or `(`, found the end of the rule");
}

TEST(LoaderErrors, AGateRuleThatIsNotAConditionIsAnError) {
    test::expect_one_error("name: p\nstages:\n  g:\n    kind: gate\n    require: [f1 + 1]\n", 5,
                           15, "in rule `f1 + 1`: a rule must be a comparison such as `f1 >= 0.8`, "
                           "found the number `f1 + 1`");
}

TEST(LoaderErrors, AGateModelMustBeALiteralName) {
    test::expect_one_error(
        "name: p\nvariables: {M: churn}\nstages:\n  g:\n    kind: gate\n    model: ${{ vars.M }}\n"
        "    require: [f1 > 0]\n",
        6, 12,
        "`model` must be a model name (letters, digits, `.`, `_`, `-`; no `${{ }}`), got "
        "`${{ vars.M }}`");
}

}  // namespace
}  // namespace sluice::pipeline

namespace sluice::pipeline {
namespace {

TEST(LoaderErrors, ADeployToAnUndeclaredEnvironmentIsAnError) {
    test::expect_one_error(
        "name: p\nstages:\n  d:\n    kind: deploy\n    environment: prodution\n    run: x\n"
        "environments:\n  production: {branches: [main]}\n",
        3, 3,
        "stage `d` deploys to environment `prodution`, which `environments` does not declare; "
        "did you mean `production`?");
}

TEST(LoaderErrors, UnknownEnvironmentKey) {
    test::expect_one_error("name: p\nstages:\n  a: {run: x}\nenvironments:\n  prod: {branchs: [main]}\n",
                           5, 10,
                           "unknown key `branchs` in an environment; did you mean `branches`?");
}


TEST(LoaderErrors, YamlTagsAreRefused) {
    // A tag asks a YAML library to build an object of that type; sluice.yml takes none.
    expect_one_error("name: !!python/object:os.system x\nstages:\n  a: {run: x}\n", 1, 7,
                     "YAML tag `!!python/object:os.system` is not allowed: sluice.yml takes "
                     "plain values (quote a value that starts with `!`)");
    expect_one_error("name: p\nstages:\n  a: !custom\n    run: x\n", 3, 6,
                     "YAML tag `!custom` is not allowed: sluice.yml takes plain values (quote a "
                     "value that starts with `!`)");
    // Standard tags too: the loader reads values by what the key expects, never by tag.
    expect_one_error("name: p\nstages:\n  a:\n    run: x\n    timeout: !!int 5\n", 5, 14,
                     "YAML tag `!!int` is not allowed: sluice.yml takes plain values (quote a "
                     "value that starts with `!`)");
    auto errors = errors_of("name: !!str p\nstages: !!map\n  a: {run: !!str x}\n");
    EXPECT_EQ(errors.size(), 3u) << dump(errors);
    // Quoted text with a `!`, and the non-specific tag `!` (a plain string), are fine.
    auto ok = test::load_ok("name: ! p\nvariables: {X: \"!!python/object:x\"}\nstages:\n"
                            "  a:\n    run: ! echo hi\n");
    EXPECT_EQ(ok.name, "p");
    ASSERT_EQ(ok.variables.size(), 1u);
    EXPECT_EQ(ok.variables[0].second, "!!python/object:x");
}
}  // namespace
}  // namespace sluice::pipeline

namespace sluice::pipeline {
namespace {

// Paths in `inputs`, `outputs`, `metrics` and an image's `context`/`base` are relative to
// the workspace root: `..` and absolute paths are errors where they are written.
TEST(LoaderErrors, AnOutputThatLeavesTheWorkspaceIsAnErrorAtTheItem) {
    test::expect_one_error("name: p\nstages:\n  a:\n    run: x\n    outputs: [ok.txt, ../x]\n", 5,
                           23,
                           "`outputs` path `../x` leaves the workspace (`..`): paths are relative "
                           "to the workspace root");
    test::expect_one_error("name: p\nstages:\n  a:\n    run: x\n    outputs: build/../../x\n", 5,
                           14,
                           "`outputs` path `build/../../x` leaves the workspace (`..`): paths are "
                           "relative to the workspace root");
}

TEST(LoaderErrors, AnAbsoluteInputGlobIsAnError) {
    test::expect_one_error("name: p\nstages:\n  a:\n    run: x\n    inputs: [\"/data/**\"]\n", 5, 14,
                           "`inputs` path `/data/**` is absolute: paths are relative to the "
                           "workspace root");
    test::expect_one_error("name: p\nstages:\n  a:\n    run: x\n    inputs: [src, \"!../x/**\"]\n",
                           5, 19,
                           "`inputs` path `!../x/**` leaves the workspace (`..`): paths are "
                           "relative to the workspace root");
}

TEST(LoaderErrors, AMetricsFileOutsideTheWorkspaceIsAnError) {
    test::expect_one_error("name: p\nstages:\n  a:\n    run: x\n    metrics: /tmp/m.json\n", 5, 14,
                           "`metrics` path `/tmp/m.json` is absolute: paths are relative to the "
                           "workspace root");
}

TEST(LoaderErrors, AnImageContextOrBaseOutsideTheWorkspaceIsAnError) {
    test::expect_one_error("name: p\nstages:\n  i:\n    kind: image\n    context: ../service\n", 5,
                           14,
                           "`context` path `../service` leaves the workspace (`..`): paths are "
                           "relative to the workspace root");
    test::expect_one_error(
        "name: p\nstages:\n  i:\n    kind: image\n    context: .\n    base: oci:/srv/layout\n", 6,
        11, "`base` path `oci:/srv/layout` is absolute: paths are relative to the workspace root");
    test::expect_one_error(
        "name: p\nstages:\n  i:\n    kind: image\n    context: .\n    base: ../layout\n", 6, 11,
        "`base` path `../layout` leaves the workspace (`..`): paths are relative to the "
        "workspace root");
}

TEST(LoaderErrors, PathsInsideTheWorkspaceAndImageReferencesLoad) {
    test::load_ok(
        "name: p\nstages:\n  a:\n    run: x\n    inputs: [\"data/**\", \"!data/tmp/**\", ./src]\n"
        "    outputs: [build/, out/f.txt]\n    metrics: reports/m.json\n"
        "  i:\n    kind: image\n    context: .\n    base: 127.0.0.1:5000/base:1\n"
        "  j:\n    kind: image\n    needs: [i]\n    context: service/\n"
        "    base: ${{ stages.i.outputs.image }}\n");
}

}  // namespace
}  // namespace sluice::pipeline
