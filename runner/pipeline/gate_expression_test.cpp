// The gate's rule language: precedence, types, every syntax error with its column, and
// an evaluator that fails closed; plus fuzzing that garbage never crashes the parser.
#include "runner/pipeline/gate_expression.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>

namespace sluice::pipeline {
namespace {

using Metrics = std::map<std::string, double, std::less<>>;

MetricLookup lookup_in(const Metrics& metrics) {
    return [&metrics](std::string_view name) -> std::optional<double> {
        auto it = metrics.find(name);
        if (it == metrics.end()) return std::nullopt;
        return it->second;
    };
}

GateExpression parse_ok(std::string_view text) {
    auto parsed = parse_gate_expression(text);
    EXPECT_TRUE(parsed.has_value()) << text << ": " << parsed.error().message << " (column "
                                    << parsed.error().where.column << ")";
    if (!parsed) return *parse_gate_expression("0 > 1");
    return *parsed;
}

std::string shape(std::string_view text) { return canonical(parse_ok(text)); }

// The rule must not parse; returns the message and checks the column.
std::string parse_error(std::string_view text, int column) {
    auto parsed = parse_gate_expression(text);
    EXPECT_FALSE(parsed.has_value()) << text << " parsed as " << canonical(*parsed);
    if (parsed) return "";
    EXPECT_EQ(parsed.error().code, util::ErrorCode::bad_input) << text;
    EXPECT_EQ(parsed.error().where.column, column) << text << ": " << parsed.error().message;
    EXPECT_EQ(parsed.error().where.line, 0) << text;
    return parsed.error().message;
}

RuleResult run(std::string_view text, const Metrics& metrics = {}) {
    RuleResult result = evaluate(parse_ok(text), lookup_in(metrics));
    if (result.error) {
        EXPECT_FALSE(result.passed) << text;
    }
    return result;
}

bool passes(std::string_view text, const Metrics& metrics = {}) {
    RuleResult result = run(text, metrics);
    EXPECT_FALSE(result.error) << text << ": " << *result.error;
    return result.passed;
}

// --- precedence and shape ---------------------------------------------------------------

TEST(GateExpression, MultiplicationBindsTighterThanAddition) {
    EXPECT_EQ(shape("1 + 2 * 3 > 0"), "((1 + (2 * 3)) > 0)");
    EXPECT_EQ(shape("(1 + 2) * 3 > 0"), "(((1 + 2) * 3) > 0)");
    EXPECT_TRUE(passes("1 + 2 * 3 == 7"));
    EXPECT_TRUE(passes("(1 + 2) * 3 == 9"));
}

TEST(GateExpression, UnaryMinusBindsTightest) {
    EXPECT_EQ(shape("-2 * 3 < 0"), "(((-2) * 3) < 0)");
    EXPECT_TRUE(passes("-2 * 3 == -6"));
    EXPECT_TRUE(passes("2 * -3 == -6"));
    EXPECT_TRUE(passes("- -2 == 2"));
    EXPECT_TRUE(passes("2 - -3 == 5"));
    EXPECT_TRUE(passes("-(1 + 2) == -3"));
}

TEST(GateExpression, ArithmeticIsLeftAssociative) {
    EXPECT_EQ(shape("1 - 2 - 3 == -4"), "((1 - 2 - 3) == (-4))");
    EXPECT_TRUE(passes("1 - 2 - 3 == -4"));
    EXPECT_TRUE(passes("8 / 4 / 2 == 1"));
    EXPECT_TRUE(passes("8 / 4 * 2 == 4"));
}

TEST(GateExpression, NotBindsLooserThanComparisonTighterThanAnd) {
    EXPECT_EQ(shape("not a > b and c < d"), "((not (a > b)) and (c < d))");
    EXPECT_EQ(shape("not not a > b"), "(not (not (a > b)))");
    Metrics m{{"a", 1}, {"b", 2}, {"c", 1}, {"d", 2}};
    EXPECT_TRUE(passes("not a > b and c < d", m));
    EXPECT_FALSE(passes("not (a < b and c < d)", m));
}

TEST(GateExpression, AndBindsTighterThanOr) {
    EXPECT_EQ(shape("a > 1 or b > 1 and c > 1"), "((a > 1) or ((b > 1) and (c > 1)))");
    EXPECT_EQ(shape("(a > 1 or b > 1) and c > 1"), "(((a > 1) or (b > 1)) and (c > 1))");
    Metrics m{{"a", 2}, {"b", 0}, {"c", 0}};
    EXPECT_TRUE(passes("a > 1 or b > 1 and c > 1", m));
    EXPECT_FALSE(passes("(a > 1 or b > 1) and c > 1", m));
    EXPECT_EQ(shape("a > 1 and b > 1 and c > 1"), "((a > 1) and (b > 1) and (c > 1))");
}

TEST(GateExpression, Comparisons) {
    EXPECT_TRUE(passes("1 < 2"));
    EXPECT_FALSE(passes("2 < 2"));
    EXPECT_TRUE(passes("2 <= 2"));
    EXPECT_TRUE(passes("3 > 2"));
    EXPECT_FALSE(passes("2 > 2"));
    EXPECT_TRUE(passes("2 >= 2"));
    EXPECT_TRUE(passes("2 == 2"));
    EXPECT_FALSE(passes("2 != 2"));
    EXPECT_TRUE(passes("1 != 2"));
    EXPECT_TRUE(passes("1<2"));  // no spaces needed
}

TEST(GateExpression, Numbers) {
    EXPECT_EQ(run("x > 123", {{"x", 0}}).comparison->right, 123);
    EXPECT_EQ(run("x > 0.5", {{"x", 0}}).comparison->right, 0.5);
    EXPECT_EQ(run("x > 1e-3", {{"x", 0}}).comparison->right, 1e-3);
    EXPECT_EQ(run("x > 1E+2", {{"x", 0}}).comparison->right, 100);
    EXPECT_EQ(run("x > .25", {{"x", 0}}).comparison->right, 0.25);
    EXPECT_EQ(run("x > 2.", {{"x", 0}}).comparison->right, 2);
}

TEST(GateExpression, Names) {
    auto rule = parse_ok("f1 >= champion.f1 - 0.01 and val-loss < eval.roc_auc and f1 > 0");
    EXPECT_EQ(names(rule),
              (std::vector<std::string>{"f1", "champion.f1", "val-loss", "eval.roc_auc"}));
    // A `-` followed by a letter is part of a name; anything else is a minus.
    EXPECT_EQ(shape("a-1 > 0"), "((a - 1) > 0)");
    EXPECT_EQ(shape("a - b > 0"), "((a - b) > 0)");
    EXPECT_EQ(shape("a -b > 0"), "((a - b) > 0)");
    EXPECT_EQ(shape("a-b > 0"), "(a-b > 0)");
    EXPECT_EQ(shape("a--b > 0"), "((a - (-b)) > 0)");
    EXPECT_EQ(shape("_x.y_2.z > 0"), "(_x.y_2.z > 0)");
    // Function names are names too when not called.
    EXPECT_EQ(names(parse_ok("max > min")), (std::vector<std::string>{"max", "min"}));
}

TEST(GateExpression, TextIsTheRuleAsWritten) {
    auto rule = parse_ok("  f1 >=   champion.f1 - 0.01\n");
    EXPECT_EQ(rule.text(), "f1 >=   champion.f1 - 0.01");
    GateExpression copy = rule;
    EXPECT_EQ(copy.text(), rule.text());
    EXPECT_EQ(canonical(copy), "(f1 >= (champion.f1 - 0.01))");
}

TEST(GateExpression, Functions) {
    EXPECT_TRUE(passes("abs(-2) == 2"));
    EXPECT_TRUE(passes("abs(2 - 5) == 3"));
    EXPECT_TRUE(passes("min(3, 1, 2) == 1"));
    EXPECT_TRUE(passes("max(3, 1, 2) == 3"));
    EXPECT_TRUE(passes("max(1, 2) == 2"));
    EXPECT_TRUE(passes("abs(f1 - champion.f1) <= 0.5", {{"f1", 1}, {"champion.f1", 1.25}}));
    EXPECT_EQ(shape("max(a, b + 1) > abs(-c)"), "(max(a, (b + 1)) > abs((-c)))");
}

// --- syntax errors ----------------------------------------------------------------------

TEST(GateExpressionErrors, ExpectedAndFound) {
    EXPECT_EQ(parse_error(")", 1), "expected a number, a name or `(`, found `)`");
    EXPECT_EQ(parse_error("f1 >=", 6),
              "expected a number, a name or `(`, found the end of the rule");
    EXPECT_EQ(parse_error("f1 >= * 2", 7), "expected a number, a name or `(`, found `*`");
    EXPECT_EQ(parse_error("f1 >= 0.8 and", 14),
              "expected a number, a name or `(`, found the end of the rule");
    EXPECT_EQ(parse_error("f1 >= 0.8 0.9", 11),
              "expected an operator or the end of the rule, found `0.9`");
    EXPECT_EQ(parse_error("f1 >= champion f1", 16),
              "expected an operator or the end of the rule, found `f1`");
    EXPECT_EQ(parse_error("+1 > 0", 1), "expected a number, a name or `(`, found `+`");
    EXPECT_EQ(parse_error("a > not b", 5), "expected a number, a name or `(`, found `not`");
}

TEST(GateExpressionErrors, Parentheses) {
    EXPECT_EQ(parse_error("f1 >= (0.8", 11),
              "expected `)` to close the `(` at column 7, found the end of the rule");
    EXPECT_EQ(parse_error("(f1 >= 0.8 x", 12),
              "expected `)` to close the `(` at column 1, found `x`");
    EXPECT_EQ(parse_error("f1 >= 0.8)", 10), "found `)` with no matching `(`");
    EXPECT_EQ(parse_error("() > 1", 2), "expected a number, a name or `(`, found `)`");
}

TEST(GateExpressionErrors, EmptyRule) {
    EXPECT_EQ(parse_error("", 1), "the rule is empty");
    EXPECT_EQ(parse_error("  \n\t", 1), "the rule is empty");
}

TEST(GateExpressionErrors, OperatorsFromOtherLanguages) {
    EXPECT_EQ(parse_error("f1 = 0.8", 4), "found `=`; write `==` to compare");
    EXPECT_EQ(parse_error("f1 > 0 && f2 > 0", 8), "found `&`; write `and` to join conditions");
    EXPECT_EQ(parse_error("f1 > 0 || f2 > 0", 8), "found `|`; write `or` to join conditions");
    EXPECT_EQ(parse_error("!(f1 > 0)", 1), "found `!`; write `not` to negate a condition");
    EXPECT_EQ(parse_error("f1 ** 2 > 0", 5), "expected a number, a name or `(`, found `*`");
}

TEST(GateExpressionErrors, BadCharacters) {
    EXPECT_EQ(parse_error("f1 > $x", 6), "unexpected character `$`");
    EXPECT_EQ(parse_error("f1 > 'a'", 6), "unexpected character `'`");
    EXPECT_EQ(parse_error("f1 > \x01", 6), "unexpected byte 0x01");
    EXPECT_EQ(parse_error("f1 > \xff", 6), "unexpected byte 0xFF");
    EXPECT_EQ(parse_error("f1 > \xc3", 6), "unexpected byte 0xC3");  // truncated UTF-8
    // Columns count characters, not bytes.
    EXPECT_EQ(parse_error("\xc3\xa9 > 1", 1), "unexpected character `\xc3\xa9`");
    EXPECT_EQ(parse_error("f1 > 1 and \xe2\x82\xac > $", 12),
              "unexpected character `\xe2\x82\xac`");
}

TEST(GateExpressionErrors, BadNumbersAndNames) {
    EXPECT_EQ(parse_error("f1 > 1e", 7), "malformed number `1e`: expected digits after `e`");
    EXPECT_EQ(parse_error("f1 > 1e+", 7), "malformed number `1e+`: expected digits after `e`");
    EXPECT_EQ(parse_error("f1 > 1e999", 6), "the number `1e999` is out of range");
    EXPECT_EQ(parse_error("eval. > 1", 6), "expected a name after the `.` in `eval.`");
    EXPECT_EQ(parse_error("eval.1 > 1", 6), "expected a name after the `.` in `eval.`");
    EXPECT_EQ(parse_error("f1 > 1.5.3", 9),
              "expected an operator or the end of the rule, found `.3`");
    EXPECT_EQ(parse_error("f1 > 2x", 7), "expected an operator or the end of the rule, found `x`");
}

TEST(GateExpressionErrors, ComparisonsDoNotChain) {
    EXPECT_EQ(parse_error("a < b < c", 7),
              "comparisons cannot be chained; write `a < b and b < c`");
    EXPECT_EQ(parse_error("0 <= f1 - 1 <= 1", 13),
              "comparisons cannot be chained; write `0 <= f1 - 1 and f1 - 1 <= 1`");
    EXPECT_EQ(parse_error("a < b < )", 7),
              "comparisons cannot be chained; join two comparisons with `and`");
    // Parenthesised, the inner comparison is a condition: a type error, not a chain.
    EXPECT_EQ(parse_error("(a < b) < c", 1), "`<` compares numbers, found the condition `(a < b)`");
}

TEST(GateExpressionErrors, NumbersAndConditionsDoNotMix) {
    EXPECT_EQ(parse_error("f1 + (a > b) > 0", 6),
              "`+` needs a number on each side, found the condition `(a > b)`");
    EXPECT_EQ(parse_error("(a > b) * 2 > 0", 1),
              "`*` needs a number on each side, found the condition `(a > b)`");
    EXPECT_EQ(parse_error("f1 and f2 > 0", 1),
              "`and` needs a condition such as `f1 > 0.8` on each side, found the number `f1`");
    EXPECT_EQ(parse_error("f2 > 0 or 1", 11),
              "`or` needs a condition such as `f1 > 0.8` on each side, found the number `1`");
    EXPECT_EQ(parse_error("not f1", 5),
              "`not` needs a condition such as `f1 > 0.8`, found the number `f1`");
    EXPECT_EQ(parse_error("-(a > b) < 0", 2), "`-` needs a number, found the condition `(a > b)`");
    EXPECT_EQ(parse_error("max((a > b), 1) > 0", 5),
              "`max` needs numbers, found the condition `(a > b)`");
    EXPECT_EQ(parse_error("(a > b) == (c > d)", 1),
              "`==` compares numbers, found the condition `(a > b)`");
}

TEST(GateExpressionErrors, ARuleMustBeAComparison) {
    EXPECT_EQ(parse_error("f1", 1),
              "a rule must be a comparison such as `f1 >= 0.8`, found the number `f1`");
    EXPECT_EQ(
        parse_error("f1 - champion.f1", 1),
        "a rule must be a comparison such as `f1 >= 0.8`, found the number `f1 - champion.f1`");
    EXPECT_EQ(parse_error("  (0.5)", 3),
              "a rule must be a comparison such as `f1 >= 0.8`, found the number `(0.5)`");
}

TEST(GateExpressionErrors, Functions) {
    EXPECT_EQ(parse_error("abs() > 0", 1), "`abs` takes 1 argument, found 0");
    EXPECT_EQ(parse_error("abs(1, 2) > 0", 1), "`abs` takes 1 argument, found 2");
    EXPECT_EQ(parse_error("x > min(1)", 5), "`min` takes 2 or more arguments, found 1");
    EXPECT_EQ(parse_error("max() > 0", 1), "`max` takes 2 or more arguments, found 0");
    EXPECT_EQ(parse_error("max(a,) > 0", 7), "expected a number, a name or `(`, found `)`");
    EXPECT_EQ(parse_error("max(a b) > 0", 7),
              "expected `,` or `)` in the call to `max`, found `b`");
    EXPECT_EQ(parse_error("max(a > b, 1) > 0", 7),
              "expected `,` or `)` in the call to `max`, found `>`");
    EXPECT_EQ(parse_error("max(a, b > 0", 10),
              "expected `,` or `)` in the call to `max`, found `>`");
    EXPECT_EQ(parse_error("mean(a, b) > 0", 1),
              "unknown function `mean` (the functions are abs, min and max)");
    EXPECT_EQ(parse_error("x > mx(a, b)", 5),
              "unknown function `mx` (the functions are abs, min and max); did you mean `max`?");
    EXPECT_EQ(parse_error("f1 (2) > 0", 1),
              "unknown function `f1` (the functions are abs, min and max)");
}

TEST(GateExpressionErrors, LongQuotesAreShortened) {
    std::string long_name(100, 'a');
    std::string message = parse_error(long_name + " + 1", 1);
    EXPECT_NE(message.find("...`"), std::string::npos) << message;
    EXPECT_LT(message.size(), 140u) << message;
}

// --- nesting ----------------------------------------------------------------------------

std::string repeat(std::string_view piece, int times) {
    std::string out;
    for (int i = 0; i < times; ++i) out += piece;
    return out;
}

TEST(GateExpressionNesting, UpToTheLimitParses) {
    const int n = k_max_gate_expression_depth;
    EXPECT_TRUE(passes(repeat("(", n) + "1 > 0" + repeat(")", n)));
    EXPECT_TRUE(passes(repeat("not ", n) + "1 > 0"));
    EXPECT_TRUE(passes(repeat("-", n) + "1 == 1"));
    EXPECT_TRUE(passes(repeat("abs(", n) + "1" + repeat(")", n) + " == 1"));
}

TEST(GateExpressionNesting, DeeperIsAnErrorNotACrash) {
    const int n = k_max_gate_expression_depth + 1;
    const std::string too_deep = "the rule nests too deeply (more than 200 levels)";
    EXPECT_EQ(parse_error(repeat("(", n) + "1 > 0" + repeat(")", n), n), too_deep);
    EXPECT_EQ(parse_error(repeat("not ", n) + "1 > 0", 4 * (n - 1) + 1), too_deep);
    EXPECT_EQ(parse_error(repeat("-", n) + "1 == 1", n), too_deep);
    EXPECT_EQ(parse_error(repeat("(", 100000), 201), too_deep);
    EXPECT_EQ(parse_error(repeat("-", 100000), 201), too_deep);
    EXPECT_EQ(parse_error(repeat("max(", 100000), 801), too_deep);
}

TEST(GateExpressionNesting, LongFlatRulesNeedNoStack) {
    // Operators of one level make one node, so a long chain is wide, not deep.
    const int n = 100000;
    EXPECT_TRUE(passes("0" + repeat(" + 1", n) + " == " + std::to_string(n)));
    EXPECT_TRUE(passes("1 > 0" + repeat(" and 1 > 0", n)));
    EXPECT_FALSE(passes("1 < 0" + repeat(" or 1 < 0", n)));
}

// --- evaluation -------------------------------------------------------------------------

TEST(GateExpressionEvaluation, TopLevelComparisonIsReported) {
    auto rule = parse_ok("f1 >= champion.f1 - 0.5");
    Metrics m{{"f1", 0.84}, {"champion.f1", 1.25}};
    RuleResult result = evaluate(rule, lookup_in(m));
    EXPECT_TRUE(result.passed);
    EXPECT_FALSE(result.error);
    ASSERT_TRUE(result.comparison);
    EXPECT_EQ(result.comparison->left, 0.84);
    EXPECT_EQ(result.comparison->op, ">=");
    EXPECT_EQ(result.comparison->right, 0.75);
    EXPECT_EQ(result.values,
              (std::vector<std::pair<std::string, double>>{{"f1", 0.84}, {"champion.f1", 1.25}}));
    EXPECT_EQ(describe(rule, result), "f1 >= champion.f1 - 0.5: 0.84 >= 0.75");
}

TEST(GateExpressionEvaluation, OtherRulesHaveNoComparison) {
    auto rule = parse_ok("f1 > 0.5 and not loss > 0.25");
    Metrics m{{"f1", 0.84}, {"loss", 0.5}};
    RuleResult result = evaluate(rule, lookup_in(m));
    EXPECT_FALSE(result.passed);
    EXPECT_FALSE(result.error);
    EXPECT_FALSE(result.comparison);
    EXPECT_EQ(describe(rule, result),
              "f1 > 0.5 and not loss > 0.25: false (f1 = 0.84, loss = 0.5)");
}

TEST(GateExpressionEvaluation, MissingNameFailsClosed) {
    auto rule = parse_ok("f1 >= champion.f1 and loss < 1");
    int calls = 0;
    Metrics m{{"f1", 0.9}, {"loss", 0.5}};
    MetricLookup lookup = [&](std::string_view name) -> std::optional<double> {
        ++calls;
        return lookup_in(m)(name);
    };
    RuleResult result = evaluate(rule, lookup);
    EXPECT_FALSE(result.passed);
    EXPECT_EQ(result.error, "no metric `champion.f1`");
    EXPECT_EQ(calls, 3);  // once per name, and the others are still looked up for the report
    EXPECT_EQ(result.values,
              (std::vector<std::pair<std::string, double>>{{"f1", 0.9}, {"loss", 0.5}}));
    EXPECT_EQ(describe(rule, result),
              "f1 >= champion.f1 and loss < 1: error: no metric `champion.f1`");
}

TEST(GateExpressionEvaluation, MissingNameWithDashGetsAHint) {
    RuleResult result = run("f1-baseline > 0", {{"f1", 1}, {"baseline", 0}});
    EXPECT_EQ(result.error,
              "no metric `f1-baseline` (a `-` between letters is part of a "
              "name; write `a - b` to subtract)");
}

TEST(GateExpressionEvaluation, EmptyLookupFailsClosed) {
    RuleResult result = evaluate(parse_ok("f1 > 0"), MetricLookup{});
    EXPECT_FALSE(result.passed);
    EXPECT_EQ(result.error, "no metric `f1`");
}

TEST(GateExpressionEvaluation, NanAndInfiniteMetricsFailClosed) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    // NaN compares false both ways, so `f1 < 0.5` would pass without the check.
    RuleResult result = run("not f1 < 0.5", {{"f1", nan}});
    EXPECT_FALSE(result.passed);
    EXPECT_EQ(result.error, "metric `f1` is NaN");
    ASSERT_EQ(result.values.size(), 1u);
    EXPECT_TRUE(std::isnan(result.values[0].second));
    EXPECT_EQ(run("f1 > 0", {{"f1", inf}}).error, "metric `f1` is infinite");
    EXPECT_EQ(run("f1 < 0", {{"f1", -inf}}).error, "metric `f1` is infinite");
}

TEST(GateExpressionEvaluation, DivisionByZero) {
    RuleResult result = run("f1 / (a - a) > 0", {{"f1", 1}, {"a", 3}});
    EXPECT_FALSE(result.passed);
    EXPECT_EQ(result.error, "division by zero in `f1 / (a - a)`");
    EXPECT_FALSE(result.comparison);
    EXPECT_EQ(run("2 * 3 / 0 > 1").error, "division by zero in `2 * 3 / 0`");
    EXPECT_EQ(run("1 / -0 > 1").error, "division by zero in `1 / -0`");
}

TEST(GateExpressionEvaluation, OverflowIsAnError) {
    RuleResult result = run("a * a > 0", {{"a", 1e200}});
    EXPECT_FALSE(result.passed);
    EXPECT_EQ(result.error, "`a * a` is infinite (the numbers are too large)");
    EXPECT_EQ(run("a / b > 0", {{"a", 1e300}, {"b", 1e-300}}).error,
              "`a / b` is infinite (the numbers are too large)");
    EXPECT_EQ(run("a + a - a > 0", {{"a", 1.7e308}}).error,
              "`a + a` is infinite (the numbers are too large)");
}

TEST(GateExpressionEvaluation, EveryOperandIsEvaluated) {
    // `or` would be decided by its left side, but an error on the right still fails.
    RuleResult result = run("1 > 0 or 1 / 0 > 0");
    EXPECT_FALSE(result.passed);
    EXPECT_EQ(result.error, "division by zero in `1 / 0`");
    EXPECT_EQ(run("1 < 0 and max(1, 1 / 0) > 0").error, "division by zero in `1 / 0`");
}

TEST(GateExpressionEvaluation, FormatNumber) {
    EXPECT_EQ(format_number(0.84), "0.84");
    EXPECT_EQ(format_number(3), "3");
    EXPECT_EQ(format_number(-0.5), "-0.5");
    EXPECT_EQ(format_number(1e-5), "1e-05");
    EXPECT_EQ(format_number(0.1 + 0.2), "0.30000000000000004");
}

// --- fuzzing ----------------------------------------------------------------------------

// Whatever happened, the result must be consistent: errors never pass.
void check_consistent(std::string_view text) {
    auto parsed = parse_gate_expression(text);
    if (!parsed) {
        EXPECT_EQ(parsed.error().code, util::ErrorCode::bad_input);
        EXPECT_FALSE(parsed.error().message.empty());
        EXPECT_GE(parsed.error().where.column, 1);
        EXPECT_LE(parsed.error().where.column, static_cast<int>(text.size()) + 1);
        return;
    }
    Metrics m{{"a", 1}, {"b", 0}, {"c", -2.5}, {"f1", 0.8}, {"champion.f1", 0.75}};
    RuleResult result = evaluate(*parsed, lookup_in(m));
    if (result.error) {
        EXPECT_FALSE(result.passed) << text;
    }
    // The canonical form reads back as the same tree.
    std::string shape1 = canonical(*parsed);
    auto again = parse_gate_expression(shape1);
    ASSERT_TRUE(again.has_value()) << text << " -> " << shape1 << ": " << again.error().message;
    EXPECT_EQ(canonical(*again), shape1);
    RuleResult result2 = evaluate(*again, lookup_in(m));
    EXPECT_EQ(result2.passed, result.passed) << text;
    EXPECT_EQ(result2.error.has_value(), result.error.has_value()) << text;
}

TEST(GateExpressionFuzz, RandomCharactersNeverCrash) {
    const std::string alphabet = "abcf1 ()+-*/<>=!.,_e0123456789andornotminmaxabs\t\n$\"'&|";
    std::mt19937 random(20240611);
    for (int i = 0; i < 4000; ++i) {
        std::uniform_int_distribution<std::size_t> length(0, 40);
        std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
        std::string text;
        for (std::size_t k = length(random); k > 0; --k) text += alphabet[pick(random)];
        SCOPED_TRACE(text);
        check_consistent(text);
    }
}

TEST(GateExpressionFuzz, RandomBytesNeverCrash) {
    std::mt19937 random(7);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int i = 0; i < 2000; ++i) {
        std::string text(std::uniform_int_distribution<std::size_t>(0, 200)(random), '\0');
        for (char& c : text) c = static_cast<char>(byte(random));
        check_consistent(text);
    }
    std::string huge(1 << 20, '(');
    check_consistent(huge);
    for (std::size_t k = 0; k < huge.size(); ++k) huge[k] = "a+1-"[k % 4];
    check_consistent(huge);
}

// Random well-formed rules, then the same rules with a few characters changed.
class RuleGenerator {
  public:
    explicit RuleGenerator(unsigned seed) : random_(seed) {}

    std::string condition(int depth) {
        switch (depth <= 0 ? 0 : pick(4)) {
            case 0:
                return number(depth - 1) + " " + comparison_op() + " " + number(depth - 1);
            case 1:
                return condition(depth - 1) + " and " + condition(depth - 1);
            case 2:
                return condition(depth - 1) + " or " + condition(depth - 1);
            default:
                return pick(2) == 0 ? "not " + condition(depth - 1)
                                    : "(" + condition(depth - 1) + ")";
        }
    }

    std::string number(int depth) {
        static const char* const k_leaves[] = {"a", "b", "c",   "f1",  "champion.f1",
                                               "0", "1", "0.5", "2e3", ".25"};
        switch (depth <= 0 ? 0 : pick(6)) {
            case 0:
                return k_leaves[pick(10)];
            case 1:
                return number(depth - 1) + " " + "+-*/"[pick(4)] + " " + number(depth - 1);
            case 2:
                return "-" + number(depth - 1);
            case 3:
                return "abs(" + number(depth - 1) + ")";
            case 4:
                return std::string(pick(2) ? "min(" : "max(") + number(depth - 1) + ", " +
                       number(depth - 1) + ")";
            default:
                return "(" + number(depth - 1) + ")";
        }
    }

    std::string mutate(std::string text) {
        const std::string junk = "()+-*/<>=.,a1 ";
        for (int k = pick(3) + 1; k > 0 && !text.empty(); --k) {
            std::size_t at = pick(static_cast<int>(text.size()));
            switch (pick(3)) {
                case 0:
                    text.erase(at, 1);
                    break;
                case 1:
                    text.insert(at, 1, junk[pick(static_cast<int>(junk.size()))]);
                    break;
                default:
                    text[at] = junk[pick(static_cast<int>(junk.size()))];
                    break;
            }
        }
        return text;
    }

    int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(random_); }

  private:
    std::string comparison_op() {
        static const char* const k_ops[] = {"<", "<=", ">", ">=", "==", "!="};
        return k_ops[pick(6)];
    }

    std::mt19937 random_;
};

TEST(GateExpressionFuzz, GeneratedRulesParseAndMutationsNeverCrash) {
    RuleGenerator generator(42);
    int parsed_mutations = 0;
    for (int i = 0; i < 2000; ++i) {
        std::string rule = generator.condition(generator.pick(5));
        SCOPED_TRACE(rule);
        ASSERT_TRUE(parse_gate_expression(rule).has_value())
            << parse_gate_expression(rule).error().message;
        check_consistent(rule);
        std::string mutated = generator.mutate(rule);
        SCOPED_TRACE(mutated);
        check_consistent(mutated);
        parsed_mutations += parse_gate_expression(mutated).has_value() ? 1 : 0;
    }
    EXPECT_GT(parsed_mutations, 0);  // the mutations reach the evaluator too
}

}  // namespace
}  // namespace sluice::pipeline
