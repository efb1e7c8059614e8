// The `on:` and `when:` decisions and the words that explain them.
#include "runner/rules/rules.hpp"

#include <algorithm>

#include "runner/rules/glob.hpp"

namespace sluice::rules {

namespace {

std::string backticked(const std::string& pattern) { return "`" + pattern + "`"; }

// A glob list that must match `name`. `what` is the trigger in words ("push to main"),
// `list_name` the key as users write it (on.push.branches).
Decision match_filter(const std::vector<std::string>& patterns, const std::string& name,
                      const std::string& what, const std::string& list_name) {
    ListMatch m = match_list(patterns, name);
    if (m.matched) {
        if (m.pattern.empty()) {
            return {true, what + " is not excluded by " + list_name + " " + format_list(patterns)};
        }
        return {true, what + " matches " + backticked(m.pattern)};
    }
    if (!m.pattern.empty()) return {false, what + " is excluded by " + backticked(m.pattern)};
    return {false, what + " is not in " + list_name + " " + format_list(patterns)};
}

Decision branch_push(const pipeline::Triggers& on, const std::string& branch) {
    const std::string what = "push to " + (branch.empty() ? "a detached HEAD" : branch);
    if (!on.push_branches) {
        if (!on.tags.empty() || on.all_tags) {
            return {false, what + ": on.push lists only tags " + format_list(on.tags) +
                               ", so branch pushes do not start the pipeline"};
        }
        return {false, what + ": push events do not start this pipeline (`on:` has no push)"};
    }
    if (on.push_branches->empty()) return {true, what + ": on.push covers every branch"};
    if (branch.empty()) {
        return {false, what + " (no branch) cannot match on.push.branches " +
                           format_list(*on.push_branches)};
    }
    return match_filter(*on.push_branches, branch, what, "on.push.branches");
}

Decision tag_push(const pipeline::Triggers& on, const std::string& tag) {
    const std::string what = "push of tag " + tag;
    if (on.all_tags) return {true, what + ": on.push covers every tag"};
    if (on.tags.empty()) {
        return {false, what + ": tag pushes do not start this pipeline (no on.push.tags)"};
    }
    return match_filter(on.tags, tag, what, "on.push.tags");
}

Decision merge_request(const pipeline::Triggers& on, const std::string& target) {
    const std::string what = "merge request into " + (target.empty() ? "?" : target);
    if (!on.merge_request_targets) {
        return {false, "merge requests do not start this pipeline (`on:` has no merge_request)"};
    }
    if (on.merge_request_targets->empty()) {
        return {true, what + ": on.merge_request covers every target branch"};
    }
    if (target.empty()) {
        return {false,
                "a merge request with no target branch cannot match "
                "on.merge_request.target_branches " +
                    format_list(*on.merge_request_targets)};
    }
    return match_filter(*on.merge_request_targets, target, what,
                        "on.merge_request.target_branches");
}

// One `when:` list of branch globs: `key` is when.branch or when.target_branch.
Decision when_branches(const std::vector<std::string>& patterns, const std::string& name,
                       const std::string& key, const std::string& missing) {
    if (name.empty()) return {false, key + " " + format_list(patterns) + " " + missing};
    ListMatch m = match_list(patterns, name);
    if (!m.matched) {
        if (!m.pattern.empty()) {
            return {false, key + " excludes " + name + " (" + backticked(m.pattern) + ")"};
        }
        return {false, key + " " + format_list(patterns) + " does not match " + name};
    }
    const std::string label = key == "when.branch" ? "branch " : "target branch ";
    if (m.pattern.empty()) return {true, label + name + " is not excluded by " + key};
    return {true, label + name + " matches " + backticked(m.pattern)};
}

Decision when_changes(const std::vector<std::string>& patterns,
                      const std::optional<std::vector<std::string>>& changed) {
    const std::string list = "when.changes " + format_list(patterns);
    if (!changed) {
        return {true, "the changed files are unknown (no base commit to compare with), so " + list +
                          " counts as met"};
    }
    for (const std::string& file : *changed) {
        ListMatch m = match_list(patterns, file);
        if (!m.matched) continue;
        std::string why = "changed file " + file;
        why += m.pattern.empty() ? " is not excluded by " + list
                                 : " matches " + backticked(m.pattern) + " (when.changes)";
        return {true, why};
    }
    if (changed->empty()) return {false, "no changed file matches " + list + " (nothing changed)"};
    const std::size_t n = changed->size();
    return {false, "no changed file matches " + list + " (" + std::to_string(n) +
                       (n == 1 ? " file" : " files") + " changed)"};
}

}  // namespace

Decision starts_pipeline(const pipeline::Triggers& on, const Trigger& trigger) {
    if (on.any) {
        return {true, describe(trigger) + ": the pipeline has no `on:`, every event starts it"};
    }
    if (trigger.event == "manual") {
        if (on.manual) return {true, "manual runs are always allowed"};
        return {false, "manual runs are turned off (`on.manual: false`)"};
    }
    if (trigger.event == "push") {
        return trigger.tag.empty() ? branch_push(on, trigger.branch) : tag_push(on, trigger.tag);
    }
    if (trigger.event == "merge_request") return merge_request(on, trigger.target_branch);
    return {false, "unknown event " + backticked(trigger.event) +
                       " (events: push, merge_request, manual)"};
}

Decision stage_runs(const pipeline::When& when, const Trigger& trigger) {
    std::vector<std::string> held;
    if (!when.events.empty()) {
        const std::string list = format_list(when.events);
        if (std::ranges::find(when.events, trigger.event) == when.events.end()) {
            return {false, "event " + trigger.event + " is not in when.event " + list};
        }
        held.push_back("event " + trigger.event + " is in when.event " + list);
    }
    if (!when.branches.empty()) {
        auto d = when_branches(when.branches, trigger.branch, "when.branch",
                               trigger.tag.empty() ? "does not match a detached HEAD (no branch)"
                                                   : "does not match tag " + trigger.tag);
        if (!d.yes) return d;
        held.push_back(std::move(d.why));
    }
    if (!when.target_branches.empty()) {
        auto d = when_branches(when.target_branches, trigger.target_branch, "when.target_branch",
                               trigger.event == "merge_request"
                                   ? "does not match: the merge request has no target branch"
                                   : "needs a merge request; this is a " + trigger.event);
        if (!d.yes) return d;
        held.push_back(std::move(d.why));
    }
    if (!when.changes.empty()) {
        auto d = when_changes(when.changes, trigger.changed_files);
        if (!d.yes) return d;
        held.push_back(std::move(d.why));
    }
    if (held.empty()) return {true, "`when:` lists no conditions"};
    std::string why;
    for (const std::string& h : held) why += (why.empty() ? "" : "; ") + h;
    return {true, why};
}

std::vector<StageDecision> stage_decisions(const pipeline::Pipeline& pipeline,
                                           const Trigger& trigger) {
    std::vector<StageDecision> out;
    out.reserve(pipeline.stages.size());
    for (const pipeline::Stage& stage : pipeline.stages) {
        Decision d = stage.when ? stage_runs(*stage.when, trigger)
                                : Decision{true, "no `when:`, runs for every event"};
        out.push_back({stage.name, std::move(d)});
    }
    return out;
}

std::string describe(const Trigger& trigger) {
    if (trigger.event == "push") {
        if (!trigger.tag.empty()) return "push of tag " + trigger.tag;
        return "push to " + (trigger.branch.empty() ? "a detached HEAD" : trigger.branch);
    }
    if (trigger.event == "merge_request") {
        std::string s = "merge request";
        if (!trigger.branch.empty()) s += " from " + trigger.branch;
        return s + " into " + (trigger.target_branch.empty() ? "?" : trigger.target_branch);
    }
    if (trigger.event == "manual") {
        return trigger.branch.empty() ? "manual run" : "manual run on " + trigger.branch;
    }
    return trigger.event + " event";
}

}  // namespace sluice::rules
