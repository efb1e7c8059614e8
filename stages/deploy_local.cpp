// The local target of the deploy stage kind.
#include "stages/deploy_local.hpp"

#include <fstream>
#include <sstream>

#include "runner/deploy/local_deploy.hpp"
#include "runner/deploy/supervisor.hpp"
#include "runner/exec/platform_linux.hpp"
#include "runner/pipeline/duration.hpp"
#include "runner/util/atomic_file.hpp"
#include "stages/config_text.hpp"
#include "stages/script_kind.hpp"
#include "stages/shell_command.hpp"

namespace sluice::stages {

namespace {

std::filesystem::path spec_file(const StageContext& context) {
    return context.scratch / "deploy-spec.json";
}
std::filesystem::path result_file(const StageContext& context) {
    return context.scratch / "deploy-result.json";
}

}  // namespace

util::Result<exec::Millis> health_timeout_of(const StageContext& context) {
    std::string text = config_text(context.config, "health_timeout");
    if (!text.empty()) {
        auto parsed = pipeline::parse_duration(text);
        if (!parsed) {
            return util::fail(util::ErrorCode::bad_input,
                              "health_timeout: `" + text + "` is not a duration (e.g. 30s, 2m)");
        }
        return *parsed;
    }
    if (context.timeout.count() > 0) {
        // Leave the stage time to stop the candidate and report before its own timeout.
        auto margin = std::min(context.timeout / 4, exec::Millis(10'000));
        return context.timeout - margin;
    }
    return exec::Millis(60'000);
}

util::Result<exec::ProcessSpec> local_deploy_process(const StageContext& context) {
    deploy::LocalDeploySpec spec;
    spec.environment = *context.stage.environment;
    spec.deployment = "r" + context.run_id + "-" + context.stage.name +
                      (context.attempt > 1 ? "-" + std::to_string(context.attempt) : "");
    spec.state_dir = context.state_dir;
    spec.workspace = context.workspace;
    std::string image = config_text(context.config, "image");
    if (!image.empty()) {
        std::filesystem::path layout(image);
        if (layout.is_relative()) layout = context.workspace / layout;
        if (!std::filesystem::is_directory(layout)) {
            return util::fail(util::ErrorCode::bad_input,
                              "image: " + image +
                                  " is not a directory; target: local runs an OCI image layout "
                                  "(e.g. ${{ stages.image.outputs.layout }}), not a registry "
                                  "reference");
        }
        spec.image = layout.string();
    }
    if (!context.run.empty()) {
        spec.command = command_argv(context.run, context.pipeline.shell_of(context.stage));
    }
    if (spec.image.empty() && spec.command.empty()) {
        return util::fail(util::ErrorCode::bad_input,
                          "target: local needs image: (an OCI image layout) or run: (the "
                          "service's command line)");
    }
    spec.env = context.env;
    for (const auto& [k, v] : context.env) {
        if (k == "SLUICE_OUTPUT") spec.output_file = v;
    }
    spec.health_url = config_text(context.config, "health_url");
    auto timeout = health_timeout_of(context);
    if (!timeout) return std::unexpected(timeout.error());
    spec.health_timeout_ms = timeout->count();
    spec.result_file = result_file(context);

    std::error_code ec;
    std::filesystem::create_directories(context.scratch, ec);
    std::filesystem::remove(spec.result_file, ec);
    if (auto written =
            util::write_file_atomically(spec_file(context), to_json(spec).dump(2) + "\n");
        !written) {
        return std::unexpected(written.error());
    }
    auto self = exec::platform::current_executable();
    if (!self) return std::unexpected(self.error());
    if (auto running = deploy::ensure_supervisor(context.state_dir, *self); !running) {
        return std::unexpected(running.error());
    }
    exec::ProcessSpec process;
    process.argv = {self->string(), "internal", "deploy-local", spec_file(context).string()};
    process.env = context.env;
    process.cwd = context.workspace;
    process.timeout = context.timeout;
    return process;
}

StageResult local_deploy_result(const StageContext& context, const exec::ProcessOutcome& outcome) {
    StageResult result = result_of_process(outcome, context.timeout);
    std::ifstream in(result_file(context));
    std::stringstream text;
    text << in.rdbuf();
    auto report = nlohmann::json::parse(text.str(), nullptr, false);
    if (!in || report.is_discarded() || !report.is_object()) {
        if (result.ok) return {false, "the local deployment left no result", {}};
        return result;
    }
    if (report.contains("error")) {
        result.ok = false;
        result.reason = report["error"].get<std::string>();
        return result;
    }
    if (!result.ok) return result;
    result.report["image"] = report.value("image", std::string());
    report.erase("image");
    result.report["service"] = report;
    return result;
}

}  // namespace sluice::stages
