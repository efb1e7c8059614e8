// The loader never crashes or throws, whatever it is given: each input here must come
// back as errors (or, rarely, a pipeline), never as a crash, a hang or an exception.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "runner/pipeline/loader.hpp"
#include "runner/pipeline/loader_test_support.hpp"

namespace sluice::pipeline {
namespace {

using test::dump;
using test::errors_of;
using test::expect_one_error;

TEST(LoaderGarbage, EmptyFile) {
    expect_one_error("", 1, 1, "the file is empty; a pipeline needs at least `name` and `stages`");
}

TEST(LoaderGarbage, OnlyComments) {
    expect_one_error("# nothing here\n", 1, 1,
                     "the file is empty; a pipeline needs at least `name` and `stages`");
}

TEST(LoaderGarbage, ScalarDocument) {
    expect_one_error("hello\n", 1, 1,
                     "the top level must be a map (name, on, variables, defaults, stages), got "
                     "`hello`");
}

TEST(LoaderGarbage, TabIndentation) {
    auto errors = errors_of("name: p\nstages:\n\ta:\n\t\trun: x\n");
    ASSERT_EQ(errors.size(), 1u) << dump(errors);
    EXPECT_TRUE(errors[0].message.starts_with("YAML syntax error")) << errors[0].message;
    EXPECT_GE(errors[0].where.line, 3);
}

TEST(LoaderGarbage, InvalidUtf8PointsAtTheByte) {
    expect_one_error("name: p\nstages:\n  a: {run: \"x\xff\"}\n", 3, 14,
                     "the file is not valid UTF-8 (byte 0xFF)");
}

TEST(LoaderGarbage, Utf16IsNotUtf8) {
    auto errors = errors_of(std::string("\xff\xfen\0a\0", 6));
    ASSERT_EQ(errors.size(), 1u) << dump(errors);
    EXPECT_EQ(errors[0].where.line, 1);
}

TEST(LoaderGarbage, NulBytes) {
    auto errors = errors_of(std::string("name: p\0\nstages: {a: {run: x}}\n", 31));
    SUCCEED() << dump(errors);
}

TEST(LoaderGarbage, DeeplyNestedFlowSequence) {
    std::string deep = "name: p\nstages: " + std::string(100'000, '[') + std::string(100'000, ']');
    auto errors = errors_of(deep);
    EXPECT_FALSE(errors.empty());
}

TEST(LoaderGarbage, DeeplyNestedMaps) {
    std::string deep = "name: p\nstages:\n  a:\n    run: x\n    labels: ";
    for (int i = 0; i < 5000; ++i) deep += "{k: ";
    deep += "v" + std::string(5000, '}') + "\n";
    EXPECT_FALSE(errors_of(deep).empty());
}

TEST(LoaderGarbage, SelfReferentialAlias) {
    // yaml-cpp builds a node that contains itself; nothing may recurse into it blindly.
    auto errors = errors_of("name: p\nstages:\n  a:\n    run: x\n    needs: &n [a, *n]\n");
    EXPECT_FALSE(errors.empty());
    auto more = errors_of("name: p\nstages: &s\n  a:\n    run: x\n    env: *s\n");
    EXPECT_FALSE(more.empty());
    auto config = errors_of(
        "name: p\nstages:\n  i:\n    kind: image\n    context: .\n    labels: &l {a: *l}\n");
    EXPECT_FALSE(config.empty());
}

TEST(LoaderGarbage, StrayCommaDoesNotHang) {
    // yaml-cpp 0.7's LoadAll() loops forever on these (upstream issue #1040).
    expect_one_error(",", 1, 1, "YAML syntax error: unexpected `,`");
    expect_one_error(",}[*", 1, 1, "YAML syntax error: unexpected `,`");
    auto errors = errors_of("name: p\nstages: {a: {run: x}}\n---\n,\n");
    ASSERT_EQ(errors.size(), 1u) << dump(errors);
    EXPECT_TRUE(errors[0].message.starts_with("YAML syntax error")) << dump(errors);
}

TEST(LoaderGarbage, ManyDocuments) {
    auto errors = errors_of("name: p\nstages: {a: {run: x}}\n---\nname: q\n");
    ASSERT_EQ(errors.size(), 1u) << dump(errors);
    EXPECT_EQ(errors[0].message, "a pipeline file holds one YAML document; this is a second");
    EXPECT_EQ(errors[0].where.line, 4);
}

TEST(LoaderGarbage, NonStringKeys) {
    auto errors = errors_of("name: p\n? [a, b]\n: 1\nstages: {a: {run: x}}\n");
    ASSERT_EQ(errors.size(), 1u) << dump(errors);
    EXPECT_EQ(errors[0].message, "keys must be strings, got a list");
}

TEST(LoaderGarbage, WrongShapesEverywhere) {
    // Every key given a value of the wrong shape: lists where maps belong and back.
    auto errors = errors_of(R"(name: [p]
on: {push: [main], merge_request: x, manual: {}}
variables: [A]
defaults: [1]
stages:
  a: [run]
  b: x
  c:
  d:
    kind: [gate]
    run: {x: y}
    needs: [[a]]
    when: [x]
    env: [A]
    inherit_env: {}
    timeout: []
    retry: {max: x, wait: 1}
    allow_failure: []
    shell: {}
    inputs: {}
    outputs: [{}]
    metrics: []
    reports: []
    cache: 1
    environment: []
    approval: []
    promote: x
)");
    EXPECT_GE(errors.size(), 20u) << dump(errors);
    for (const auto& e : errors) {
        EXPECT_EQ(e.code, util::ErrorCode::bad_input);
        EXPECT_GT(e.where.line, 0) << e.message;
    }
}

TEST(LoaderGarbage, RandomBytesNeverCrash) {
    std::mt19937 rng(1234);
    const std::string alphabet = "ab:-[]{}\n \t\"'&*!|>#%@`,?$\\\x80\xc3\xa9";
    for (int round = 0; round < 2000; ++round) {
        std::string text;
        std::size_t length = rng() % 200;
        for (std::size_t i = 0; i < length; ++i) text += alphabet[rng() % alphabet.size()];
        auto result = load_pipeline_string(text, "fuzz.yml");
        if (!result) {
            for (const auto& e : result.error()) EXPECT_FALSE(e.message.empty());
        }
    }
}

TEST(LoaderGarbage, MutatedValidPipelinesNeverCrash) {
    const std::string base = R"(name: p
on: {push: {branches: [main]}}
variables: {A: x}
stages:
  a: {run: "echo ${{ vars.A }}", needs: [], retry: {max: 1, delay: 1s}}
  g: {kind: gate, needs: a, require: [f1 > 0], registry: {mlflow: {uri: u}}}
  d: {kind: deploy, needs: [g], environment: e, approval: {required: 1}}
)";
    std::mt19937 rng(99);
    const std::string inserts = "{}[]:,-\n \"'${}&*";
    for (int round = 0; round < 3000; ++round) {
        std::string text = base;
        for (int k = 0; k < 3; ++k) {
            std::size_t at = rng() % text.size();
            if (rng() % 2) {
                text.erase(at, 1 + rng() % 3);
            } else {
                text.insert(at, 1, inserts[rng() % inserts.size()]);
            }
            if (text.empty()) text = "x";
        }
        (void)load_pipeline_string(text, "fuzz.yml");
    }
    SUCCEED();
}

}  // namespace
}  // namespace sluice::pipeline
