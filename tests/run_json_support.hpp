// What integration tests read out of `sluice show RUN --json`.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace sluice::testing {

// The stage called `name` in a shown run; a test failure (and null) when there is none.
inline nlohmann::json stage_of(const nlohmann::json& run, const std::string& name) {
    if (run.contains("stages")) {
        for (const auto& s : run["stages"]) {
            if (s["stage"] == name) return s;
        }
    }
    ADD_FAILURE() << "no stage " << name;
    return {};
}

// The stage called `name` in the output of `sluice show RUN --json`; null when the output
// is not JSON or has no such stage (no test failure: a caller may expect none).
inline nlohmann::json stage_in_show(const std::string& show_output, const std::string& name) {
    auto run = nlohmann::json::parse(show_output, nullptr, false);
    if (run.is_discarded() || !run.contains("stages")) return {};
    for (const auto& s : run["stages"]) {
        if (s["stage"] == name) return s;
    }
    return {};
}

}  // namespace sluice::testing
