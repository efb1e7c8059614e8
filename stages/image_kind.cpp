// The image stage kind.
#include "stages/image_kind.hpp"

#include <algorithm>

#include "runner/oci/image_builder.hpp"
#include "runner/oci/reference.hpp"
#include "runner/pipeline/model_names.hpp"
#include "runner/util/beneath.hpp"
#include "stages/config_text.hpp"
#include "stages/registry_access.hpp"
#include "stages/shell_command.hpp"

namespace sluice::stages {

namespace {

std::filesystem::path report_file(const StageContext& context) {
    return context.scratch / "image-report.json";
}

util::Status bad(const std::string& message) {
    return util::fail(util::ErrorCode::bad_input, message);
}

}  // namespace

std::filesystem::path image_layout_dir(const std::filesystem::path& scratch) {
    return scratch / "image";
}

util::Result<std::optional<exec::ProcessSpec>> ImageKind::prepare(
    const StageContext& context) const {
    const nlohmann::json& config = context.config;
    oci::BuildSpec spec;
    spec.stage = context.stage.name;
    spec.workspace = context.workspace;

    std::filesystem::path rel = std::filesystem::path(config_text(config, "context")).lexically_normal();
    if (rel.is_absolute() || (!rel.empty() && *rel.begin() == "..")) {
        return std::unexpected(bad("`context` must be a directory inside the workspace, got " +
                                   config_text(config, "context")).error());
    }
    // The context is read by a process of its own, by path: it must not be (or sit
    // behind) a link out of the workspace. Links inside it are layered as links.
    auto workspace = util::open_root(context.workspace);
    if (!workspace) return std::unexpected(workspace.error());
    if (auto beneath = util::check_beneath(workspace->get(), rel.generic_string(), "the workspace");
        !beneath) {
        return std::unexpected(bad("`context`: " + beneath.error().message).error());
    }
    spec.context = (context.workspace / rel).lexically_normal();
    if (config.contains("ignore")) spec.ignore = config["ignore"].get<std::vector<std::string>>();

    spec.tag = config_text(config, "tag");
    spec.ref_name = "latest";
    if (!spec.tag.empty()) {
        auto ref = oci::parse_reference(spec.tag);
        if (!ref) return std::unexpected(bad("`tag`: " + ref.error().message).error());
        if (!ref->tag.empty()) spec.ref_name = ref->tag;
    }
    std::string base = config_text(config, "base");
    spec.base = base.empty() ? "scratch" : base;

    std::string builder = config_text(config, "builder");
    if (builder.empty() || builder == "sluice") {
        if (!context.run.empty()) {
            return std::unexpected(
                bad("`run` on an image stage needs `builder: command` (the run lines build the "
                    "image)").error());
        }
        spec.settings.entrypoint = config.value("entrypoint", nlohmann::json());
        spec.settings.cmd = config.value("cmd", nlohmann::json());
        if (config.contains("env")) {
            spec.settings.env = config["env"].get<std::map<std::string, std::string>>();
        }
        spec.settings.workdir = config_text(config, "workdir");
        if (config.contains("expose")) {
            spec.settings.expose = config["expose"].get<std::vector<std::string>>();
        }
        if (config.contains("labels")) {
            spec.settings.labels = config["labels"].get<std::map<std::string, std::string>>();
        }
        spec.settings.created_by = "sluice image " + context.stage.name + " (context " +
                                   rel.generic_string() + ")";
    } else {
        for (const char* key : {"base", "entrypoint", "cmd", "env", "workdir", "expose", "labels"}) {
            if (config.contains(key)) {
                return std::unexpected(bad(std::string("`") + key +
                                           "` does not apply when a builder command builds the "
                                           "image (put it in the command's own file)").error());
            }
        }
        std::vector<std::string> lines = context.run;
        if (builder != "command") {
            if (!lines.empty()) {
                return std::unexpected(
                    bad("give the builder command either in `builder:` or in `run:` with "
                        "`builder: command`, not both").error());
            }
            lines = {builder};
        } else if (lines.empty()) {
            return std::unexpected(bad("`builder: command` needs `run:` lines that build the "
                                       "image into $SLUICE_IMAGE_LAYOUT").error());
        }
        spec.builder_argv = command_argv(lines, context.pipeline.shell_of(context.stage));
    }
    // Labels every image gets (the stage's own labels may not override them).
    if (!context.commit.empty()) spec.settings.labels["org.opencontainers.image.revision"] = context.commit;
    spec.settings.labels["sluice.run"] = context.run_id;
    spec.settings.labels["sluice.pipeline"] = context.pipeline.name;

    spec.layout = image_layout_dir(context.scratch);
    spec.insecure = insecure_registries(context);
    spec.docker_config = docker_config_file(context);
    spec.locations_file = blob_locations_file(context);
    spec.report_file = report_file(context);
    spec.state_dir = context.state_dir;
    spec.run_id = context.run_id;
    for (const pipeline::Stage* up : pipeline::upstream_stages(context.pipeline, context.stage)) {
        if (!up->metrics) continue;
        for (const auto& m : pipeline::metrics_models(context.pipeline, *up)) {
            if (std::find(spec.models.begin(), spec.models.end(), m) == spec.models.end()) {
                spec.models.push_back(m);
            }
        }
    }
    auto process = internal_process(context, "image-build", "image-spec.json", oci::to_json(spec),
                                    spec.report_file);
    if (!process) return std::unexpected(process.error());
    return std::optional(std::move(*process));
}

StageResult ImageKind::finish(const StageContext& context,
                              const exec::ProcessOutcome* outcome) const {
    return internal_result(context, outcome, report_file(context));
}

}  // namespace sluice::stages
