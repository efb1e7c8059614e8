// Values of the `${{ }}` names that every resolver answers the same way: commit.* and
// stages.S.outputs.K (see runner/pipeline/expressions.hpp for the names). The run's
// loop and --dry-run's cache preview both resolve through these, so a stage's cache
// key is the same in both.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "runner/git/head.hpp"
#include "runner/pipeline/model.hpp"

namespace sluice::engine {

// `field` of commit.FIELD; "" outside git; nullopt for an unknown field.
std::optional<std::string> commit_value(const std::optional<git::CommitInfo>& commit,
                                        std::string_view field);

// stages.REST where REST is `S.outputs.K`: stage S's value K, from outputs_of(S's index);
// nullopt when unknown or not a string.
std::optional<std::string> stage_output_value(
    const pipeline::Pipeline& pipeline, std::string_view rest,
    const std::function<const nlohmann::json&(std::size_t)>& outputs_of);

}  // namespace sluice::engine
