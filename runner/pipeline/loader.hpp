// Loading sluice.yml: YAML in, a validated Pipeline out, or every mistake in the file at
// once, each with its file:line:col (util::Error::to_string prints "FILE:LINE:COL: msg").
#pragma once

#include <expected>
#include <filesystem>
#include <string>
#include <string_view>

#include "runner/pipeline/model.hpp"
#include "runner/util/error.hpp"

namespace sluice::pipeline {

// Reads and validates the file. A missing file is one not_found error, an unreadable one
// one io error; every mistake in the content is a bad_input error. Never throws.
std::expected<Pipeline, util::Errors> load_pipeline_file(const std::filesystem::path& path);

// The same from text already in memory; `file_name` appears in errors and
// Pipeline::file.
std::expected<Pipeline, util::Errors> load_pipeline_string(std::string_view yaml,
                                                           std::string file_name);

}  // namespace sluice::pipeline
