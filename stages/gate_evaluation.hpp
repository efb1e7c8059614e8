// The gate's decision. Two halves: judge() is pure (rules + the candidate's and the
// champion's numbers → a report); evaluate_gate() finds those numbers (a registry,
// metrics files) and fails closed on anything it cannot read. The report is what
// the gate prints, what the run store keeps, and what `sluice show` renders:
//   { passed, summary, model, registry, candidate{label,version?,metrics},
//     champion{label,alias,version?,metrics} | null, if_no_champion,
//     rules[{rule, passed, error?, left?, op?, right?, values{}, note?}], error? }
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plugins/registry/registry.hpp"
#include "stages/gate_spec.hpp"

namespace sluice::stages {

// One side of the comparison.
struct GateSide {
    std::string label;                    // "version 3 (run 42)", "metrics.json", ...
    std::optional<std::string> version;
    registry::Metrics metrics;
};

// Evaluates every rule (not only up to the first failure). Names are candidate
// metrics (`f1`, `candidate.f1`) or champion metrics (`champion.f1`). Without a
// champion, a rule that reads champion.* passes or fails by `pass_without_champion`,
// and the report says so.
nlohmann::json judge(const std::vector<std::string>& rules, const GateSide& candidate,
                     const std::optional<GateSide>& champion, bool pass_without_champion);

// Opens the registry a gate names (config: "builtin" or {"mlflow": {...}}).
using RegistryOpener = std::function<util::Result<std::unique_ptr<registry::Registry>>(
    const nlohmann::json& config, const std::filesystem::path& state_dir)>;

// The whole gate: finds the numbers, judges, and returns the report. Never throws;
// every failure to read a number is a failed report that says which and why.
nlohmann::json evaluate_gate(const GateSpec& spec, const RegistryOpener& open_registry);

// The report as people read it (the gate's log, `sluice show`).
std::string gate_report_text(const nlohmann::json& report);

}  // namespace sluice::stages
