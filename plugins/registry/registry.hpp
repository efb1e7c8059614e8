// The model registry as sluice sees it: registered models, their versions (each with
// the run and commit it came from and its metrics), aliases (one per environment; the
// version an alias points to is that environment's champion), and the history of
// alias moves. Backends (builtin SQLite, MLflow over REST) implement Registry; stage
// kinds and commands only ever hold a Registry&.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runner/util/error.hpp"

namespace sluice::registry {

using util::Result;
using util::Status;

// Metric name → value. Nested JSON objects are flattened with dots ("eval.f1").
using Metrics = std::map<std::string, double>;

struct ModelVersion {
    std::string model;
    std::string version;               // "1", "2", ... (a string, as MLflow has it)
    std::string run_id;                // the run that produced it (sluice run id or MLflow run id)
    std::string commit;                // git sha, empty when unknown
    std::string source;                // where its files are (a path, runs:/..., ...)
    Metrics metrics;
    std::vector<std::string> aliases;  // aliases pointing at it now
    std::int64_t created_ms = 0;       // Unix time, milliseconds
};

struct NewVersion {
    std::string model;
    std::string run_id;
    std::string commit;
    std::string source;
    Metrics metrics;
};

// One move of an alias (a promotion or a rollback).
struct AliasMove {
    std::string model;
    std::string alias;
    std::optional<std::string> from_version;  // none: the alias did not exist
    std::string to_version;
    std::string actor;                        // who moved it (user, or "sluice")
    std::string reason;
    std::int64_t at_ms = 0;
};

// Errors: ErrorCode::not_found for a model or version that does not exist,
// ErrorCode::unavailable when the backend cannot be reached or answers something it
// should not (down, timeout, garbage), ErrorCode::bad_input for a request the backend
// refuses. Callers that gate promotion treat every error as "do not promote".
class Registry {
public:
    virtual ~Registry() = default;

    // "builtin", "mlflow", ... and where it is, for messages.
    virtual std::string describe() const = 0;

    virtual Result<std::vector<std::string>> models() = 0;
    // Newest first.
    virtual Result<std::vector<ModelVersion>> versions(const std::string& model) = 0;
    virtual Result<ModelVersion> version(const std::string& model,
                                         const std::string& version) = 0;
    // The version an alias points to; nullopt when the alias is not set (no champion).
    virtual Result<std::optional<ModelVersion>> by_alias(const std::string& model,
                                                         const std::string& alias) = 0;
    // Registers the model when it is new.
    virtual Result<ModelVersion> create_version(const NewVersion& version) = 0;
    virtual Status set_alias(const std::string& model, const std::string& alias,
                             const std::string& version, const std::string& actor,
                             const std::string& reason) = 0;
    // Oldest first; an empty alias means every alias of the model.
    virtual Result<std::vector<AliasMove>> alias_history(const std::string& model,
                                                         const std::string& alias) = 0;

    // The newest version of `model` that run `run_id` produced; nullopt when none.
    // (The default reads versions(); a backend with a search overrides it.)
    virtual Result<std::optional<ModelVersion>> version_of_run(const std::string& model,
                                                               const std::string& run_id);
    // The metrics a run logged, for a candidate that is a run rather than a version
    // (an MLflow run id). The default: not supported (ErrorCode::bad_input).
    virtual Result<Metrics> run_metrics(const std::string& run_id);
};

}  // namespace sluice::registry
