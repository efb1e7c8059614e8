// sluice's own interpolation, `${{ NAME }}` (GitHub Actions' syntax, so it never clashes
// with the shell's `$VAR`): finding expressions in a string, checking their names when
// the pipeline is validated, and substituting values before a stage starts.
//
// A name is dotted: vars.X, commit.sha|short|branch|tag|author|message, run.id|event,
// pipeline.name, stages.S.outputs.KEY.
#pragma once

#include <cstddef>
#include <expected>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runner/util/error.hpp"

namespace sluice::pipeline {

// One `${{ ... }}` in a string.
struct Expression {
    std::size_t offset = 0;  // of the `$` of `${{`
    std::size_t length = 0;  // through the closing `}}` (to the end when unterminated)
    std::string name;        // the dotted name inside, without spaces; empty if malformed
    std::string problem;     // why it is malformed (unterminated, empty, not a name)
};

// Every expression in `text`, in order.
std::vector<Expression> find_expressions(std::string_view text);

// The fixed names (commit.sha, run.id, ...), for suggestions and for lookup implementers.
std::span<const std::string_view> builtin_names();

// What an expression may name where it appears.
struct ExpressionScope {
    std::vector<std::string> variables;      // vars.X: for `variables:` values, the ones before
    bool in_stage = false;                   // stages.* only works inside a stage
    std::vector<std::string> needed_stages;  // needed directly or transitively
    std::vector<std::string> all_stages;     // for messages about the others
};

// Empty when `name` is known in `scope`; otherwise the error message to report.
std::string check_name(std::string_view name, const ExpressionScope& scope);

// Resolves a name to its value, nullopt when it has none.
using ExpressionLookup = std::function<std::optional<std::string>(std::string_view name)>;

// `text` with every expression replaced by lookup(name). A malformed expression or a name
// the lookup does not know is a bad_input error (without a location: the caller knows
// which stage and key it was resolving). Values are inserted as they are, never
// re-scanned, so a value containing `${{` cannot inject another expression.
std::expected<std::string, util::Error> interpolate(std::string_view text,
                                                    const ExpressionLookup& lookup);

}  // namespace sluice::pipeline
