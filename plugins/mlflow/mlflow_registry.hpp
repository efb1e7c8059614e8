// The Registry over an MLflow tracking server (REST API 2.x), mapping sluice's model
// registry onto MLflow's:
//
//   model, version, source     registered model, model version (versions are strings), source
//   run_id                     the model version's run_id
//   metrics                    the run's latest metrics (runs/get data.metrics; of several
//                              entries for one key, the highest step, then timestamp)
//   commit                     the run's tag mlflow.source.git.commit, else the version's
//   aliases, by_alias, set_alias   registered model aliases (registered-models/alias)
//
// by_alias: nullopt when MLflow says the alias is not set (its 400 INVALID_PARAMETER_VALUE
// on GET registered-models/alias). Only then, and only for the aliases `staging` and
// `production` (any case), it falls back to the deprecated stage of that name capitalised
// (alias production → the latest version in stage Production, via get-latest-versions),
// so models promoted with stages before aliases existed still have a champion. An alias
// that is set always wins over a stage. A model that does not exist is not_found.
//
// create_version registers the model when it is new. Without a run_id but with metrics or
// a commit, it creates a run in the experiment "sluice" (made when missing), tagged
// mlflow.source.git.commit, logs the metrics there (log-batch, step 0), and ends the run
// FINISHED; with a run_id and metrics it logs the metrics to that run. The version's source
// is NewVersion.source, else runs:/<run_id>/model; the commit is also set as a tag of the
// version. MLflow keeps no history of alias moves: alias_history is a bad_input error
// (sluice records each environment's history itself).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/mlflow/mlflow_client.hpp"
#include "plugins/mlflow/mlflow_settings.hpp"
#include "plugins/registry/registry.hpp"
#include "runner/util/clock.hpp"

namespace sluice::mlflow {

inline constexpr std::string_view k_sluice_experiment = "sluice";
inline constexpr std::string_view k_commit_tag = "mlflow.source.git.commit";

class MlflowRegistry final : public registry::Registry {
public:
    // Borrows the client and clock (the clock stamps the metrics it logs).
    MlflowRegistry(MlflowClient& client, const util::Clock& clock);
    // Owns a libcurl HttpClient, a client and a system clock; settings as resolve_settings()
    // gives them.
    static std::unique_ptr<MlflowRegistry> open(Settings settings);
    ~MlflowRegistry() override;
    MlflowRegistry(const MlflowRegistry&) = delete;
    MlflowRegistry& operator=(const MlflowRegistry&) = delete;

    std::string describe() const override;
    Result<std::vector<std::string>> models() override;
    Result<std::vector<registry::ModelVersion>> versions(const std::string& model) override;
    Result<registry::ModelVersion> version(const std::string& model,
                                           const std::string& version) override;
    Result<std::optional<registry::ModelVersion>> by_alias(const std::string& model,
                                                           const std::string& alias) override;
    Result<registry::ModelVersion> create_version(const registry::NewVersion& version) override;
    Status set_alias(const std::string& model, const std::string& alias, const std::string& version,
                     const std::string& actor, const std::string& reason) override;
    Result<std::vector<registry::AliasMove>> alias_history(const std::string& model,
                                                           const std::string& alias) override;

    // Beyond Registry: the latest metrics of any MLflow run (a gate's `candidate:` may name
    // a run rather than a version); not_found for an unknown run.
    Result<registry::Metrics> run_metrics(const std::string& run_id) override;
    MlflowClient& client() { return client_; }

private:
    struct Owned;
    explicit MlflowRegistry(std::unique_ptr<Owned> owned);

    Result<registry::ModelVersion> complete(const ModelVersion& version);
    Result<std::string> sluice_experiment();
    Status log_metrics(const std::string& run_id, const registry::Metrics& metrics);

    std::unique_ptr<Owned> owned_;  // first: client_ and clock_ may refer into it
    MlflowClient& client_;
    const util::Clock& clock_;
};

// The latest value of each metric: highest step, then latest timestamp, then (as MLflow
// does for ties) the largest value.
registry::Metrics latest_metrics(const std::vector<Metric>& metrics);

// "Production" for production, "Staging" for staging (any case); nullopt for other aliases.
std::optional<std::string> fallback_stage(std::string_view alias);

}  // namespace sluice::mlflow
