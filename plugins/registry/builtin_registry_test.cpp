// Tests of the builtin registry on a real SQLite file: versions numbered per model,
// aliases and their history, errors for what does not exist, concurrent writers.
#include "plugins/registry/builtin_registry.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "runner/testing/fake_clock.hpp"
#include "runner/store/sqlite.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice::registry {
namespace {

class BuiltinRegistryTest : public ::testing::Test {
protected:
    std::unique_ptr<BuiltinRegistry> open() {
        auto r = BuiltinRegistry::open(dir_ / "registry.db", &clock_);
        EXPECT_TRUE(r) << r.error().message;
        return std::move(*r);
    }
    ModelVersion add(BuiltinRegistry& r, const std::string& model, double f1,
                     const std::string& run = "1") {
        auto v = r.create_version({model, run, "abc123", "", {{"f1", f1}, {"eval.auc", 0.5}}});
        EXPECT_TRUE(v) << v.error().message;
        return *v;
    }
    testing::TempDir dir_;
    testing::FakeClock clock_;
};

TEST_F(BuiltinRegistryTest, VersionsAreNumberedPerModelAndKeepTheirMetrics) {
    auto r = open();
    EXPECT_EQ(add(*r, "churn", 0.81).version, "1");
    EXPECT_EQ(add(*r, "churn", 0.84, "2").version, "2");
    EXPECT_EQ(add(*r, "fraud", 0.5).version, "1");

    auto models = r->models();
    ASSERT_TRUE(models);
    EXPECT_EQ(*models, (std::vector<std::string>{"churn", "fraud"}));
    auto versions = r->versions("churn");
    ASSERT_TRUE(versions);
    ASSERT_EQ(versions->size(), 2u);
    EXPECT_EQ((*versions)[0].version, "2");  // newest first
    EXPECT_DOUBLE_EQ((*versions)[0].metrics.at("f1"), 0.84);
    EXPECT_DOUBLE_EQ((*versions)[0].metrics.at("eval.auc"), 0.5);
    EXPECT_EQ((*versions)[0].run_id, "2");
    EXPECT_EQ((*versions)[0].commit, "abc123");

    // Reopened from the file: nothing was only in memory.
    r.reset();
    auto again = open();
    auto v = again->version("churn", "1");
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_DOUBLE_EQ(v->metrics.at("f1"), 0.81);
}

TEST_F(BuiltinRegistryTest, AliasPointsAtTheChampionAndKeepsItsHistory) {
    auto r = open();
    add(*r, "churn", 0.81);
    add(*r, "churn", 0.84);
    auto none = r->by_alias("churn", "production");
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());

    ASSERT_TRUE(r->set_alias("churn", "production", "1", "alice", "first release"));
    clock_.advance(std::chrono::minutes(1));
    ASSERT_TRUE(r->set_alias("churn", "production", "2", "bob", "better f1"));
    auto champion = r->by_alias("churn", "production");
    ASSERT_TRUE(champion && champion->has_value());
    EXPECT_EQ((*champion)->version, "2");
    EXPECT_EQ((*champion)->aliases, (std::vector<std::string>{"production"}));

    auto history = r->alias_history("churn", "production");
    ASSERT_TRUE(history);
    ASSERT_EQ(history->size(), 2u);
    EXPECT_FALSE((*history)[0].from_version.has_value());
    EXPECT_EQ((*history)[0].to_version, "1");
    EXPECT_EQ((*history)[1].from_version, "1");
    EXPECT_EQ((*history)[1].to_version, "2");
    EXPECT_EQ((*history)[1].actor, "bob");
    EXPECT_EQ((*history)[1].at_ms - (*history)[0].at_ms, 60'000);
    // The old champion no longer carries the alias.
    auto old = r->version("churn", "1");
    ASSERT_TRUE(old);
    EXPECT_TRUE(old->aliases.empty());
}

TEST_F(BuiltinRegistryTest, WhatDoesNotExistIsNotFoundAndBadNamesAreRefused) {
    auto r = open();
    add(*r, "churn", 0.8);
    EXPECT_EQ(r->versions("nope").error().code, util::ErrorCode::not_found);
    EXPECT_EQ(r->version("churn", "7").error().code, util::ErrorCode::not_found);
    EXPECT_EQ(r->version("churn", "x").error().code, util::ErrorCode::bad_input);
    EXPECT_EQ(r->version("nope", "1").error().message, "no model `nope` in the builtin registry");
    auto missing = r->set_alias("churn", "production", "9", "a", "");
    EXPECT_EQ(missing.error().code, util::ErrorCode::not_found);
    EXPECT_EQ(r->set_alias("churn", "v2", "1", "a", "").error().code, util::ErrorCode::bad_input);
    EXPECT_EQ(r->set_alias("churn", "pro duction", "1", "a", "").error().code,
              util::ErrorCode::bad_input);
    auto bad_model = r->create_version({"../churn", "1", "", "", {}});
    EXPECT_EQ(bad_model.error().code, util::ErrorCode::bad_input);
    // A refused move leaves nothing behind.
    auto history = r->alias_history("churn", "");
    ASSERT_TRUE(history);
    EXPECT_TRUE(history->empty());
}

TEST_F(BuiltinRegistryTest, VersionsOfARunAreItsCandidates) {
    auto r = open();
    add(*r, "churn", 0.8, "41");
    add(*r, "churn", 0.9, "42");
    add(*r, "fraud", 0.7, "42");
    auto mine = r->versions_of_run("42");
    ASSERT_TRUE(mine);
    ASSERT_EQ(mine->size(), 2u);
    EXPECT_EQ((*mine)[0].model, "churn");
    EXPECT_EQ((*mine)[0].version, "2");
    EXPECT_EQ((*mine)[1].model, "fraud");
}

TEST_F(BuiltinRegistryTest, ConcurrentWritersNeverShareAVersionNumber) {
    { open(); }  // created once, then four processes' worth of connections race
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
        writers.emplace_back([this, t] {
            auto r = BuiltinRegistry::open(dir_ / "registry.db");
            ASSERT_TRUE(r);
            for (int i = 0; i < 25; ++i) {
                auto v = (*r)->create_version({"churn", std::to_string(t), "", "", {{"f1", 1.0}}});
                ASSERT_TRUE(v) << v.error().message;
            }
        });
    }
    for (auto& w : writers) w.join();
    auto r = open();
    auto versions = r->versions("churn");
    ASSERT_TRUE(versions);
    ASSERT_EQ(versions->size(), 100u);
    EXPECT_EQ(versions->front().version, "100");
    EXPECT_EQ(versions->back().version, "1");
}

TEST_F(BuiltinRegistryTest, ADatabaseFromANewerSluiceIsRefused) {
    { open(); }
    {
        auto db = store::sqlite::Connection::open(dir_ / "registry.db");
        ASSERT_TRUE(db);
        ASSERT_TRUE(db->exec("PRAGMA user_version = 99"));
    }
    auto r = BuiltinRegistry::open(dir_ / "registry.db");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("newer sluice"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace sluice::registry
