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

}  // namespace sluice::testing
