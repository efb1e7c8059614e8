// The gate spec's JSON mapping.
#include "stages/gate_spec.hpp"

namespace sluice::stages {

nlohmann::json to_json(const GateSpec& spec) {
    nlohmann::json j = {{"stage", spec.stage},
                        {"registry", spec.registry},
                        {"model", spec.model},
                        {"champion", spec.champion},
                        {"champion_given", spec.champion_given},
                        {"if_no_champion", spec.pass_without_champion ? "pass" : "fail"},
                        {"rules", spec.rules},
                        {"run_id", spec.run_id},
                        {"state_dir", spec.state_dir.string()},
                        {"workspace", spec.workspace.string()},
                        {"metrics_files", spec.metrics_files},
                        {"report_file", spec.report_file.string()}};
    if (spec.candidate) j["candidate"] = *spec.candidate;
    return j;
}

util::Result<GateSpec> gate_spec_from_json(const nlohmann::json& j) {
    try {
        GateSpec spec;
        spec.stage = j.at("stage").get<std::string>();
        spec.registry = j.at("registry");
        spec.model = j.at("model").get<std::string>();
        if (j.contains("candidate")) spec.candidate = j.at("candidate").get<std::string>();
        spec.champion = j.at("champion").get<std::string>();
        spec.champion_given = j.at("champion_given").get<bool>();
        spec.pass_without_champion = j.at("if_no_champion").get<std::string>() != "fail";
        spec.rules = j.at("rules").get<std::vector<std::string>>();
        spec.run_id = j.at("run_id").get<std::string>();
        spec.state_dir = j.at("state_dir").get<std::string>();
        spec.workspace = j.at("workspace").get<std::string>();
        spec.metrics_files = j.at("metrics_files").get<std::vector<std::string>>();
        spec.report_file = j.at("report_file").get<std::string>();
        return spec;
    } catch (const nlohmann::json::exception& e) {
        return util::fail(util::ErrorCode::bad_input, std::string("bad gate spec: ") + e.what());
    }
}

}  // namespace sluice::stages
