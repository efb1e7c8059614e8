// The deploy stage kind.
#include "stages/deploy_kind.hpp"

#include <cstdlib>

#include "runner/access/access_store.hpp"
#include "runner/access/authenticate.hpp"
#include "runner/rules/glob.hpp"
#include "stages/deploy_kubernetes.hpp"
#include "stages/deploy_local.hpp"
#include "stages/script_kind.hpp"

namespace sluice::stages {

util::Status check_environment_write(const pipeline::Pipeline& pipeline,
                                     const std::string& environment, const std::string& branch,
                                     const std::filesystem::path& state_dir) {
    const pipeline::Environment* env = pipeline.environment(environment);
    if (env == nullptr) return {};
    if (!env->branches.empty()) {
        bool allowed = false;
        for (const auto& glob : env->branches) allowed = allowed || rules::glob_match(glob, branch);
        if (!allowed) {
            std::string list;
            for (const auto& b : env->branches) list += (list.empty() ? "" : ", ") + b;
            return util::fail(util::ErrorCode::bad_input,
                              "environment " + environment + " takes deployments from " + list +
                                  " only; this run is " +
                                  (branch.empty() ? std::string("on no branch")
                                                  : "on " + branch));
        }
    }
    if (env->is_protected) {
        util::SystemClock clock;
        auto store = access::AccessStore::open(access::AccessStore::file_in(state_dir), clock);
        if (!store) return std::unexpected(store.error());
        auto snapshot = store->read();
        if (!snapshot) return std::unexpected(snapshot.error());
        if (snapshot->find_environment(environment) == nullptr) {
            // Protected, yet no token to check against: fail closed.
            return util::fail(util::ErrorCode::bad_input,
                              "environment " + environment +
                                  " is protected but has no token yet (`sluice access protect " +
                                  environment + "` makes one); nothing is written to it");
        }
        const char* presented = std::getenv("SLUICE_PROD_TOKEN");
        auto checked = access::check_environment_token(
            *snapshot, environment,
            presented != nullptr ? std::optional<std::string_view>(presented) : std::nullopt);
        if (!checked) return checked;
    }
    return {};
}

namespace {

std::string target_of(const StageContext& context) {
    auto target = context.config.find("target");
    return target != context.config.end() && target->is_string() ? target->get<std::string>()
                                                                 : std::string("command");
}

}  // namespace

util::Result<std::optional<exec::ProcessSpec>> DeployKind::prepare(
    const StageContext& context) const {
    const std::string& environment = *context.stage.environment;
    if (auto ok = check_environment_write(context.pipeline, environment, context.branch,
                                          context.state_dir);
        !ok) {
        return std::unexpected(ok.error());
    }
    std::string target = target_of(context);
    if (target == "local") return local_deploy_process(context);
    if (target == "kubernetes") return kubernetes_deploy_process(context);
    if (context.run.empty()) return std::optional<exec::ProcessSpec>();
    return script_process(context);
}

StageResult DeployKind::finish(const StageContext& context,
                               const exec::ProcessOutcome* outcome) const {
    if (outcome == nullptr) return {true, "", {}};  // nothing to run: the record is the deploy
    std::string target = target_of(context);
    if (target == "local") return local_deploy_result(context, *outcome);
    StageResult result = result_of_process(*outcome, context.timeout);
    auto image = context.config.find("image");
    if (image != context.config.end() && image->is_string() && !image->get<std::string>().empty()) {
        result.report["image"] = *image;
    }
    return result;
}

}  // namespace sluice::stages
