// Shared plumbing of the image and push kinds.
#include "stages/registry_access.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "runner/exec/platform_linux.hpp"
#include "runner/oci/registry_auth.hpp"
#include "runner/util/atomic_file.hpp"
#include "stages/script_kind.hpp"

namespace sluice::stages {

std::string stage_or_runner_env(const StageContext& context, const std::string& name) {
    for (const auto& [key, value] : context.env) {
        if (key == name) return value;
    }
    const char* outer = std::getenv(name.c_str());
    return outer != nullptr ? outer : "";
}

std::vector<std::string> insecure_registries(const StageContext& context) {
    std::string text = stage_or_runner_env(context, "SLUICE_INSECURE_REGISTRIES");
    std::vector<std::string> out;
    std::string current;
    for (char c : text + ",") {
        if (c == ',' || c == ' ' || c == '\t') {
            if (!current.empty()) out.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    return out;
}

std::filesystem::path docker_config_file(const StageContext& context) {
    return oci::docker_config_path(stage_or_runner_env(context, "DOCKER_CONFIG"),
                                   stage_or_runner_env(context, "HOME"));
}

std::filesystem::path blob_locations_file(const StageContext& context) {
    return context.state_dir / "oci" / "blob-locations.json";
}

util::Result<exec::ProcessSpec> internal_process(const StageContext& context,
                                                 const std::string& subcommand,
                                                 const std::string& spec_name,
                                                 const nlohmann::json& spec,
                                                 const std::filesystem::path& report_file) {
    std::error_code ec;
    std::filesystem::create_directories(context.scratch, ec);
    if (ec) {
        return util::fail(util::ErrorCode::io,
                          "cannot create " + context.scratch.string() + ": " + ec.message());
    }
    std::filesystem::remove(report_file, ec);
    auto spec_file = context.scratch / spec_name;
    if (auto written = util::write_file_atomically(spec_file, spec.dump(2) + "\n", 0600); !written) {
        return std::unexpected(written.error());
    }
    auto self = exec::platform::current_executable();
    if (!self) return std::unexpected(self.error());
    exec::ProcessSpec process;
    process.argv = {self->string(), "internal", subcommand, spec_file.string()};
    process.env = context.env;
    process.cwd = context.workspace;
    process.timeout = context.timeout;
    return process;
}

StageResult internal_result(const StageContext& context, const exec::ProcessOutcome* outcome,
                            const std::filesystem::path& report_file) {
    if (outcome == nullptr) return {false, "no process ran", {}};
    StageResult result = result_of_process(*outcome, context.timeout);
    std::ifstream in(report_file);
    std::stringstream text;
    text << in.rdbuf();
    auto report = nlohmann::json::parse(text.str(), nullptr, false);
    bool whole = in && !report.is_discarded() && report.is_object();
    if (whole) result.report = report;
    if (!result.ok) {
        if (whole && report.contains("error") && report["error"].is_string()) {
            result.reason = report["error"].get<std::string>();
        }
        return result;
    }
    if (!whole) return {false, "failed closed: the stage's process left no report", {}};
    return result;
}

}  // namespace sluice::stages
