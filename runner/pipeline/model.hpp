// The validated pipeline: typed structs the loader builds from sluice.yml. Nothing
// here knows YAML; everything downstream (plan, scheduler, stages) reads only this.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::pipeline {

using Millis = std::chrono::milliseconds;

// 1-based position of a key or value in sluice.yml.
struct Pos {
    int line = 0;
    int column = 0;

    bool operator==(const Pos&) const = default;
};

enum class StageKind { script, gate, image, push, deploy };

const char* to_string(StageKind kind);

struct Retry {
    int max = 0;                // extra attempts after the first
    Millis delay{1000};         // before the first retry; doubles each time, capped
    Millis max_delay{60'000};
};

// `on:` — which events start the pipeline at all. An empty push_branches or
// merge_request_targets (set, but no globs) means every branch: `on: push`,
// `on: [push, merge_request]` and `push: {}` are written that way. `push:` with only
// `tags:` leaves push_branches unset: branch pushes do not start the pipeline.
struct Triggers {
    bool any = true;                                    // no `on:`: every event
    std::optional<std::vector<std::string>> push_branches;       // set => push runs
    std::optional<std::vector<std::string>> merge_request_targets;
    bool manual = true;                                 // `sluice run` by hand
    std::vector<std::string> tags;                      // push of these tag globs
    bool all_tags = false;                              // push of any tag (`on: push`)
};

// A stage's `when:` — whether it runs for a given event (recorded `skipped` if not).
struct When {
    std::vector<std::string> events;          // push, merge_request, manual, ...
    std::vector<std::string> branches;        // globs
    std::vector<std::string> target_branches; // globs, merge requests
    std::vector<std::string> changes;         // path globs
    Pos pos;
};

struct Approval {
    int required = 1;
    std::vector<std::string> approvers;       // users or groups
    bool self_approval = false;
    std::optional<Millis> timeout;
    Pos pos;
};

struct Promote {
    std::string model;
    std::string alias;
    Pos pos;
};

// An ordered list of NAME=value pairs (order is kept for reproducible environments).
using VarList = std::vector<std::pair<std::string, std::string>>;

struct Stage {
    std::string name;
    Pos pos;                                  // of the stage's key
    StageKind kind = StageKind::script;

    // Commands. A string is one shell line; a list is run line by line, stopping at
    // the first that fails (as GitLab's script:).
    std::vector<std::string> run;
    Pos run_pos;

    std::vector<std::string> needs;
    std::vector<Pos> needs_pos;               // one per entry in needs

    VarList env;                              // the stage's own variables
    bool inherit_all_env = false;             // `env: inherit` / `inherit_env: true`
    std::vector<std::string> inherit_env;     // `inherit_env: [NAMES]`

    std::optional<Millis> timeout;            // falls back to defaults.timeout
    std::optional<Retry> retry;               // falls back to defaults.retry
    bool allow_failure = false;
    std::optional<std::string> shell;         // falls back to defaults.shell

    std::vector<std::string> inputs;
    std::vector<std::string> outputs;
    bool cache = true;                        // `cache: false`: run even when inputs are unchanged
    std::optional<std::string> metrics;
    std::map<std::string, std::string> reports;  // e.g. junit: reports/unit.xml

    std::optional<When> when;
    std::optional<std::string> environment;
    std::optional<Approval> approval;
    std::optional<Promote> promote;

    // Kind-specific keys (gate's require/registry/model, image's context/tag, ...),
    // already checked by the loader for names and types, kept for the stage kind.
    nlohmann::json config = nlohmann::json::object();
};

// `environments:` — where deploy stages deploy to, and the rules for it.
struct Environment {
    std::string name;
    std::vector<std::string> branches;   // globs; empty: any branch
    bool is_protected = false;           // writes need its token (access/environment_token.hpp)
    std::optional<Approval> approval;    // for every deploy to it (a stage's own wins)
    std::string alias;                   // the registry alias it moves (default: its name)
    Pos pos;
};

struct Defaults {
    Millis timeout{std::chrono::hours(1)};
    Retry retry;
    std::string shell = "sh";
};

struct Pipeline {
    std::string name;
    std::string file;        // path the pipeline was read from (for messages)
    Triggers on;
    VarList variables;
    Defaults defaults;
    std::vector<Environment> environments;
    std::vector<Stage> stages;  // in file order

    const Environment* environment(const std::string& env_name) const;

    const Stage* find(const std::string& stage_name) const;
    int index_of(const std::string& stage_name) const;  // -1 when absent

    Millis timeout_of(const Stage& stage) const {
        return stage.timeout.value_or(defaults.timeout);
    }
    Retry retry_of(const Stage& stage) const { return stage.retry.value_or(defaults.retry); }
    const std::string& shell_of(const Stage& stage) const {
        return stage.shell ? *stage.shell : defaults.shell;
    }
};

}  // namespace sluice::pipeline
