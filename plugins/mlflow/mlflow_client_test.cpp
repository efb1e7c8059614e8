// MlflowClient against the MLflow test server over real HTTP: every call, the fields it
// reads (string versions and experiment ids, fields MLflow leaves out), and MLflow's
// errors surfaced with their error_code.
#include "plugins/mlflow/mlflow_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "plugins/mlflow/mlflow_test_support.hpp"
#include "runner/testing/mlflow_test_server.hpp"

namespace sluice::mlflow {
namespace {

using util::ErrorCode;

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

class MlflowClientTest : public ::testing::Test {
protected:
    void start(testing::MlflowServerOptions options = {}) {
        server_ = std::make_unique<testing::MlflowTestServer>(std::move(options));
        if (!server_->ok()) GTEST_SKIP() << server_->error();
        client_ =
            std::make_unique<MlflowClient>(test_support::test_settings(server_->uri()), http_);
    }
    void SetUp() override { start(); }

    std::string make_run(const KeyValues& tags = {}) {
        CreateRunRequest request;
        request.experiment_id = "0";
        request.tags = tags;
        auto run = client_->create_run(request);
        EXPECT_TRUE(run.has_value()) << run.error().message;
        return run ? run->info.run_id : "";
    }

    std::unique_ptr<testing::MlflowTestServer> server_;
    test_support::CountingHttpClient http_;
    std::unique_ptr<MlflowClient> client_;
};

TEST_F(MlflowClientTest, ExperimentsByNameAndCreate) {
    auto by_name = client_->get_experiment_by_name("Default");
    ASSERT_TRUE(by_name.has_value()) << by_name.error().message;
    EXPECT_EQ(by_name->experiment_id, "0");
    EXPECT_EQ(by_name->lifecycle_stage, "active");

    auto missing = client_->get_experiment_by_name("sluice");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, ErrorCode::not_found);
    EXPECT_TRUE(contains(missing.error().message, "mlflow: RESOURCE_DOES_NOT_EXIST: "))
        << missing.error().message;
    EXPECT_TRUE(
        contains(missing.error().message,
                 "(GET " + server_->uri() +
                     "/api/2.0/mlflow/experiments/get-by-name?experiment_name=sluice → 404)"))
        << missing.error().message;

    auto created = client_->create_experiment({"sluice", "", {{"team", "ml"}}});
    ASSERT_TRUE(created.has_value()) << created.error().message;
    EXPECT_EQ(*created, "1");
    auto again = client_->get_experiment_by_name("sluice");
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->experiment_id, "1");
    EXPECT_EQ(again->tags.at("team"), "ml");

    auto duplicate = client_->create_experiment({"sluice", "", {}});
    ASSERT_FALSE(duplicate.has_value());
    EXPECT_EQ(duplicate.error().code, ErrorCode::conflict);
    EXPECT_TRUE(contains(duplicate.error().message, "RESOURCE_ALREADY_EXISTS"));
    EXPECT_TRUE(contains(duplicate.error().message, "→ 400)"));
}

TEST_F(MlflowClientTest, CreateRunLogBatchAndGetRun) {
    CreateRunRequest request;
    request.experiment_id = "0";
    request.run_name = "train";
    request.start_time = 1'700'000'000'000;
    request.tags = {{"mlflow.source.git.commit", "0123abc"}};
    auto run = client_->create_run(request);
    ASSERT_TRUE(run.has_value()) << run.error().message;
    EXPECT_EQ(run->info.run_name, "train");
    EXPECT_EQ(run->info.experiment_id, "0");
    EXPECT_EQ(run->info.status, "RUNNING");
    EXPECT_EQ(run->info.start_time, 1'700'000'000'000);
    EXPECT_FALSE(run->info.end_time.has_value());  // absent while RUNNING
    EXPECT_TRUE(run->data.metrics.empty());        // absent

    LogBatchRequest batch;
    batch.run_id = run->info.run_id;
    batch.metrics = {{"f1", 0.91, 1'000, 3}, {"loss", 0.0, 1'000, 0}};  // 0 and step 0: left out
    batch.params = {{"depth", "4"}};
    batch.tags = {{"stage", "train"}};
    auto logged = client_->log_batch(batch);
    ASSERT_TRUE(logged.has_value()) << logged.error().message;

    auto got = client_->get_run(run->info.run_id);
    ASSERT_TRUE(got.has_value()) << got.error().message;
    EXPECT_EQ(got->info.run_id, run->info.run_id);
    ASSERT_EQ(got->data.metrics.size(), 2u);
    auto by_key = [&](const std::string& key) {
        return *std::find_if(got->data.metrics.begin(), got->data.metrics.end(),
                             [&](const Metric& m) { return m.key == key; });
    };
    EXPECT_DOUBLE_EQ(by_key("f1").value, 0.91);
    EXPECT_EQ(by_key("f1").step, 3);
    EXPECT_EQ(by_key("f1").timestamp, 1'000);
    EXPECT_DOUBLE_EQ(by_key("loss").value, 0.0);
    EXPECT_EQ(by_key("loss").step, 0);
    EXPECT_EQ(got->data.params.at("depth"), "4");
    EXPECT_EQ(got->data.tags.at("stage"), "train");
    EXPECT_EQ(got->data.tags.at("mlflow.source.git.commit"), "0123abc");
}

TEST_F(MlflowClientTest, UpdateRunFinishesIt) {
    std::string run_id = make_run();
    UpdateRunRequest update;
    update.run_id = run_id;
    update.status = "FINISHED";
    update.end_time = 1'700'000'000'500;
    auto info = client_->update_run(update);
    ASSERT_TRUE(info.has_value()) << info.error().message;
    EXPECT_EQ(info->status, "FINISHED");
    EXPECT_EQ(info->end_time, 1'700'000'000'500);
}

TEST_F(MlflowClientTest, UnknownRunIsNotFoundWithMlflowsMessage) {
    auto run = client_->get_run("nope");
    ASSERT_FALSE(run.has_value());
    EXPECT_EQ(run.error().code, ErrorCode::not_found);
    EXPECT_EQ(run.error().message,
              "mlflow: RESOURCE_DOES_NOT_EXIST: Run with id=nope not found (GET " + server_->uri() +
                  "/api/2.0/mlflow/runs/get?run_id=nope → 404)");
    auto logged = client_->log_batch({"nope", {{"f1", 1, 1, 0}}, {}, {}});
    ASSERT_FALSE(logged.has_value());
    EXPECT_EQ(logged.error().code, ErrorCode::not_found);
}

TEST_F(MlflowClientTest, SearchRunsPagesWithNextPageToken) {
    for (int i = 0; i < 5; ++i)
        make_run({{"n", std::to_string(i)}, {"kind", i % 2 ? "odd" : "even"}});
    SearchRunsRequest request;
    request.experiment_ids = {"0"};
    request.max_results = 2;
    auto first = client_->search_runs(request);
    ASSERT_TRUE(first.has_value()) << first.error().message;
    EXPECT_EQ(first->runs.size(), 2u);
    EXPECT_FALSE(first->next_page_token.empty());

    auto all = client_->search_all_runs(request);
    ASSERT_TRUE(all.has_value()) << all.error().message;
    EXPECT_EQ(all->size(), 5u);
    EXPECT_EQ(http_.count(), 5u + 1u + 3u);  // 5 creates, 1 page, then 3 pages

    request.filter = "tags.kind = 'odd'";
    request.max_results = 0;
    auto odd = client_->search_all_runs(request);
    ASSERT_TRUE(odd.has_value()) << odd.error().message;
    EXPECT_EQ(odd->size(), 2u);

    request.filter = "tags.kind = 'none'";
    auto none = client_->search_runs(request);  // answered {}
    ASSERT_TRUE(none.has_value()) << none.error().message;
    EXPECT_TRUE(none->runs.empty());
    EXPECT_TRUE(none->next_page_token.empty());
}

TEST_F(MlflowClientTest, RegisteredModelsCreateGetSearch) {
    auto created = client_->create_registered_model({"churn", "churn model", {{"owner", "ml"}}});
    ASSERT_TRUE(created.has_value()) << created.error().message;
    EXPECT_EQ(created->name, "churn");
    EXPECT_GT(created->creation_timestamp, 0);

    auto got = client_->get_registered_model("churn");
    ASSERT_TRUE(got.has_value()) << got.error().message;
    EXPECT_EQ(got->description, "churn model");
    EXPECT_EQ(got->tags.at("owner"), "ml");
    EXPECT_TRUE(got->latest_versions.empty());  // left out when empty
    EXPECT_TRUE(got->aliases.empty());

    auto duplicate = client_->create_registered_model({"churn", "", {}});
    ASSERT_FALSE(duplicate.has_value());
    EXPECT_EQ(duplicate.error().code, ErrorCode::conflict);

    auto missing = client_->get_registered_model("fraud");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, ErrorCode::not_found);

    ASSERT_TRUE(client_->create_registered_model({"fraud", "", {}}).has_value());
    ASSERT_TRUE(client_->create_registered_model({"upsell", "", {}}).has_value());
    SearchRegisteredModelsRequest search;
    search.max_results = 1;
    auto all = client_->search_all_registered_models(search);
    ASSERT_TRUE(all.has_value()) << all.error().message;
    ASSERT_EQ(all->size(), 3u);
    EXPECT_EQ((*all)[0].name, "churn");
    EXPECT_EQ((*all)[2].name, "upsell");

    search.filter = "name LIKE 'fr%'";
    search.max_results = 0;
    auto fraud = client_->search_registered_models(search);
    ASSERT_TRUE(fraud.has_value()) << fraud.error().message;
    ASSERT_EQ(fraud->registered_models.size(), 1u);
    EXPECT_EQ(fraud->registered_models[0].name, "fraud");
}

TEST_F(MlflowClientTest, ModelVersionsCreateGetSearch) {
    ASSERT_TRUE(client_->create_registered_model({"churn", "", {}}).has_value());
    std::string run_id = make_run();
    CreateModelVersionRequest request;
    request.name = "churn";
    request.source = "runs:/" + run_id + "/model";
    request.run_id = run_id;
    request.tags = {{"mlflow.source.git.commit", "abc"}};
    auto v1 = client_->create_model_version(request);
    ASSERT_TRUE(v1.has_value()) << v1.error().message;
    EXPECT_EQ(v1->version, "1");  // a string
    EXPECT_EQ(v1->status, "READY");
    EXPECT_EQ(v1->current_stage, "None");
    EXPECT_EQ(v1->run_id, run_id);
    EXPECT_EQ(v1->tags.at("mlflow.source.git.commit"), "abc");
    EXPECT_TRUE(v1->aliases.empty());

    request.tags.clear();
    request.run_id.clear();
    request.source = "s3://bucket/churn/2";
    auto v2 = client_->create_model_version(request);
    ASSERT_TRUE(v2.has_value()) << v2.error().message;
    EXPECT_EQ(v2->version, "2");
    EXPECT_TRUE(v2->run_id.empty());

    auto got = client_->get_model_version("churn", "2");
    ASSERT_TRUE(got.has_value()) << got.error().message;
    EXPECT_EQ(got->source, "s3://bucket/churn/2");

    auto missing = client_->get_model_version("churn", "9");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, ErrorCode::not_found);

    auto no_model = client_->create_model_version({"fraud", "s3://x", "", {}, "", ""});
    ASSERT_FALSE(no_model.has_value());
    EXPECT_EQ(no_model.error().code, ErrorCode::not_found);

    auto local_path = client_->create_model_version({"churn", "/tmp/model", "", {}, "", ""});
    ASSERT_FALSE(local_path.has_value());
    EXPECT_EQ(local_path.error().code, ErrorCode::bad_input);
    EXPECT_TRUE(contains(local_path.error().message, "INVALID_PARAMETER_VALUE"));

    SearchModelVersionsRequest search;
    search.filter = "name='churn'";
    auto found = client_->search_all_model_versions(search);
    ASSERT_TRUE(found.has_value()) << found.error().message;
    EXPECT_EQ(found->size(), 2u);
    search.filter = "name='fraud'";
    auto none = client_->search_model_versions(search);  // answered {}
    ASSERT_TRUE(none.has_value()) << none.error().message;
    EXPECT_TRUE(none->model_versions.empty());
}

TEST_F(MlflowClientTest, AliasesSetGetDelete) {
    ASSERT_TRUE(client_->create_registered_model({"churn", "", {}}).has_value());
    ASSERT_TRUE(client_->create_model_version({"churn", "s3://a", "", {}, "", ""}).has_value());
    ASSERT_TRUE(client_->create_model_version({"churn", "s3://b", "", {}, "", ""}).has_value());

    auto set = client_->set_registered_model_alias({"churn", "champion", "1"});
    ASSERT_TRUE(set.has_value()) << set.error().message;
    auto champion = client_->get_model_version_by_alias("churn", "champion");
    ASSERT_TRUE(champion.has_value()) << champion.error().message;
    ASSERT_TRUE(champion->has_value());
    EXPECT_EQ((*champion)->version, "1");
    EXPECT_EQ((*champion)->aliases, std::vector<std::string>{"champion"});

    auto model = client_->get_registered_model("churn");
    ASSERT_TRUE(model.has_value());
    ASSERT_EQ(model->aliases.size(), 1u);
    EXPECT_EQ(model->aliases[0].alias, "champion");
    EXPECT_EQ(model->aliases[0].version, "1");

    // Not set: MLflow answers 400 INVALID_PARAMETER_VALUE, which is "no such alias".
    auto unset = client_->get_model_version_by_alias("churn", "challenger");
    ASSERT_TRUE(unset.has_value()) << unset.error().message;
    EXPECT_FALSE(unset->has_value());
    auto no_model = client_->get_model_version_by_alias("fraud", "champion");
    ASSERT_TRUE(no_model.has_value()) << no_model.error().message;
    EXPECT_FALSE(no_model->has_value());

    auto reserved = client_->set_registered_model_alias({"churn", "v2", "2"});
    ASSERT_FALSE(reserved.has_value());
    EXPECT_EQ(reserved.error().code, ErrorCode::bad_input);
    EXPECT_TRUE(contains(reserved.error().message, "INVALID_PARAMETER_VALUE"));

    auto no_version = client_->set_registered_model_alias({"churn", "champion", "7"});
    ASSERT_FALSE(no_version.has_value());
    EXPECT_EQ(no_version.error().code, ErrorCode::not_found);

    ASSERT_TRUE(client_->set_registered_model_alias({"churn", "champion", "2"}).has_value());
    champion = client_->get_model_version_by_alias("churn", "champion");
    ASSERT_TRUE(champion.has_value() && champion->has_value());
    EXPECT_EQ((*champion)->version, "2");

    auto deleted = client_->delete_registered_model_alias("churn", "champion");
    ASSERT_TRUE(deleted.has_value()) << deleted.error().message;
    champion = client_->get_model_version_by_alias("churn", "champion");
    ASSERT_TRUE(champion.has_value());
    EXPECT_FALSE(champion->has_value());
    EXPECT_TRUE(client_->delete_registered_model_alias("churn", "champion").has_value());

    auto sent = http_.sent();
    auto deletes = std::count_if(sent.begin(), sent.end(), [](const http::Request& r) {
        return r.method == http::Method::del;
    });
    EXPECT_EQ(deletes, 2);
}

TEST_F(MlflowClientTest, StageTransitionsAndLatestVersions) {
    ASSERT_TRUE(client_->create_registered_model({"churn", "", {}}).has_value());
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(client_->create_model_version({"churn", "s3://m", "", {}, "", ""}).has_value());
    }
    auto moved = client_->transition_model_version_stage({"churn", "1", "production", false});
    ASSERT_TRUE(moved.has_value()) << moved.error().message;
    EXPECT_EQ(moved->current_stage, "Production");  // case-insensitive on input
    ASSERT_TRUE(
        client_->transition_model_version_stage({"churn", "2", "Staging", false}).has_value());

    auto production = client_->get_latest_versions({"churn", {"Production"}});
    ASSERT_TRUE(production.has_value()) << production.error().message;
    ASSERT_EQ(production->size(), 1u);
    EXPECT_EQ((*production)[0].version, "1");

    auto every_stage = client_->get_latest_versions({"churn", {}});
    ASSERT_TRUE(every_stage.has_value());
    EXPECT_EQ(every_stage->size(), 3u);  // None (3), Production (1), Staging (2)

    auto archived = client_->transition_model_version_stage({"churn", "3", "Production", true});
    ASSERT_TRUE(archived.has_value());
    auto first = client_->get_model_version("churn", "1");
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->current_stage, "Archived");

    auto bad = client_->transition_model_version_stage({"churn", "1", "Live", false});
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code, ErrorCode::bad_input);

    auto no_model = client_->get_latest_versions({"fraud", {"Production"}});
    ASSERT_FALSE(no_model.has_value());
    EXPECT_EQ(no_model.error().code, ErrorCode::not_found);
}

TEST_F(MlflowClientTest, ModelVersionTags) {
    ASSERT_TRUE(client_->create_registered_model({"churn", "", {}}).has_value());
    ASSERT_TRUE(client_->create_model_version({"churn", "s3://m", "", {}, "", ""}).has_value());
    auto tagged = client_->set_model_version_tag({"churn", "1", "validated", "yes"});
    ASSERT_TRUE(tagged.has_value()) << tagged.error().message;
    auto got = client_->get_model_version("churn", "1");
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->tags.at("validated"), "yes");
}

TEST_F(MlflowClientTest, RequestsFollowTheReference) {
    ASSERT_TRUE(client_->create_registered_model({"churn model", "", {}}).has_value());
    (void)client_->get_registered_model("churn model");
    (void)client_->get_model_version_by_alias("churn model", "champion");
    auto sent = http_.sent();
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(sent[0].method, http::Method::post);
    EXPECT_EQ(sent[0].url, server_->uri() + "/api/2.0/mlflow/registered-models/create");
    EXPECT_EQ(sent[0].body, R"({"name":"churn model"})");
    auto content_type =
        std::find_if(sent[0].headers.begin(), sent[0].headers.end(),
                     [](const http::Header& h) { return h.name == "Content-Type"; });
    ASSERT_NE(content_type, sent[0].headers.end());
    EXPECT_EQ(content_type->value, "application/json");
    EXPECT_EQ(sent[1].method, http::Method::get);
    EXPECT_EQ(sent[1].url,
              server_->uri() + "/api/2.0/mlflow/registered-models/get?name=churn%20model");
    EXPECT_TRUE(sent[1].body.empty());
    EXPECT_EQ(sent[2].url,
              server_->uri() +
                  "/api/2.0/mlflow/registered-models/alias?alias=champion&name=churn%20model");
}

TEST_F(MlflowClientTest, EmptyKeysAreRefusedBeforeAsking) {
    auto by_alias = client_->get_model_version_by_alias("churn", "");
    ASSERT_FALSE(by_alias.has_value());
    EXPECT_EQ(by_alias.error().code, ErrorCode::bad_input);
    EXPECT_FALSE(client_->get_run("").has_value());
    EXPECT_EQ(http_.count(), 0u);
}

}  // namespace
}  // namespace sluice::mlflow
