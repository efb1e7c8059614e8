// What the image and push kinds tell their processes about registries: which ones speak
// plain http (SLUICE_INSECURE_REGISTRIES), where Docker's config.json is, and the file
// of known blob locations; and writing a kind's spec before it runs.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runner/exec/process.hpp"
#include "stages/stage_kind.hpp"

namespace sluice::stages {

// A variable of the stage's environment, else of the runner's; empty when neither has it.
std::string stage_or_runner_env(const StageContext& context, const std::string& name);

// SLUICE_INSECURE_REGISTRIES: host[:port] names, comma- or space-separated.
std::vector<std::string> insecure_registries(const StageContext& context);

// $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json.
std::filesystem::path docker_config_file(const StageContext& context);

// <state>/oci/blob-locations.json
std::filesystem::path blob_locations_file(const StageContext& context);

// Writes spec to <scratch>/NAME (removing an earlier attempt's report) and returns the
// process `sluice internal SUBCOMMAND SPEC`, in the workspace, with the stage's
// environment and timeout.
util::Result<exec::ProcessSpec> internal_process(const StageContext& context,
                                                 const std::string& subcommand,
                                                 const std::string& spec_name,
                                                 const nlohmann::json& spec,
                                                 const std::filesystem::path& report_file);

// The stage result of an internal process: its outcome, and its report file as the
// stage's report. A process that ended well but left no report failed (fail closed).
StageResult internal_result(const StageContext& context, const exec::ProcessOutcome* outcome,
                            const std::filesystem::path& report_file);

}  // namespace sluice::stages
