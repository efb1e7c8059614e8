// Reads one stage of `stages:` (and the `retry` value `defaults:` shares with stages)
// from YAML into the typed model. Internal to the loader.
#pragma once

#include <optional>

#include "runner/pipeline/model.hpp"
#include "runner/pipeline/yaml_reader.hpp"

namespace sluice::pipeline {

// The stage named by entry.key, whose map is entry.value; `index` is its position in
// the pipeline (expressions found in it are recorded under that index). Mistakes are
// reported through the reader; the stage returned holds whatever was valid.
Stage read_stage(Reader& reader, const Entry& entry, int index);

// `approval: { required, approvers, self_approval, timeout }` (a stage's or an
// environment's).
std::optional<Approval> read_approval(Reader& reader, const Entry& entry);

// `retry: N` or `retry: { max: N, delay: 10s, max_delay: 1m }`.
std::optional<Retry> read_retry(Reader& reader, const Entry& entry);

// The events `on:` and `when: { event: }` know.
std::span<const std::string_view> known_events();

}  // namespace sluice::pipeline
