// Turns the file's text into one YAML document tree, or reports why it cannot: a syntax
// error (one error at yaml-cpp's mark), no document, or more than one. Internal to the
// loader.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>

#include "runner/pipeline/source_text.hpp"
#include "runner/pipeline/yaml_reader.hpp"

namespace sluice::pipeline {

// The root of the file's single document (of any type), or nullopt after reporting.
std::optional<YAML::Node> parse_document(Reader& reader, const SourceText& source);

}  // namespace sluice::pipeline
