// Remembering validated pipelines: a re-run of an unchanged sluice.yml reads the pipeline
// back (model_binary.hpp) instead of parsing and validating the YAML again, which
// for a pipeline of 1000 stages is most of a no-op run's time. The memo is keyed by the
// SHA-256 of the text, the file name and this sluice executable (so a new build never
// reads an older build's memo); anything wrong with a memo (missing, damaged, another
// format) means the YAML is parsed as usual. Errors are never remembered.
#pragma once

#include <expected>
#include <filesystem>
#include <string>
#include <string_view>

#include "runner/pipeline/model.hpp"
#include "runner/util/error.hpp"

namespace sluice::pipeline {

// load_pipeline_string(yaml, file_name), remembered in `dir` (created when needed; at
// most k_remembered_pipelines files are kept, the least recently written go first).
std::expected<Pipeline, util::Errors> load_pipeline_remembered(std::string_view yaml,
                                                               std::string file_name,
                                                               const std::filesystem::path& dir);

inline constexpr int k_remembered_pipelines = 16;

}  // namespace sluice::pipeline
