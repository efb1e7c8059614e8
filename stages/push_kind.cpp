// The push stage kind.
#include "stages/push_kind.hpp"

#include <algorithm>

#include "runner/oci/image_layout.hpp"
#include "runner/oci/push_spec.hpp"
#include "runner/oci/reference.hpp"
#include "runner/pipeline/model_names.hpp"
#include "stages/config_text.hpp"
#include "stages/registry_access.hpp"

namespace sluice::stages {

namespace {

std::filesystem::path report_file(const StageContext& context) {
    return context.scratch / "push-report.json";
}

std::unexpected<util::Error> bad(const std::string& message) {
    return util::fail(util::ErrorCode::bad_input, message);
}

// The image stage to push: `image:` when it names one, else the one image stage this
// stage needs (directly, else through others).
util::Result<const pipeline::Stage*> image_stage(const StageContext& context,
                                                 const std::string& named) {
    auto upstream = pipeline::upstream_stages(context.pipeline, context.stage);
    if (!named.empty()) {
        for (const pipeline::Stage* s : upstream) {
            if (s->name == named) {
                if (s->kind != pipeline::StageKind::image) {
                    return bad("`image: " + named + "` is not an image stage");
                }
                return s;
            }
        }
        for (const auto& s : context.pipeline.stages) {
            if (s.name == named) {
                return bad("`image: " + named + "`: the push must need that stage (needs: [" +
                           named + "])");
            }
        }
        return nullptr;  // not a stage: a layout
    }
    std::vector<const pipeline::Stage*> direct, all;
    for (const pipeline::Stage* s : upstream) {
        if (s->kind != pipeline::StageKind::image) continue;
        all.push_back(s);
        for (const auto& n : context.stage.needs) {
            if (n == s->name) direct.push_back(s);
        }
    }
    const auto& pick = direct.empty() ? all : direct;
    if (pick.size() == 1) return pick.front();
    if (pick.empty()) {
        return bad("a push stage needs an image stage (needs: [IMAGE-STAGE]) or `image:` naming "
                   "an OCI layout");
    }
    return bad("this push needs several image stages; say which with `image: STAGE`");
}

}  // namespace

util::Result<std::optional<exec::ProcessSpec>> PushKind::prepare(
    const StageContext& context) const {
    const nlohmann::json& config = context.config;
    oci::PushSpec spec;
    spec.stage = context.stage.name;
    std::string source_tag;
    auto stage = image_stage(context, config_text(config, "image"));
    if (!stage) return std::unexpected(stage.error());
    if (*stage != nullptr) {
        auto outputs = context.upstream_outputs.find((*stage)->name);
        if (outputs == context.upstream_outputs.end() || !outputs->second.contains("layout")) {
            return bad("image stage " + (*stage)->name + " left no image (no `layout` output)");
        }
        spec.layout = outputs->second["layout"].get<std::string>();
        spec.ref_name = outputs->second.value("ref", std::string());
        source_tag = outputs->second.value("tag", std::string());
    } else {
        auto ref = oci::parse_layout_reference(config_text(config, "image"));
        spec.layout = ref.dir.is_relative() ? context.workspace / ref.dir : ref.dir;
        spec.ref_name = ref.ref_name;
    }
    spec.destination = config_text(config, "tag");
    if (spec.destination.empty()) spec.destination = source_tag;
    if (spec.destination.empty()) {
        return bad("no destination: give the push a `tag:` (registry/repository:tag), or the "
                   "image stage a `tag:`");
    }
    auto destination = oci::parse_reference(spec.destination);
    if (!destination) return bad("`tag`: " + destination.error().message);
    spec.destination = destination->to_string();
    spec.insecure = insecure_registries(context);
    spec.docker_config = docker_config_file(context);
    spec.locations_file = blob_locations_file(context);
    spec.report_file = report_file(context);
    if (std::string chunk = stage_or_runner_env(context, "SLUICE_PUSH_CHUNK_SIZE"); !chunk.empty()) {
        try {
            spec.chunk_size = std::stoull(chunk);
        } catch (const std::exception&) {
            return bad("SLUICE_PUSH_CHUNK_SIZE must be a number of bytes, got " + chunk);
        }
    }
    if (std::string tries = stage_or_runner_env(context, "SLUICE_PUSH_ATTEMPTS"); !tries.empty()) {
        try {
            spec.attempts = std::clamp(std::stoi(tries), 1, 20);
        } catch (const std::exception&) {
            return bad("SLUICE_PUSH_ATTEMPTS must be a number, got " + tries);
        }
    }

    // Credentials travel in the process's environment, never in the spec file.
    exec::Environment secrets;
    auto credentials = config.find("credentials");
    if (credentials != config.end() && credentials->is_object()) {
        std::string user = credentials->value("username", std::string());
        std::string password = credentials->value("password", std::string());
        if (std::string from = credentials->value("password_env", std::string()); !from.empty()) {
            password = stage_or_runner_env(context, from);
        }
        if (user.empty()) return bad("`credentials` needs `username`");
        secrets = {{"SLUICE_REGISTRY_USERNAME", user}, {"SLUICE_REGISTRY_PASSWORD", password}};
    } else if (credentials != config.end() && credentials->is_string()) {
        std::string prefix = credentials->get<std::string>();
        std::string user = stage_or_runner_env(context, prefix + "_USERNAME");
        std::string password = stage_or_runner_env(context, prefix + "_PASSWORD");
        if (user.empty()) {
            return bad("`credentials: " + prefix + "`: $" + prefix + "_USERNAME is not set (pass it with env: or inherit_env:)");
        }
        secrets = {{"SLUICE_REGISTRY_USERNAME", user}, {"SLUICE_REGISTRY_PASSWORD", password}};
    }
    auto process = internal_process(context, "push", "push-spec.json", oci::to_json(spec),
                                    spec.report_file);
    if (!process) return std::unexpected(process.error());
    std::erase_if(process->env, [](const auto& kv) {
        return kv.first == "SLUICE_REGISTRY_USERNAME" || kv.first == "SLUICE_REGISTRY_PASSWORD";
    });
    process->env.insert(process->env.end(), secrets.begin(), secrets.end());
    return std::optional(std::move(*process));
}

StageResult PushKind::finish(const StageContext& context,
                             const exec::ProcessOutcome* outcome) const {
    StageResult result = internal_result(context, outcome, report_file(context));
    if (result.ok && (!result.report.contains("digest") || !result.report["digest"].is_string())) {
        return {false, "failed closed: the push left no digest", result.report};
    }
    return result;
}

}  // namespace sluice::stages
