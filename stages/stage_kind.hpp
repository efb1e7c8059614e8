// The one interface every stage kind implements. A kind gets a context (the stage,
// its resolved commands, environment and config) and returns a result; it never
// touches the run store or the terminal — the engine does that with what it returns.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runner/exec/process.hpp"
#include "runner/pipeline/model.hpp"
#include "runner/util/error.hpp"

namespace sluice::stages {

struct StageContext {
    const pipeline::Pipeline& pipeline;
    const pipeline::Stage& stage;
    std::filesystem::path workspace;      // where the stage runs
    exec::Environment env;                // complete environment, expressions resolved
    std::vector<std::string> run;         // the stage's lines, expressions resolved
    nlohmann::json config;                // kind-specific keys, expressions resolved
    exec::Millis timeout{0};
    int attempt = 1;
    std::string run_id;                   // the run this stage belongs to
    std::string commit;                   // the run's commit sha (empty outside git)
    std::string branch;                   // the run's branch (empty when none)
    std::filesystem::path state_dir;      // sluice's state directory (registry.db, ...)
    std::filesystem::path scratch;        // a directory of this stage's own, for its files
    // The $SLUICE_OUTPUT values of the stages this one needs (directly or through
    // others), by stage name: how a push finds the image stage's layout. Filled for
    // push stages only.
    std::map<std::string, nlohmann::json> upstream_outputs = {};
    // For `branches:` of environments: the repository's branches (those some
    // environment's globs match) whose tip is the run's commit or contains it, found
    // when the run was set up (a kind never reads git itself); and whether the run's
    // files differ from its commit (a --worktree run with uncommitted changes).
    std::vector<std::string> branches_with_commit = {};
    bool uncommitted = false;
};

struct StageResult {
    bool ok = false;
    std::string reason;                   // why it failed, for people
    nlohmann::json report = nlohmann::json::object();  // kind-specific (gate rules, ...)
};

class StageKind {
public:
    virtual ~StageKind() = default;
    // The process to run, or nullopt for a kind that works in-process.
    virtual util::Result<std::optional<exec::ProcessSpec>> prepare(
        const StageContext& context) const = 0;
    // The stage's result from its process's outcome (nullptr when none ran).
    virtual StageResult finish(const StageContext& context,
                               const exec::ProcessOutcome* outcome) const = 0;
};

// The kinds this sluice can run, by pipeline::StageKind.
class KindRegistry {
public:
    void add(pipeline::StageKind kind, std::unique_ptr<StageKind> implementation);
    // nullptr when this version of sluice cannot run the kind.
    const StageKind* find(pipeline::StageKind kind) const;

private:
    std::map<pipeline::StageKind, std::unique_ptr<StageKind>> kinds_;
};

// Every kind implemented so far.
KindRegistry default_kinds();

}  // namespace sluice::stages
