// Which environments a write touches, and the check of all of them against the access
// file (access::check_environment_write, the one check every write goes through):
// a deploy stage writes to its environment and, with `promote:`, to every environment
// whose registry alias it moves; moving an alias by hand (`sluice registry alias`)
// writes to every environment that alias belongs to. An alias belongs to the
// environment named like it (so `production` is production's wherever the command is
// run from) and, in the pipeline at hand, to an environment whose `alias:` it is or
// whose deploy stages' `promote:` move it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "runner/access/environment_token.hpp"
#include "runner/pipeline/model.hpp"
#include "runner/util/error.hpp"

namespace sluice::stages {

struct GuardedEnvironment {
    std::string name;
    bool declared_protected = false;  // `protected: true` in the pipeline
};

// The environments `alias` belongs to (see above); `pipeline` may be null.
std::vector<GuardedEnvironment> environments_of_alias(const pipeline::Pipeline* pipeline,
                                                      const std::string& alias);

// The environments a deploy stage writes to: its own, then those of its promoted alias.
std::vector<GuardedEnvironment> environments_of_deploy(const pipeline::Pipeline& pipeline,
                                                       const pipeline::Stage& stage);

// Every environment of `environments` may be written to with the tokens `variables`
// present (the access file of `state_dir`; a missing one protects nothing but what the
// pipeline declares). The warnings to show the person on success (each once); the first
// refusal otherwise (bad_input).
util::Result<std::vector<std::string>> check_environment_writes(
    const std::filesystem::path& state_dir, const std::vector<GuardedEnvironment>& environments,
    const access::VariableLookup& variables);

}  // namespace sluice::stages
