// The rule language of `kind: gate` ("the F1 score must not drop"): a small, safe
// expression language of our own, parsed by hand and evaluated against metric values.
// It never runs code; the only things a rule can do are read metrics and do arithmetic.
//
//   rule        f1 >= champion.f1 - 0.01 and not (loss > 0.3)
//   numbers     123  0.5  1e-3  .5
//   names       f1  roc_auc  val-loss  champion.f1  eval.f1   (a `-` followed by a
//               letter is part of the name: write `a - b` with spaces to subtract)
//   arithmetic  + - * /  unary -  ( )
//   comparison  < <= > >= == !=      (they do not chain: `a < b < c` is an error)
//   logic       and  or  not
//   functions   abs(x)  min(a, b, ...)  max(a, b, ...)
//
// Precedence, lowest first: or, and, not, comparison, + -, * /, unary -. Numbers and
// conditions are distinct types, checked when the rule is parsed: `f1 + (a > b)`,
// `f1 and f2` and a rule that is only a number (`f1`) are errors.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runner/util/error.hpp"

namespace sluice::pipeline {

namespace gate_expression_detail {
struct Node;  // the parsed tree; only gate_expression.cpp looks inside
}

// How deeply parentheses, `not` and unary `-` may nest; deeper rules are an error
// rather than a stack overflow.
inline constexpr int k_max_gate_expression_depth = 200;

// A parsed, type-checked rule. Cheap to copy (the tree is shared and immutable).
class GateExpression {
  public:
    GateExpression(std::string source, std::size_t text_begin, std::size_t text_end,
                   std::shared_ptr<const gate_expression_detail::Node> root);

    // The rule as the user wrote it, without surrounding white space (for reports).
    std::string_view text() const;
    // The source exactly as given to the parser; node positions index into it.
    const std::string& source() const { return source_; }
    const gate_expression_detail::Node& root() const { return *root_; }

  private:
    std::string source_;
    std::size_t text_begin_ = 0;
    std::size_t text_end_ = 0;
    std::shared_ptr<const gate_expression_detail::Node> root_;
};

// Parses and type-checks a rule. Errors are ErrorCode::bad_input with a message that
// says what was expected and what was found, and where.column = the 1-based column (in
// characters) inside `text`; where.line stays 0 and where.file empty, for the caller to
// fill in. A newline inside `text` counts as one column.
util::Result<GateExpression> parse_gate_expression(std::string_view text);

// The metric names the rule reads, in order of first appearance, without duplicates.
std::vector<std::string> names(const GateExpression& expression);

// A fully parenthesised rendering, e.g. `((1 + (2 * 3)) > x)`; for tests and debugging.
// Reports should print text() instead: the rule as it was written.
std::string canonical(const GateExpression& expression);

// The values of a top-level comparison, for "f1 >= champion.f1 - 0.01: 0.84 >= 0.83".
struct GateComparison {
    double left = 0;
    std::string op;  // "<", "<=", ">", ">=", "==", "!="
    double right = 0;
};

struct RuleResult {
    bool passed = false;                       // never true when error is set
    std::optional<std::string> error;          // why the rule could not be evaluated (fail closed)
    std::optional<GateComparison> comparison;  // set when the rule is one comparison
    // Every name the rule reads that the lookup knew, in the order of names().
    std::vector<std::pair<std::string, double>> values;
};

// The value of a metric, nullopt when there is none.
using MetricLookup = std::function<std::optional<double>(std::string_view name)>;

// Evaluates a rule. The lookup is called once per name, in the order of names(), before
// anything is computed. Fails closed: a missing name ("no metric `f1`"), a NaN or
// infinite metric, a division by zero or an overflow is an error and the rule does not
// pass. `and` and `or` evaluate every operand (no short circuit), so an error anywhere
// in the rule is reported even when the other side already decides the result.
RuleResult evaluate(const GateExpression& expression, const MetricLookup& lookup);

// The shortest text that reads back as the same double: 0.84, 1e-05, 3.
std::string format_number(double value);

// One line for a report: "f1 >= champion.f1 - 0.01: 0.84 >= 0.83" for a comparison,
// "RULE: true (f1 = 0.84, loss = 0.2)" for other rules, "RULE: error: MESSAGE".
std::string describe(const GateExpression& expression, const RuleResult& result);

}  // namespace sluice::pipeline
