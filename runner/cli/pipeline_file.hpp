// Finding, reading and validating the pipeline file named on the command line.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "runner/pipeline/model.hpp"

namespace sluice::cli {

struct LoadedPipeline {
    pipeline::Pipeline pipeline;
    std::string yaml;                 // the file's text
    std::filesystem::path path;       // absolute
};

// FILE may be a file or a directory holding sluice.yml (default: ./sluice.yml). Every
// error is printed to stderr as FILE:LINE:COL: message; nullopt then (exit status 2).
std::optional<LoadedPipeline> load_for_cli(const std::string& file);

}  // namespace sluice::cli
