// The pipeline model as JSON and back (see model_json.hpp).
#include "runner/pipeline/model_json.hpp"

namespace sluice::pipeline {
namespace {

using nlohmann::json;

// Every field below is written and read; a field added to the model and not here would be
// lost on the way back, so the model's sizes are pinned: change them with this file.
static_assert(sizeof(Stage) == 744, "a Stage field changed: update model_json.cpp");
static_assert(sizeof(Pipeline) == 312, "a Pipeline field changed: update model_json.cpp");
static_assert(sizeof(Environment) == 176, "an Environment field changed: update model_json.cpp");

json pos(const Pos& p) { return json::array({p.line, p.column}); }
Pos pos_of(const json& j) { return {j.at(0).get<int>(), j.at(1).get<int>()}; }

json millis(Millis m) { return m.count(); }
Millis millis_of(const json& j) { return Millis(j.get<Millis::rep>()); }

template <class T, class Encode>
json optional(const std::optional<T>& value, Encode encode) {
    return value ? encode(*value) : json(nullptr);
}
template <class T, class Decode>
std::optional<T> optional_of(const json& j, Decode decode) {
    if (j.is_null()) return std::nullopt;
    return decode(j);
}

json vars(const VarList& list) {
    json out = json::array();
    for (const auto& [name, value] : list) out.push_back(json::array({name, value}));
    return out;
}
VarList vars_of(const json& j) {
    VarList out;
    for (const auto& pair : j) out.emplace_back(pair.at(0).get<std::string>(), pair.at(1).get<std::string>());
    return out;
}

json retry(const Retry& r) { return {{"max", r.max}, {"delay", millis(r.delay)}, {"max_delay", millis(r.max_delay)}}; }
Retry retry_of(const json& j) {
    return {j.at("max").get<int>(), millis_of(j.at("delay")), millis_of(j.at("max_delay"))};
}

json approval(const Approval& a) {
    return {{"required", a.required}, {"approvers", a.approvers}, {"self_approval", a.self_approval},
            {"timeout", optional(a.timeout, millis)}, {"pos", pos(a.pos)}};
}
Approval approval_of(const json& j) {
    Approval a;
    a.required = j.at("required").get<int>();
    a.approvers = j.at("approvers").get<std::vector<std::string>>();
    a.self_approval = j.at("self_approval").get<bool>();
    a.timeout = optional_of<Millis>(j.at("timeout"), millis_of);
    a.pos = pos_of(j.at("pos"));
    return a;
}

json when(const When& w) {
    return {{"events", w.events}, {"branches", w.branches}, {"target_branches", w.target_branches},
            {"changes", w.changes}, {"pos", pos(w.pos)}};
}
When when_of(const json& j) {
    When w;
    w.events = j.at("events").get<std::vector<std::string>>();
    w.branches = j.at("branches").get<std::vector<std::string>>();
    w.target_branches = j.at("target_branches").get<std::vector<std::string>>();
    w.changes = j.at("changes").get<std::vector<std::string>>();
    w.pos = pos_of(j.at("pos"));
    return w;
}

json promote(const Promote& p) { return {{"model", p.model}, {"alias", p.alias}, {"pos", pos(p.pos)}}; }
Promote promote_of(const json& j) {
    return {j.at("model").get<std::string>(), j.at("alias").get<std::string>(), pos_of(j.at("pos"))};
}

json strings(const std::optional<std::vector<std::string>>& v) {
    return v ? json(*v) : json(nullptr);
}
std::optional<std::vector<std::string>> strings_of(const json& j) {
    if (j.is_null()) return std::nullopt;
    return j.get<std::vector<std::string>>();
}

// A stage is written with only the fields that differ from a default Stage (most
// stages set a handful of the keys), and read back onto a default Stage: a pipeline of
// 1000 stages is read at every run, and every key is a node to build and look up.
json stage(const Stage& s) {
    static const Stage d{};
    json j = json::object();
    auto put = [&](const char* key, bool is_default, auto&& encode) {
        if (!is_default) j[key] = encode();
    };
    j["name"] = s.name;
    put("pos", s.pos == d.pos, [&] { return pos(s.pos); });
    put("kind", s.kind == d.kind, [&] { return static_cast<int>(s.kind); });
    put("run", s.run.empty(), [&] { return json(s.run); });
    put("run_pos", s.run_pos == d.run_pos, [&] { return pos(s.run_pos); });
    put("needs", s.needs.empty(), [&] { return json(s.needs); });
    put("needs_pos", s.needs_pos.empty(), [&] {
        json out = json::array();
        for (const auto& p : s.needs_pos) out.push_back(pos(p));
        return out;
    });
    put("env", s.env.empty(), [&] { return vars(s.env); });
    put("inherit_all_env", s.inherit_all_env == d.inherit_all_env, [&] { return json(s.inherit_all_env); });
    put("inherit_env", s.inherit_env.empty(), [&] { return json(s.inherit_env); });
    put("timeout", !s.timeout, [&] { return millis(*s.timeout); });
    put("retry", !s.retry, [&] { return retry(*s.retry); });
    put("allow_failure", s.allow_failure == d.allow_failure, [&] { return json(s.allow_failure); });
    put("shell", !s.shell, [&] { return json(*s.shell); });
    put("inputs", s.inputs.empty(), [&] { return json(s.inputs); });
    put("outputs", s.outputs.empty(), [&] { return json(s.outputs); });
    put("cache", s.cache == d.cache, [&] { return json(s.cache); });
    put("metrics", !s.metrics, [&] { return json(*s.metrics); });
    put("reports", s.reports.empty(), [&] { return json(s.reports); });
    put("when", !s.when, [&] { return when(*s.when); });
    put("environment", !s.environment, [&] { return json(*s.environment); });
    put("approval", !s.approval, [&] { return approval(*s.approval); });
    put("promote", !s.promote, [&] { return promote(*s.promote); });
    put("config", s.config == d.config, [&] { return s.config; });
    return j;
}

Stage stage_of(const json& j) {
    Stage s;
    auto get = [&](const char* key, auto&& decode) {
        if (auto it = j.find(key); it != j.end()) decode(*it);
    };
    s.name = j.at("name").get<std::string>();
    get("pos", [&](const json& v) { s.pos = pos_of(v); });
    get("kind", [&](const json& v) {
        int kind = v.get<int>();
        if (kind < 0 || kind > static_cast<int>(StageKind::deploy)) throw std::out_of_range("kind");
        s.kind = static_cast<StageKind>(kind);
    });
    get("run", [&](const json& v) { s.run = v.get<std::vector<std::string>>(); });
    get("run_pos", [&](const json& v) { s.run_pos = pos_of(v); });
    get("needs", [&](const json& v) { s.needs = v.get<std::vector<std::string>>(); });
    get("needs_pos", [&](const json& v) {
        for (const auto& p : v) s.needs_pos.push_back(pos_of(p));
    });
    get("env", [&](const json& v) { s.env = vars_of(v); });
    get("inherit_all_env", [&](const json& v) { s.inherit_all_env = v.get<bool>(); });
    get("inherit_env", [&](const json& v) { s.inherit_env = v.get<std::vector<std::string>>(); });
    get("timeout", [&](const json& v) { s.timeout = millis_of(v); });
    get("retry", [&](const json& v) { s.retry = retry_of(v); });
    get("allow_failure", [&](const json& v) { s.allow_failure = v.get<bool>(); });
    get("shell", [&](const json& v) { s.shell = v.get<std::string>(); });
    get("inputs", [&](const json& v) { s.inputs = v.get<std::vector<std::string>>(); });
    get("outputs", [&](const json& v) { s.outputs = v.get<std::vector<std::string>>(); });
    get("cache", [&](const json& v) { s.cache = v.get<bool>(); });
    get("metrics", [&](const json& v) { s.metrics = v.get<std::string>(); });
    get("reports", [&](const json& v) { s.reports = v.get<std::map<std::string, std::string>>(); });
    get("when", [&](const json& v) { s.when = when_of(v); });
    get("environment", [&](const json& v) { s.environment = v.get<std::string>(); });
    get("approval", [&](const json& v) { s.approval = approval_of(v); });
    get("promote", [&](const json& v) { s.promote = promote_of(v); });
    get("config", [&](const json& v) { s.config = v; });
    return s;
}

json environment(const Environment& e) {
    return {{"name", e.name}, {"branches", e.branches}, {"protected", e.is_protected},
            {"approval", optional(e.approval, approval)}, {"alias", e.alias}, {"pos", pos(e.pos)}};
}
Environment environment_of(const json& j) {
    Environment e;
    e.name = j.at("name").get<std::string>();
    e.branches = j.at("branches").get<std::vector<std::string>>();
    e.is_protected = j.at("protected").get<bool>();
    e.approval = optional_of<Approval>(j.at("approval"), approval_of);
    e.alias = j.at("alias").get<std::string>();
    e.pos = pos_of(j.at("pos"));
    return e;
}

}  // namespace

nlohmann::json to_json(const Pipeline& p) {
    json environments = json::array();
    for (const auto& e : p.environments) environments.push_back(environment(e));
    json stages = json::array();
    for (const auto& s : p.stages) stages.push_back(stage(s));
    return {{"name", p.name},
            {"file", p.file},
            {"on", {{"any", p.on.any},
                    {"push_branches", strings(p.on.push_branches)},
                    {"merge_request_targets", strings(p.on.merge_request_targets)},
                    {"manual", p.on.manual},
                    {"tags", p.on.tags},
                    {"all_tags", p.on.all_tags}}},
            {"variables", vars(p.variables)},
            {"defaults", {{"timeout", millis(p.defaults.timeout)},
                          {"retry", retry(p.defaults.retry)},
                          {"shell", p.defaults.shell}}},
            {"environments", std::move(environments)},
            {"stages", std::move(stages)}};
}

util::Result<Pipeline> pipeline_from_json(const nlohmann::json& j) {
    try {
        Pipeline p;
        p.name = j.at("name").get<std::string>();
        p.file = j.at("file").get<std::string>();
        const json& on = j.at("on");
        p.on.any = on.at("any").get<bool>();
        p.on.push_branches = strings_of(on.at("push_branches"));
        p.on.merge_request_targets = strings_of(on.at("merge_request_targets"));
        p.on.manual = on.at("manual").get<bool>();
        p.on.tags = on.at("tags").get<std::vector<std::string>>();
        p.on.all_tags = on.at("all_tags").get<bool>();
        p.variables = vars_of(j.at("variables"));
        const json& defaults = j.at("defaults");
        p.defaults.timeout = millis_of(defaults.at("timeout"));
        p.defaults.retry = retry_of(defaults.at("retry"));
        p.defaults.shell = defaults.at("shell").get<std::string>();
        for (const auto& e : j.at("environments")) p.environments.push_back(environment_of(e));
        const json& stages = j.at("stages");
        p.stages.reserve(stages.size());
        for (const auto& s : stages) p.stages.push_back(stage_of(s));
        return p;
    } catch (const std::exception& e) {
        return util::fail(util::ErrorCode::bad_input,
                          std::string("not a remembered pipeline: ") + e.what());
    }
}

}  // namespace sluice::pipeline
