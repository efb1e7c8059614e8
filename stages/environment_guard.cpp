// The environments a write touches, checked against the access file.
#include "stages/environment_guard.hpp"

#include <algorithm>

#include "runner/access/access_store.hpp"
#include "runner/util/clock.hpp"

namespace sluice::stages {

namespace {

void add(std::vector<GuardedEnvironment>& out, const pipeline::Pipeline* pipeline,
         const std::string& name) {
    auto known = std::ranges::find(out, name, &GuardedEnvironment::name);
    if (known != out.end()) return;
    const pipeline::Environment* env = pipeline != nullptr ? pipeline->environment(name) : nullptr;
    out.push_back({name, env != nullptr && env->is_protected});
}

}  // namespace

std::vector<GuardedEnvironment> environments_of_alias(const pipeline::Pipeline* pipeline,
                                                      const std::string& alias) {
    std::vector<GuardedEnvironment> out;
    add(out, pipeline, alias);
    if (pipeline == nullptr) return out;
    for (const auto& env : pipeline->environments) {
        if (env.alias == alias) add(out, pipeline, env.name);
    }
    for (const auto& stage : pipeline->stages) {
        if (stage.kind == pipeline::StageKind::deploy && stage.environment && stage.promote &&
            stage.promote->alias == alias) {
            add(out, pipeline, *stage.environment);
        }
    }
    return out;
}

std::vector<GuardedEnvironment> environments_of_deploy(const pipeline::Pipeline& pipeline,
                                                       const pipeline::Stage& stage) {
    std::vector<GuardedEnvironment> out;
    if (stage.environment) add(out, &pipeline, *stage.environment);
    if (stage.promote) {
        for (auto& env : environments_of_alias(&pipeline, stage.promote->alias)) {
            add(out, &pipeline, env.name);
        }
    }
    return out;
}

util::Result<std::vector<std::string>> check_environment_writes(
    const std::filesystem::path& state_dir, const std::vector<GuardedEnvironment>& environments,
    const access::VariableLookup& variables) {
    std::vector<std::string> warnings;
    if (environments.empty()) return warnings;
    util::SystemClock clock;
    auto store = access::AccessStore::open(access::AccessStore::file_in(state_dir), clock);
    if (!store) return std::unexpected(store.error());  // unreadable: fail closed
    auto snapshot = store->read();
    if (!snapshot) return std::unexpected(snapshot.error());
    for (const auto& env : environments) {
        auto checked =
            access::check_environment_write(*snapshot, env.name, env.declared_protected, variables);
        if (!checked) return std::unexpected(checked.error());
        for (auto& w : *checked) {
            if (std::ranges::find(warnings, w) == warnings.end()) warnings.push_back(std::move(w));
        }
    }
    return warnings;
}

}  // namespace sluice::stages
