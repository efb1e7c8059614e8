// The gate's decision: judge() over numbers, evaluate_gate() to find them, and the
// report's text.
#include "stages/gate_evaluation.hpp"

#include <sstream>

#include "plugins/registry/metrics_file.hpp"
#include "runner/pipeline/gate_expression.hpp"

namespace sluice::stages {

using pipeline::describe;
using pipeline::evaluate;
using pipeline::names;
using pipeline::parse_gate_expression;
using pipeline::RuleResult;

namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

nlohmann::json side_json(const GateSide& side) {
    nlohmann::json metrics = nlohmann::json::object();
    for (const auto& [k, v] : side.metrics) metrics[k] = v;
    nlohmann::json j = {{"label", side.label}, {"metrics", metrics}};
    if (side.version) j["version"] = *side.version;
    return j;
}

std::string known_metrics(const registry::Metrics& metrics) {
    if (metrics.empty()) return "it has none";
    std::string out = "it has ";
    int n = 0;
    for (const auto& [k, v] : metrics) {
        if (n == 8) {
            out += ", ...";
            break;
        }
        out += (n++ ? ", " : "") + k;
    }
    return out;
}

std::string registry_kind(const nlohmann::json& config) {
    if (config.is_string()) return config.get<std::string>();
    if (config.is_object() && config.size() == 1) return config.begin().key();
    return "?";
}

bool is_version_number(const std::string& text) {
    return !text.empty() && text.size() <= 12 &&
           text.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

nlohmann::json judge(const std::vector<std::string>& rules, const GateSide& candidate,
                     const std::optional<GateSide>& champion, bool pass_without_champion) {
    nlohmann::json entries = nlohmann::json::array();
    int failed = 0;
    std::string first_failed;
    for (const auto& text : rules) {
        nlohmann::json entry = {{"rule", text}};
        auto parsed = parse_gate_expression(text);
        if (!parsed) {
            entry["passed"] = false;
            entry["error"] = "column " + std::to_string(parsed.error().where.column) + ": " +
                             parsed.error().message;
        } else {
            entry["rule"] = std::string(parsed->text());
            auto read = names(*parsed);
            bool reads_champion = false;
            for (const auto& n : read) reads_champion = reads_champion || starts_with(n, "champion.");
            std::optional<std::string> missing;
            auto lookup = [&](std::string_view name) -> std::optional<double> {
                const GateSide* side = &candidate;
                std::string_view metric = name;
                if (starts_with(name, "champion.")) {
                    side = champion ? &*champion : nullptr;
                    metric = name.substr(9);
                } else if (starts_with(name, "candidate.")) {
                    metric = name.substr(10);
                }
                if (side != nullptr) {
                    auto it = side->metrics.find(std::string(metric));
                    if (it != side->metrics.end()) return it->second;
                }
                if (!missing) {
                    missing = "no metric `" + std::string(metric) + "` in the " +
                              (side == &candidate ? "candidate" : "champion") + " (" +
                              (side ? side->label : std::string("?")) + "; " +
                              known_metrics(side ? side->metrics : registry::Metrics{}) + ")";
                }
                return std::nullopt;
            };
            if (reads_champion && !champion) {
                entry["passed"] = pass_without_champion;
                entry["note"] = std::string("no champion yet: ") +
                                (pass_without_champion ? "passes (if_no_champion: pass)"
                                                       : "fails (if_no_champion: fail)");
            } else {
                RuleResult result = evaluate(*parsed, lookup);
                entry["passed"] = result.passed;
                if (result.error) entry["error"] = missing ? *missing : *result.error;
                if (result.comparison) {
                    entry["left"] = result.comparison->left;
                    entry["op"] = result.comparison->op;
                    entry["right"] = result.comparison->right;
                }
                nlohmann::json values = nlohmann::json::object();
                for (const auto& [k, v] : result.values) values[k] = v;
                entry["values"] = values;
                if (!result.error) entry["detail"] = describe(*parsed, result);
            }
        }
        if (!entry["passed"].get<bool>()) {
            if (failed++ == 0) first_failed = entry["rule"].get<std::string>();
        }
        entries.push_back(std::move(entry));
    }
    bool passed = failed == 0 && !rules.empty();
    std::string summary;
    if (rules.empty()) {
        summary = "no rules to check";
    } else if (passed) {
        summary = rules.size() == 1 ? "the rule passed"
                                    : "all " + std::to_string(rules.size()) + " rules passed";
    } else {
        summary = std::to_string(failed) + " of " + std::to_string(rules.size()) +
                  (rules.size() == 1 ? " rule" : " rules") + " failed: " + first_failed;
        if (failed > 1) summary += ", ...";
    }
    nlohmann::json report = {{"passed", passed},
                             {"summary", summary},
                             {"candidate", side_json(candidate)},
                             {"champion", champion ? side_json(*champion) : nlohmann::json()},
                             {"if_no_champion", pass_without_champion ? "pass" : "fail"},
                             {"rules", std::move(entries)}};
    return report;
}

nlohmann::json evaluate_gate(const GateSpec& spec, const RegistryOpener& open_registry) {
    std::string kind = registry_kind(spec.registry);
    auto failed = [&](const std::string& why) {
        nlohmann::json rules = nlohmann::json::array();
        for (const auto& r : spec.rules) {
            rules.push_back({{"rule", r}, {"passed", false}, {"error", "not evaluated"}});
        }
        return nlohmann::json{{"passed", false},
                              {"summary", "failed closed: " + why},
                              {"error", why},
                              {"model", spec.model},
                              {"registry", kind},
                              {"candidate", nullptr},
                              {"champion", nullptr},
                              {"if_no_champion", spec.pass_without_champion ? "pass" : "fail"},
                              {"rules", rules}};
    };
    auto read_files = [&](const std::vector<std::string>& files,
                          const std::string& role) -> util::Result<GateSide> {
        GateSide side;
        for (const auto& f : files) {
            std::filesystem::path path = spec.workspace / f;
            auto metrics = registry::read_metrics_file(path);
            if (!metrics) {
                return util::fail(metrics.error().code, "cannot read the " + role +
                                                            "'s metrics: " +
                                                            metrics.error().to_string());
            }
            for (auto& [k, v] : *metrics) side.metrics[k] = v;
            side.label += (side.label.empty() ? "" : ", ") + f;
        }
        return side;
    };

    GateSide candidate;
    std::optional<GateSide> champion;
    std::string registry_name = kind;
    if (kind == "file") {
        std::vector<std::string> files =
            spec.candidate ? std::vector<std::string>{*spec.candidate} : spec.metrics_files;
        if (files.empty()) {
            return failed("no candidate metrics: no stage this gate needs has `metrics:`, "
                          "and the gate has no `candidate:` file");
        }
        auto side = read_files(files, "candidate");
        if (!side) return failed(side.error().message);
        candidate = std::move(*side);
        if (spec.champion_given) {
            auto champ = read_files({spec.champion}, "champion");
            if (!champ) return failed(champ.error().message);
            champion = std::move(*champ);
        }
    } else {
        auto reg = open_registry(spec.registry, spec.state_dir);
        if (!reg) return failed("the " + kind + " registry is unavailable: " + reg.error().message);
        registry_name = (*reg)->describe();
        if (spec.candidate) {
            const std::string& c = *spec.candidate;
            if (is_version_number(c)) {
                auto v = (*reg)->version(spec.model, c);
                if (!v) {
                    return failed("cannot read candidate version " + c + " of model `" +
                                  spec.model + "` from " + registry_name + ": " +
                                  v.error().message);
                }
                candidate = {"version " + c, c, v->metrics};
            } else {
                auto m = (*reg)->run_metrics(c);
                if (!m) {
                    return failed("cannot read the metrics of candidate run " + c + " from " +
                                  registry_name + ": " + m.error().message);
                }
                candidate = {"run " + c, std::nullopt, *m};
            }
        } else {
            // This run's candidate: the version the engine logged from a `metrics:`
            // stage, kept in the builtin registry whatever registry the gate reads.
            std::unique_ptr<registry::Registry> local_owner;
            registry::Registry* local = reg->get();
            if (kind != "builtin") {
                auto opened = open_registry("builtin", spec.state_dir);
                if (!opened) {
                    return failed("cannot open the builtin registry for this run's candidate: " +
                                  opened.error().message);
                }
                local_owner = std::move(*opened);
                local = local_owner.get();
            }
            auto v = local->version_of_run(spec.model, spec.run_id);
            if (!v) {
                return failed("cannot read this run's candidate of model `" + spec.model +
                              "`: " + v.error().message);
            }
            if (!*v) {
                return failed("no candidate: no stage of run " + spec.run_id +
                              " logged metrics for model `" + spec.model +
                              "` (give the training stage `metrics:`, or set the gate's "
                              "`candidate:`)");
            }
            candidate = {"version " + (*v)->version + " (run " + spec.run_id + ")",
                         (*v)->version, (*v)->metrics};
        }
        auto champ = (*reg)->by_alias(spec.model, spec.champion);
        if (!champ) {
            return failed("cannot read the champion (alias `" + spec.champion + "` of model `" +
                          spec.model + "`) from " + registry_name + ": " + champ.error().message);
        }
        if (*champ) {
            champion = GateSide{"version " + (*champ)->version + " (alias " + spec.champion + ")",
                                (*champ)->version, (*champ)->metrics};
        }
    }
    nlohmann::json report = judge(spec.rules, candidate, champion, spec.pass_without_champion);
    report["model"] = spec.model;
    report["registry"] = registry_name;
    if (!champion) {
        report["no_champion"] = kind == "file" ? "no `champion:` file"
                                               : "alias `" + spec.champion + "` is not set";
    }
    return report;
}

std::string gate_report_text(const nlohmann::json& report) {
    std::ostringstream out;
    auto text = [](const nlohmann::json& j, const char* key) {
        auto it = j.find(key);
        return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    out << "gate: model " << text(report, "model") << " in " << text(report, "registry") << "\n";
    if (report.contains("candidate") && report["candidate"].is_object()) {
        out << "  candidate: " << text(report["candidate"], "label") << "\n";
    }
    if (report.contains("champion") && report["champion"].is_object()) {
        out << "  champion:  " << text(report["champion"], "label") << "\n";
    } else if (report.contains("no_champion")) {
        out << "  champion:  none (" << text(report, "no_champion")
            << "; if_no_champion: " << text(report, "if_no_champion") << ")\n";
    }
    if (report.contains("rules") && report["rules"].is_array()) {
        for (const auto& rule : report["rules"]) {
            bool ok = rule.value("passed", false);
            out << "  " << (ok ? "pass  " : "FAIL  ");
            std::string detail = text(rule, "detail");
            if (!text(rule, "note").empty()) {
                out << text(rule, "rule") << ": " << text(rule, "note");
            } else if (!detail.empty()) {
                out << detail;
            } else {
                out << text(rule, "rule");
                if (!text(rule, "error").empty()) out << ": " << text(rule, "error");
            }
            out << "\n";
        }
    }
    out << (report.value("passed", false) ? "gate passed: " : "gate failed: ")
        << text(report, "summary") << "\n";
    return out.str();
}

}  // namespace sluice::stages
