// The gate stage kind.
#include "stages/gate_kind.hpp"

#include <fstream>
#include <sstream>

#include "runner/pipeline/model_names.hpp"
#include "stages/config_text.hpp"
#include "stages/gate_spec.hpp"
#include "stages/script_kind.hpp"

namespace sluice::stages {

namespace {

std::filesystem::path spec_file(const StageContext& context) {
    return context.scratch / "gate-spec.json";
}
std::filesystem::path report_file(const StageContext& context) {
    return context.scratch / "gate-report.json";
}

}  // namespace

util::Result<std::optional<exec::ProcessSpec>> GateKind::prepare(
    const StageContext& context) const {
    const nlohmann::json& config = context.config;
    GateSpec spec;
    spec.stage = context.stage.name;
    spec.registry = config.contains("registry") ? config["registry"] : nlohmann::json("builtin");
    spec.model = config_text(config, "model");
    if (spec.model.empty()) spec.model = pipeline::gate_model(context.pipeline, context.stage);
    std::string candidate = config_text(config, "candidate");
    if (!candidate.empty()) spec.candidate = candidate;
    std::string champion = config_text(config, "champion");
    spec.champion_given = !champion.empty();
    if (spec.champion_given) spec.champion = champion;
    spec.pass_without_champion = config_text(config, "if_no_champion") != "fail";
    if (config.contains("require")) {
        for (const auto& rule : config["require"]) {
            if (rule.is_string()) spec.rules.push_back(rule.get<std::string>());
        }
    }
    spec.run_id = context.run_id;
    spec.state_dir = context.state_dir;
    spec.workspace = context.workspace;
    for (const pipeline::Stage* up : pipeline::upstream_stages(context.pipeline, context.stage)) {
        if (up->metrics) spec.metrics_files.push_back(*up->metrics);
    }
    spec.report_file = report_file(context);

    std::error_code ec;
    std::filesystem::create_directories(context.scratch, ec);
    if (ec) {
        return util::fail(util::ErrorCode::io,
                          "cannot create " + context.scratch.string() + ": " + ec.message());
    }
    std::filesystem::remove(spec.report_file, ec);
    {
        std::ofstream out(spec_file(context), std::ios::trunc);
        out << to_json(spec).dump(2) << "\n";
        out.close();
        if (!out) {
            return util::fail(util::ErrorCode::io,
                              "cannot write " + spec_file(context).string());
        }
    }
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return util::fail(util::ErrorCode::io, "cannot find the sluice executable");

    exec::ProcessSpec process;
    process.argv = {self.string(), "gate-eval", spec_file(context).string()};
    process.env = context.env;
    process.cwd = context.workspace;
    process.timeout = context.timeout;
    return process;
}

StageResult GateKind::finish(const StageContext& context,
                             const exec::ProcessOutcome* outcome) const {
    if (outcome == nullptr) return {false, "the gate did not run", {}};
    StageResult process = result_of_process(*outcome, context.timeout);
    std::ifstream in(report_file(context));
    std::stringstream text;
    text << in.rdbuf();
    auto report = nlohmann::json::parse(text.str(), nullptr, false);
    if (!in || report.is_discarded() || !report.is_object() || !report.contains("passed")) {
        // Fail closed: a gate that left no whole report did not pass.
        std::string why = process.ok ? "the gate left no report" : process.reason;
        return {false, "gate failed closed: " + why, {}};
    }
    StageResult result;
    result.report = report;
    result.ok = process.ok && report["passed"] == true;
    if (!result.ok) {
        std::string summary = report.value("summary", std::string("gate failed"));
        result.reason = process.ok || report["passed"] != true ? summary : process.reason;
    }
    return result;
}

}  // namespace sluice::stages
