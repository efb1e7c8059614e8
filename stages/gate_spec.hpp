// What a gate stage hands to its process (`sluice gate-eval --spec FILE`): everything
// the evaluation needs, resolved by the engine, as one JSON file. Keeping the gate in
// its own process gives it what every stage has: a timeout, a log, a process group;
// a registry that hangs costs the gate its timeout, not the runner its loop.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runner/util/error.hpp"

namespace sluice::stages {

struct GateSpec {
    std::string stage;
    nlohmann::json registry = "builtin";   // builtin | file | { mlflow: { uri: ... } }
    std::string model;
    std::optional<std::string> candidate;  // a version, an MLflow run id, or a file (file)
    std::string champion = "production";   // alias (builtin, mlflow) or file (file)
    bool champion_given = false;           // `champion:` written (file: no champion without)
    bool pass_without_champion = true;     // if_no_champion: pass
    std::vector<std::string> rules;        // `require:`, expressions resolved
    std::string run_id;                    // this run: its candidates are in the registry
    std::filesystem::path state_dir;
    std::filesystem::path workspace;
    std::vector<std::string> metrics_files;  // of the stages it needs (relative to workspace)
    std::filesystem::path report_file;     // where the process writes its report
};

nlohmann::json to_json(const GateSpec& spec);
util::Result<GateSpec> gate_spec_from_json(const nlohmann::json& json);

}  // namespace sluice::stages
