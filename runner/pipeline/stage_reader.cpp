// One stage's keys: the ones every kind has, typed, and the kind-specific ones, which
// kind_keys.cpp converts into Stage::config.
#include "runner/pipeline/stage_reader.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <set>

#include "runner/pipeline/kind_keys.hpp"
#include "runner/pipeline/workspace_path_checks.hpp"
#include "runner/util/suggest.hpp"

namespace sluice::pipeline {
namespace {

constexpr std::array<std::string_view, 18> k_stage_keys{
    "kind",    "run",     "needs",         "when",        "env",      "inherit_env",
    "timeout", "retry",   "allow_failure", "shell",       "inputs",   "outputs",
    "metrics", "reports", "cache",         "environment", "approval", "promote",
};
constexpr std::array<std::string_view, 5> k_kinds{"script", "gate", "image", "push", "deploy"};
constexpr std::array<std::string_view, 3> k_events{"push", "merge_request", "manual"};
constexpr std::array<std::string_view, 4> k_when_keys{"event", "branch", "target_branch",
                                                      "changes"};
constexpr std::array<std::string_view, 4> k_approval_keys{"required", "approvers", "self_approval",
                                                          "timeout"};
constexpr std::array<std::string_view, 2> k_promote_keys{"model", "alias"};
constexpr std::array<std::string_view, 3> k_retry_keys{"max", "delay", "max_delay"};
constexpr std::array<std::string_view, 1> k_report_kinds{"junit"};
constexpr int k_max_retries = 100;

std::optional<StageKind> kind_from(std::string_view name) {
    for (std::size_t i = 0; i < k_kinds.size(); ++i) {
        if (name == k_kinds[i]) return static_cast<StageKind>(i);
    }
    return std::nullopt;
}

std::string kinds_phrase(const std::vector<StageKind>& kinds) {
    std::string out = kinds.size() == 1 ? "kind " : "kinds ";
    for (std::size_t i = 0; i < kinds.size(); ++i) {
        if (i > 0) out += i + 1 == kinds.size() ? " and " : ", ";
        out += to_string(kinds[i]);
    }
    return out;
}

// Reads the stage's map, key by key.
class StageReader {
  public:
    StageReader(Reader& reader, Stage& stage, const YAML::Node& key, int index)
        : r_(reader), stage_(stage), key_(key), index_(index) {}

    void read(const std::vector<Entry>& entries) {
        kind_known_ = read_kind(entries);
        for (const Entry& e : entries) {
            if (e.key == "kind") continue;
            seen_.insert(e.key);
            auto kinds = kinds_with_key(e.key);
            // A kind's own key wins over a stage key of the same name (image's `env`).
            bool own = kind_known_ && std::ranges::find(kinds, stage_.kind) != kinds.end();
            if (own) {
                read_kind_key(r_, e, stage_.kind, index_, stage_.config);
            } else if (std::ranges::find(k_stage_keys, e.key) != k_stage_keys.end()) {
                read_common(e);
            } else if (!kinds.empty()) {
                // With an unknown kind we cannot tell; the kind's error is enough.
                if (kind_known_) {
                    r_.error(e.key_node,
                             quote(e.key) + " is only valid for " + kinds_phrase(kinds));
                }
            } else {
                std::vector<std::string_view> known(k_stage_keys.begin(), k_stage_keys.end());
                for (auto k : kind_key_names(stage_.kind)) known.push_back(k);
                // `rn: x` is reported once, as a typo, not again as a missing `run`.
                if (auto meant = r_.unknown_key(e, known, "in stage " + quote(stage_.name))) {
                    seen_.insert(*meant);
                    if (*meant == "run") run_given_ = true;
                }
            }
        }
        if (kind_known_) check_required();
    }

  private:
    // Kind decides which keys are valid, so it is read first wherever it is written.
    bool read_kind(const std::vector<Entry>& entries) {
        auto it = std::ranges::find(entries, std::string("kind"), &Entry::key);
        if (it == entries.end()) return true;  // script
        auto name = r_.string(*it);
        if (!name) return false;
        if (auto kind = kind_from(*name)) {
            stage_.kind = *kind;
            return true;
        }
        std::string hint = util::did_you_mean(*name, k_kinds);
        if (hint.empty()) hint = " (kinds: script, gate, image, push, deploy)";
        r_.error(it->value, "unknown kind " + quote(*name) + hint);
        return false;
    }

    void read_common(const Entry& e) {
        const std::string& k = e.key;
        if (k == "run") {
            read_run(e);
        } else if (k == "needs") {
            read_needs(e);
        } else if (k == "when") {
            read_when(e);
        } else if (k == "env") {
            read_env(e);
        } else if (k == "inherit_env") {
            read_inherit_env(e);
        } else if (k == "timeout") {
            if (auto d = r_.duration(e, false)) stage_.timeout = *d;
        } else if (k == "retry") {
            if (auto retry = read_retry(r_, e)) stage_.retry = *retry;
        } else if (k == "allow_failure") {
            if (auto b = r_.boolean(e)) stage_.allow_failure = *b;
        } else if (k == "shell") {
            if (auto s = r_.string(e)) stage_.shell = *s;
        } else if (k == "inputs") {
            if (kind_known_ && stage_.kind != StageKind::script) {
                // `inputs:` makes a stage's result come from the cache when they did not
                // change; a gate, a push or a deploy acts outside the workspace.
                r_.error(e.key_node, std::string("`inputs` is only valid for script stages: a ") +
                                         to_string(stage_.kind) + " stage always runs");
                return;
            }
            if (auto list = r_.strings(e, "path globs")) {
                stage_.inputs = std::move(*list);
                check_workspace_paths(r_, e);
            }
        } else if (k == "outputs") {
            if (auto list = r_.strings(e, "path globs")) {
                stage_.outputs = std::move(*list);
                check_workspace_paths(r_, e);
            }
        } else if (k == "metrics") {
            if (auto s = r_.string(e)) {
                stage_.metrics = *s;
                check_workspace_paths(r_, e);
            }
        } else if (k == "reports") {
            read_reports(e);
        } else if (k == "cache") {
            if (auto b = r_.boolean(e)) stage_.cache = *b;
        } else if (k == "environment") {
            if (auto s = r_.string(e)) stage_.environment = *s;
        } else if (k == "approval") {
            read_approval(e);
        } else if (k == "promote") {
            read_promote(e);
        }
    }

    void read_run(const Entry& e) {
        if (kind_known_ && stage_.kind != StageKind::script && stage_.kind != StageKind::deploy &&
            stage_.kind != StageKind::image) {
            // An image stage's `run:` is its builder command (`builder: command`).
            r_.error(e.key_node, "`run` is only valid for kinds script, deploy and image");
            return;
        }
        stage_.run_pos = r_.pos(r_.where_value(e));
        const YAML::Node& v = e.value;
        if (v.IsNull() || (v.IsScalar() && is_blank(v.Scalar()))) {
            r_.error_at_value(e, "`run` is empty");
            run_given_ = true;  // reported; do not also say it is missing
            return;
        }
        run_given_ = true;
        if (v.IsScalar()) {
            r_.scan_expressions(v, index_);
            stage_.run = {v.Scalar()};
            return;
        }
        if (!v.IsSequence()) {
            r_.error(v, "`run` must be a string or a list of strings, got " + describe(v));
            return;
        }
        if (v.size() == 0) {
            r_.error(v, "`run` is an empty list");
            return;
        }
        std::vector<std::string> lines;
        for (const YAML::Node& item : v) {
            if (item.IsNull() || (item.IsScalar() && is_blank(item.Scalar()))) {
                r_.error(item.IsNull() ? r_.where(v) : r_.where(item), "`run` has an empty line");
            } else if (!item.IsScalar()) {
                r_.error(item,
                         "items of `run` must be strings (shell lines), got " + describe(item));
            } else {
                r_.scan_expressions(item, index_);
                lines.push_back(item.Scalar());
            }
        }
        if (lines.size() == v.size()) stage_.run = std::move(lines);
    }

    void read_needs(const Entry& e) {
        auto names = r_.strings(e, "stage names");
        if (!names) return;
        stage_.needs = std::move(*names);
        if (e.value.IsScalar()) {
            stage_.needs_pos = {r_.pos(e.value)};
            return;
        }
        for (const YAML::Node& item : e.value) stage_.needs_pos.push_back(r_.pos(item));
    }

    void read_when(const Entry& e) {
        if (!e.value.IsMap()) {
            r_.error_at_value(e,
                              "`when` must be a map (event, branch, target_branch, changes), "
                              "got " +
                                  describe(e.value));
            return;
        }
        When when;
        when.pos = r_.pos(e.value);
        for (const Entry& w : r_.entries(e.value, "when")) {
            std::vector<std::string>* target = nullptr;
            if (w.key == "event") target = &when.events;
            if (w.key == "branch") target = &when.branches;
            if (w.key == "target_branch") target = &when.target_branches;
            if (w.key == "changes") target = &when.changes;
            if (target == nullptr) {
                r_.unknown_key(w, k_when_keys, "in `when`");
                continue;
            }
            auto list = r_.strings(w, w.key == "changes" ? "path globs" : "names");
            if (!list) continue;
            if (w.key == "event") check_events(w, *list);
            *target = std::move(*list);
        }
        stage_.when = std::move(when);
    }

    void check_events(const Entry& w, const std::vector<std::string>& events) {
        for (std::size_t i = 0; i < events.size(); ++i) {
            if (std::ranges::find(k_events, events[i]) != k_events.end()) continue;
            const YAML::Node at = w.value.IsSequence() ? w.value[i] : w.value;
            r_.error(at, "unknown event " + quote(events[i]) +
                             util::did_you_mean(events[i], k_events) +
                             " (events: push, merge_request, manual)");
        }
    }

    void read_env(const Entry& e) {
        if (e.value.IsScalar() && e.value.Scalar() == "inherit") {
            stage_.inherit_all_env = true;
            return;
        }
        if (e.value.IsScalar()) {
            r_.error(e.value,
                     "`env` must be a map of NAME: value or `inherit`, got " + describe(e.value));
            return;
        }
        if (auto vars = r_.env_map(e, index_)) stage_.env = std::move(*vars);
    }

    void read_inherit_env(const Entry& e) {
        if (e.value.IsScalar()) {
            if (auto b = r_.boolean(e)) stage_.inherit_all_env = *b;
            return;
        }
        if (!e.value.IsSequence()) {
            r_.error_at_value(e,
                              "`inherit_env` must be true, false or a list of variable "
                              "names, got " +
                                  describe(e.value));
            return;
        }
        auto names = r_.strings(e, "variable names");
        if (!names) return;
        for (std::size_t i = 0; i < names->size(); ++i) {
            if (!is_env_name((*names)[i])) {
                r_.error(e.value[i], quote((*names)[i]) +
                                         " is not a valid environment variable "
                                         "name");
            }
        }
        stage_.inherit_env = std::move(*names);
    }

    void read_reports(const Entry& e) {
        if (!e.value.IsMap()) {
            r_.error_at_value(
                e, "`reports` must be a map like { junit: PATH }, got " + describe(e.value));
            return;
        }
        for (const Entry& rep : r_.entries(e.value, "reports")) {
            if (std::ranges::find(k_report_kinds, rep.key) == k_report_kinds.end()) {
                r_.error(rep.key_node, "unknown report kind " + quote(rep.key) +
                                           util::did_you_mean(rep.key, k_report_kinds) +
                                           " (report kinds: junit)");
                continue;
            }
            if (auto path = r_.string(rep)) stage_.reports[rep.key] = *path;
        }
    }

    void read_approval(const Entry& e) {
        if (auto approval = pipeline::read_approval(r_, e)) stage_.approval = std::move(*approval);
    }

    void read_promote(const Entry& e) {
        if (!e.value.IsMap()) {
            r_.error_at_value(e, "`promote` must be a map { model: NAME, alias: NAME }, got " +
                                     describe(e.value));
            return;
        }
        Promote promote;
        promote.pos = r_.pos(e.value);
        bool has_model = false;
        bool has_alias = false;
        for (const Entry& p : r_.entries(e.value, "promote")) {
            if (p.key == "model") {
                has_model = true;
                if (auto s = r_.string(p)) promote.model = *s;
            } else if (p.key == "alias") {
                has_alias = true;
                if (auto s = r_.string(p)) promote.alias = *s;
            } else {
                r_.unknown_key(p, k_promote_keys, "in `promote`");
            }
        }
        if (!has_model) r_.error(e.value, "`promote` needs `model`");
        if (!has_alias) r_.error(e.value, "`promote` needs `alias`");
        stage_.promote = std::move(promote);
    }

    void check_required() {
        util::Location at = r_.where(key_);
        std::string kind = to_string(stage_.kind);
        if (stage_.kind == StageKind::script && !run_given_) {
            r_.error(at, "stage " + quote(stage_.name) +
                             " has no `run`: a script stage needs "
                             "the commands to run");
        }
        if (stage_.kind == StageKind::deploy && !seen_.contains("environment")) {
            r_.error(at, "stage " + quote(stage_.name) +
                             " needs `environment`: a deploy stage "
                             "deploys to one");
        }
        if (stage_.kind == StageKind::deploy) {
            std::string target = stage_.config.value("target", std::string("command"));
            if (target == "kubernetes" && !seen_.contains("image")) {
                r_.error(at, "stage " + quote(stage_.name) +
                                 " needs `image`: target kubernetes deploys an image pinned "
                                 "by digest (e.g. ${{ stages.push.outputs.image }})");
            }
            if (target == "local" && !seen_.contains("image") && !run_given_) {
                r_.error(at, "stage " + quote(stage_.name) +
                                 " needs `image` (an OCI image layout) or `run` (the "
                                 "service's command): target local runs one of them");
            }
        }
        for (std::string_view key : required_kind_keys(stage_.kind)) {
            if (seen_.contains(std::string(key))) continue;
            r_.error(at, "stage " + quote(stage_.name) + " needs " + quote(key) + ": a " + kind +
                             " stage cannot do without it");
        }
    }

    Reader& r_;
    Stage& stage_;
    YAML::Node key_;  // the stage's name, where "missing key" errors point
    int index_;
    bool kind_known_ = true;
    bool run_given_ = false;
    std::set<std::string> seen_;
};

}  // namespace

std::span<const std::string_view> known_events() { return k_events; }

std::optional<Approval> read_approval(Reader& reader, const Entry& e) {
    if (!e.value.IsMap()) {
        reader.error_at_value(e,
                              "`approval` must be a map (required, approvers, "
                              "self_approval, timeout), got " +
                                  describe(e.value));
        return std::nullopt;
    }
    Approval approval;
    approval.pos = reader.pos(e.value);
    for (const Entry& a : reader.entries(e.value, "approval")) {
        if (a.key == "required") {
            if (auto n = reader.integer(a, 1, INT_MAX)) approval.required = *n;
        } else if (a.key == "approvers") {
            if (auto list = reader.strings(a, "users or groups")) approval.approvers = *list;
        } else if (a.key == "self_approval") {
            if (auto b = reader.boolean(a)) approval.self_approval = *b;
        } else if (a.key == "timeout") {
            if (auto d = reader.duration(a, false)) approval.timeout = *d;
        } else {
            reader.unknown_key(a, k_approval_keys, "in `approval`");
        }
    }
    return approval;
}

Stage read_stage(Reader& reader, const Entry& entry, int index) {
    Stage stage;
    stage.name = entry.key;
    stage.pos = reader.pos(entry.key_node);
    if (!entry.value.IsMap()) {
        std::string got = entry.value.IsNull() ? "it is empty" : "got " + describe(entry.value);
        reader.error_at_value(entry, "stage " + quote(stage.name) +
                                         " must be a map of keys "
                                         "(run, needs, ...); " +
                                         got);
        return stage;
    }
    StageReader(reader, stage, entry.key_node, index).read(reader.entries(entry.value));
    return stage;
}

std::optional<Retry> read_retry(Reader& reader, const Entry& entry) {
    Retry retry;
    if (!entry.value.IsMap()) {
        auto n = reader.integer(entry, 0, k_max_retries);
        if (!n) return std::nullopt;
        retry.max = *n;
        return retry;
    }
    bool ok = true;
    bool max_delay_given = false;
    for (const Entry& e : reader.entries(entry.value, entry.label)) {
        if (e.key == "max") {
            auto n = reader.integer(e, 0, k_max_retries);
            ok = ok && n;
            if (n) retry.max = *n;
        } else if (e.key == "delay") {
            auto d = reader.duration(e, true);
            ok = ok && d;
            if (d) retry.delay = *d;
        } else if (e.key == "max_delay") {
            auto d = reader.duration(e, true);
            ok = ok && d;
            if (d) retry.max_delay = *d;
            max_delay_given = true;
        } else {
            reader.unknown_key(e, k_retry_keys, "in " + quote(entry.label));
            ok = false;
        }
    }
    // A delay longer than the default cap is what the user asked for: raise the cap.
    if (!max_delay_given) retry.max_delay = std::max(retry.max_delay, retry.delay);
    if (!ok) return std::nullopt;
    return retry;
}

}  // namespace sluice::pipeline
