// Paths a pipeline names in its workspace (`inputs`, `outputs`, `metrics`, an image's
// `context` and `base`) are relative to the workspace root: an absolute path or a `..`
// component is a validation error at the path, not a failure after the stage ran.
// Internal to the loader.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runner/pipeline/yaml_reader.hpp"

namespace sluice::pipeline {

// Why `path` (a path or a glob, `!` for an exclusion) would leave the workspace ("is
// absolute", "leaves the workspace (`..`)"), or nullopt for a path inside it. Text with
// `${{ }}` is resolved later and not judged here.
std::optional<std::string> workspace_path_problem(std::string_view path);

// Reports every path of `entry` (a string or a list of strings) that leaves the
// workspace, at the path itself.
void check_workspace_paths(Reader& reader, const Entry& entry);

// An image's `base`: `oci:PATH[:REF]` and paths are checked as above; registry
// references (`python:3.11-slim`, `host:5000/base:1`) are not paths.
void check_image_base(Reader& reader, const Entry& entry);

}  // namespace sluice::pipeline
