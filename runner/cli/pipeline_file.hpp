// Finding, reading and validating the pipeline file named on the command line.
#pragma once

#include <filesystem>
#include <functional>
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
// With `memo_dir`, a pipeline read before from the same text comes back from there
// (pipeline/pipeline_memo.hpp). `on_text` is given the file's text before it is parsed.
std::optional<LoadedPipeline> load_for_cli(
    const std::string& file, const std::filesystem::path& memo_dir = {},
    const std::function<void(const std::string& text)>& on_text = {});

}  // namespace sluice::cli
