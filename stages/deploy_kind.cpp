// The deploy stage kind.
#include "stages/deploy_kind.hpp"

#include "runner/rules/glob.hpp"
#include "stages/deploy_kubernetes.hpp"
#include "stages/deploy_local.hpp"
#include "stages/script_kind.hpp"

namespace sluice::stages {

util::Status check_branch_rule(const pipeline::Pipeline& pipeline, const std::string& environment,
                               const std::vector<std::string>& branches_with_commit,
                               const std::string& commit, bool uncommitted) {
    const pipeline::Environment* env = pipeline.environment(environment);
    if (env == nullptr || env->branches.empty()) return {};
    std::string list;
    for (const auto& b : env->branches) list += (list.empty() ? "" : ", ") + b;
    std::string rule = "environment " + environment + " takes deployments from " + list + " only; ";
    if (commit.empty()) {
        return util::fail(util::ErrorCode::bad_input, rule + "this run has no commit");
    }
    if (uncommitted) {
        return util::fail(util::ErrorCode::bad_input,
                          rule + "this run has uncommitted changes, which are on no branch "
                                 "(commit them, or run a commit instead of --worktree)");
    }
    for (const auto& branch : branches_with_commit) {
        for (const auto& glob : env->branches) {
            if (rules::glob_match(glob, branch)) return {};
        }
    }
    return util::fail(util::ErrorCode::bad_input,
                      rule + "commit " + commit.substr(0, 8) + " is on none of them");
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
    if (auto ok = check_branch_rule(context.pipeline, environment, context.branches_with_commit,
                                    context.commit, context.uncommitted);
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
