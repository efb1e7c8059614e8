// MlflowRegistry against the MLflow test server over real HTTP: creating versions (with a
// run holding their metrics and commit), aliases, the fallback to deprecated stages, and
// failing closed when the server is down.
#include "plugins/mlflow/mlflow_registry.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "plugins/mlflow/mlflow_test_support.hpp"
#include "runner/testing/fake_clock.hpp"
#include "runner/testing/mlflow_test_server.hpp"

namespace sluice::mlflow {
namespace {

using util::ErrorCode;

class MlflowRegistryTest : public ::testing::Test {
protected:
    void start(std::string seed = "") {
        testing::MlflowServerOptions options;
        options.seed_json = std::move(seed);
        server_ = std::make_unique<testing::MlflowTestServer>(options);
        if (!server_->ok()) GTEST_SKIP() << server_->error();
        client_ =
            std::make_unique<MlflowClient>(test_support::test_settings(server_->uri()), http_);
        registry_ = std::make_unique<MlflowRegistry>(*client_, clock_);
    }

    std::unique_ptr<testing::MlflowTestServer> server_;
    test_support::CountingHttpClient http_;
    testing::FakeClock clock_;
    std::unique_ptr<MlflowClient> client_;
    std::unique_ptr<MlflowRegistry> registry_;
};

// Seeds: a run with an f1 history and a commit tag, and the model churn whose version 1
// is in stage Production (no aliases).
constexpr const char* k_seed = R"({
  "runs": [{"run_id": "run-old", "experiment": "training",
            "tags": {"mlflow.source.git.commit": "1111111"},
            "metrics": [{"key": "f1", "value": 0.70, "step": 0, "timestamp": 100},
                        {"key": "f1", "value": 0.82, "step": 2, "timestamp": 50},
                        {"key": "f1", "value": 0.75, "step": 1, "timestamp": 300},
                        {"key": "auc", "value": 0.9, "timestamp": 100}]}],
  "models": [{"name": "churn", "versions": [{"run_id": "run-old", "stage": "Production"}]}]
})";

TEST_F(MlflowRegistryTest, CreateVersionLogsMetricsToARunInTheSluiceExperiment) {
    start();
    registry::NewVersion nv;
    nv.model = "churn";
    nv.commit = "0123456789abcdef0123";
    nv.metrics = {{"f1", 0.91}, {"eval.auc", 0.0}};
    auto v = registry_->create_version(nv);
    ASSERT_TRUE(v.has_value()) << v.error().message;
    EXPECT_EQ(v->model, "churn");
    EXPECT_EQ(v->version, "1");
    EXPECT_FALSE(v->run_id.empty());
    EXPECT_EQ(v->source, "runs:/" + v->run_id + "/model");
    EXPECT_EQ(v->commit, "0123456789abcdef0123");
    EXPECT_EQ(v->metrics, (registry::Metrics{{"eval.auc", 0.0}, {"f1", 0.91}}));
    EXPECT_EQ(v->created_ms > 0, true);

    auto experiment = client_->get_experiment_by_name("sluice");
    ASSERT_TRUE(experiment.has_value()) << experiment.error().message;
    auto run = client_->get_run(v->run_id);
    ASSERT_TRUE(run.has_value());
    EXPECT_EQ(run->info.experiment_id, experiment->experiment_id);
    EXPECT_EQ(run->info.status, "FINISHED");
    EXPECT_EQ(run->data.tags.at("mlflow.source.git.commit"), "0123456789abcdef0123");
    EXPECT_EQ(run->data.metrics[0].timestamp, clock_.epoch_ms());

    auto second = registry_->create_version(nv);  // the model and experiment exist now
    ASSERT_TRUE(second.has_value()) << second.error().message;
    EXPECT_EQ(second->version, "2");
    EXPECT_NE(second->run_id, v->run_id);

    auto versions = registry_->versions("churn");
    ASSERT_TRUE(versions.has_value()) << versions.error().message;
    ASSERT_EQ(versions->size(), 2u);
    EXPECT_EQ((*versions)[0].version, "2");  // newest first
    EXPECT_EQ((*versions)[1].version, "1");
    EXPECT_EQ((*versions)[1].metrics.at("f1"), 0.91);

    auto models = registry_->models();
    ASSERT_TRUE(models.has_value());
    EXPECT_EQ(*models, std::vector<std::string>{"churn"});
}

TEST_F(MlflowRegistryTest, CreateVersionFromAnExistingRun) {
    start(k_seed);
    registry::NewVersion nv;
    nv.model = "churn";
    nv.run_id = "run-old";
    auto v = registry_->create_version(nv);
    ASSERT_TRUE(v.has_value()) << v.error().message;
    EXPECT_EQ(v->version, "2");
    EXPECT_EQ(v->source, "runs:/run-old/model");
    EXPECT_EQ(v->commit, "1111111");
    EXPECT_EQ(v->metrics, (registry::Metrics{{"auc", 0.9}, {"f1", 0.82}}));  // f1 at step 2
}

TEST_F(MlflowRegistryTest, CreateVersionFromASourceAlone) {
    start();
    registry::NewVersion nv;
    nv.model = "churn";
    nv.source = "s3://models/churn/7";
    auto v = registry_->create_version(nv);
    ASSERT_TRUE(v.has_value()) << v.error().message;
    EXPECT_TRUE(v->run_id.empty());
    EXPECT_TRUE(v->metrics.empty());
    EXPECT_EQ(v->source, "s3://models/churn/7");

    auto nothing = registry_->create_version({"churn", "", "", "", {}});
    ASSERT_FALSE(nothing.has_value());
    EXPECT_EQ(nothing.error().code, ErrorCode::bad_input);
}

TEST_F(MlflowRegistryTest, SetAliasAndFindTheChampion) {
    start(k_seed);
    auto set = registry_->set_alias("churn", "production", "1", "alice", "release 1");
    ASSERT_TRUE(set.has_value()) << set.error().message;
    auto champion = registry_->by_alias("churn", "production");
    ASSERT_TRUE(champion.has_value()) << champion.error().message;
    ASSERT_TRUE(champion->has_value());
    EXPECT_EQ((*champion)->version, "1");
    EXPECT_EQ((*champion)->aliases, std::vector<std::string>{"production"});
    EXPECT_EQ((*champion)->metrics.at("f1"), 0.82);
    EXPECT_EQ((*champion)->commit, "1111111");

    auto unknown_version = registry_->set_alias("churn", "production", "9", "alice", "");
    ASSERT_FALSE(unknown_version.has_value());
    EXPECT_EQ(unknown_version.error().code, ErrorCode::not_found);
    auto reserved = registry_->set_alias("churn", "v1", "1", "alice", "");
    ASSERT_FALSE(reserved.has_value());
    EXPECT_EQ(reserved.error().code, ErrorCode::bad_input);
}

TEST_F(MlflowRegistryTest, UnsetAliasIsNoChampion) {
    start(R"({"models": [{"name": "churn", "versions": [{"source": "s3://m"}]}]})");
    auto champion = registry_->by_alias("churn", "champion");
    ASSERT_TRUE(champion.has_value()) << champion.error().message;
    EXPECT_FALSE(champion->has_value());
    auto production = registry_->by_alias("churn", "production");  // no stage either
    ASSERT_TRUE(production.has_value()) << production.error().message;
    EXPECT_FALSE(production->has_value());
}

TEST_F(MlflowRegistryTest, UnsetAliasFallsBackToTheDeprecatedStage) {
    start(k_seed);
    auto champion = registry_->by_alias("churn", "production");
    ASSERT_TRUE(champion.has_value()) << champion.error().message;
    ASSERT_TRUE(champion->has_value());
    EXPECT_EQ((*champion)->version, "1");
    EXPECT_EQ((*champion)->metrics.at("f1"), 0.82);

    auto other = registry_->by_alias("churn", "champion");  // no stage of that name
    ASSERT_TRUE(other.has_value()) << other.error().message;
    EXPECT_FALSE(other->has_value());
}

TEST_F(MlflowRegistryTest, AliasWinsOverStage) {
    start(R"({"models": [{"name": "churn", "versions": [
        {"source": "s3://one", "stage": "Production"},
        {"source": "s3://two", "aliases": ["production"]}]}]})");
    auto champion = registry_->by_alias("churn", "production");
    ASSERT_TRUE(champion.has_value()) << champion.error().message;
    ASSERT_TRUE(champion->has_value());
    EXPECT_EQ((*champion)->version, "2");
}

TEST_F(MlflowRegistryTest, UnknownModelIsNotFound) {
    start();
    for (std::string alias : {"production", "champion"}) {
        auto champion = registry_->by_alias("fraud", alias);
        ASSERT_FALSE(champion.has_value()) << alias;
        EXPECT_EQ(champion.error().code, ErrorCode::not_found) << alias;
    }
    auto versions = registry_->versions("fraud");
    ASSERT_FALSE(versions.has_value());
    EXPECT_EQ(versions.error().code, ErrorCode::not_found);
    auto version = registry_->version("fraud", "1");
    ASSERT_FALSE(version.has_value());
    EXPECT_EQ(version.error().code, ErrorCode::not_found);
}

TEST_F(MlflowRegistryTest, VersionWhoseRunIsGoneHasNoMetrics) {
    start(R"({"models": [{"name": "churn", "versions": [{"run_id": "gone",
              "tags": {"mlflow.source.git.commit": "feed"}}]}]})");
    auto v = registry_->version("churn", "1");
    ASSERT_TRUE(v.has_value()) << v.error().message;
    EXPECT_TRUE(v->metrics.empty());
    EXPECT_EQ(v->commit, "feed");  // from the version's tag
}

TEST_F(MlflowRegistryTest, AliasHistoryIsNotKeptByMlflow) {
    start();
    auto history = registry_->alias_history("churn", "production");
    ASSERT_FALSE(history.has_value());
    EXPECT_EQ(history.error().code, ErrorCode::bad_input);
    EXPECT_NE(history.error().message.find("MLflow keeps no history"), std::string::npos);
}

TEST_F(MlflowRegistryTest, NonFiniteMetricsAreRefused) {
    start();
    registry::NewVersion nv;
    nv.model = "churn";
    nv.metrics = {{"f1", std::numeric_limits<double>::quiet_NaN()}};
    auto v = registry_->create_version(nv);
    ASSERT_FALSE(v.has_value());
    EXPECT_EQ(v.error().code, ErrorCode::bad_input);
    EXPECT_EQ(http_.count(), 0u);
}

TEST(MlflowRegistryDownTest, DownServerFailsClosed) {
    test_support::CountingHttpClient http;
    testing::FakeClock clock;
    MlflowClient client(test_support::test_settings(testing::down_uri(), 1), http,
                        [](std::chrono::milliseconds) {});
    MlflowRegistry registry(client, clock);
    auto champion = registry.by_alias("churn", "production");
    ASSERT_FALSE(champion.has_value());
    EXPECT_EQ(champion.error().code, ErrorCode::unavailable);
    auto created = registry.create_version({"churn", "", "abc", "", {{"f1", 0.9}}});
    ASSERT_FALSE(created.has_value());
    EXPECT_EQ(created.error().code, ErrorCode::unavailable);
}

TEST(MlflowRegistryOpenTest, OpensItsOwnClient) {
    testing::MlflowTestServer server;
    if (!server.ok()) GTEST_SKIP() << server.error();
    SettingsOverrides overrides;
    overrides.tracking_uri = server.uri();
    auto settings = resolve_settings(overrides, [](std::string_view) { return std::nullopt; });
    ASSERT_TRUE(settings.has_value()) << settings.error().message;
    auto registry = MlflowRegistry::open(*settings);
    EXPECT_EQ(registry->describe(), "mlflow (" + server.uri() + ")");
    auto created = registry->create_version({"churn", "", "abc", "", {{"f1", 0.9}}});
    ASSERT_TRUE(created.has_value()) << created.error().message;
    EXPECT_EQ(created->metrics.at("f1"), 0.9);
}

}  // namespace
}  // namespace sluice::mlflow
