// Rules: whether a trigger (a push, a merge request, a manual run) starts the
// pipeline at all (`on:`), and whether each stage runs or is recorded `skipped`
// (`when:`). Pure functions of the pipeline model and the trigger; every decision
// carries the reason a user sees (`sluice run --dry-run`, a skipped stage's reason).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runner/pipeline/model.hpp"

namespace sluice::rules {

// What happened, as the rules see it. Branch names are short (`main`, not
// `refs/heads/main`).
struct Trigger {
    std::string event;          // push, merge_request, manual
    std::string branch;         // the commit's branch (a merge request's source branch);
                                // empty: detached HEAD or a tag push
    std::string target_branch;  // merge requests: the branch it merges into
    std::string tag;            // set only for a push of refs/tags/TAG (a tag push)
    // Files changed by the push or merge request (paths relative to the repository
    // root, `/`-separated). nullopt: unknown (no base to compare with, e.g. a new
    // branch or a manual run); `when.changes` is then taken as met, as GitLab does.
    std::optional<std::vector<std::string>> changed_files;
};

struct Decision {
    bool yes = false;
    std::string why;
};

// Whether the trigger starts a run of a pipeline with these `on:` triggers, e.g.
// {true, "push to feature/x matches `feature/*`"} or
// {false, "push to wip is not in on.push.branches [main, develop]"}.
Decision starts_pipeline(const pipeline::Triggers& on, const Trigger& trigger);

// Whether a stage with this `when:` runs for the trigger. Every condition listed must
// hold; within one list any entry may match. A `no` reason is the stage's `skipped`
// reason ("when.branch [main] does not match feature/x"); a `yes` reason says which
// conditions held.
Decision stage_runs(const pipeline::When& when, const Trigger& trigger);

struct StageDecision {
    std::string stage;
    Decision decision;
};

// stage_runs for every stage of the pipeline, in file order (a stage without `when:`
// always runs). A stage skipped by its rules still satisfies the stages that need it
// (the scheduler's preset); this does not cascade.
std::vector<StageDecision> stage_decisions(const pipeline::Pipeline& pipeline,
                                           const Trigger& trigger);

// "push to main", "push of tag v1.2", "merge request from feature/x into main",
// "manual run on main": the trigger in words, for headers and reasons.
std::string describe(const Trigger& trigger);

}  // namespace sluice::rules
