// Scanning, name checking and substitution of `${{ ... }}` expressions.
#include "runner/pipeline/expressions.hpp"

#include <algorithm>
#include <array>

#include "runner/util/suggest.hpp"

namespace sluice::pipeline {
namespace {

constexpr std::string_view k_open = "${{";
constexpr std::string_view k_close = "}}";

constexpr std::array<std::string_view, 9> k_builtin_names{
    "commit.sha",     "commit.short", "commit.branch", "commit.tag",    "commit.author",
    "commit.message", "run.id",       "run.event",     "pipeline.name",
};

bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

// Segments of a dotted name, each non-empty and made of name characters.
bool dotted_name(std::string_view s) {
    if (s.empty()) return false;
    bool segment_empty = true;
    for (char c : s) {
        if (c == '.') {
            if (segment_empty) return false;
            segment_empty = true;
        } else if (name_char(c)) {
            segment_empty = false;
        } else {
            return false;
        }
    }
    return !segment_empty;
}

std::vector<std::string_view> split(std::string_view name) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= name.size(); ++i) {
        if (i == name.size() || name[i] == '.') {
            parts.push_back(name.substr(start, i - start));
            start = i + 1;
        }
    }
    return parts;
}

bool contains(const std::vector<std::string>& list, std::string_view s) {
    return std::find(list.begin(), list.end(), s) != list.end();
}

std::string quote(std::string_view s) { return "`" + std::string(s) + "`"; }

std::string check_stage_output(const std::vector<std::string_view>& parts, std::string_view name,
                               const ExpressionScope& scope) {
    if (!scope.in_stage) {
        return "`stages.` names can only be used inside a stage, in `" + std::string(name) + "`";
    }
    if (parts.size() != 4 || parts[2] != "outputs") {
        return "unknown name " + quote(name) + "; a stage's outputs are named " +
               "`stages.STAGE.outputs.KEY`";
    }
    std::string stage(parts[1]);
    if (!contains(scope.all_stages, stage)) {
        return "unknown stage " + quote(stage) + " in " + quote(name) +
               util::did_you_mean(stage, scope.all_stages);
    }
    if (!contains(scope.needed_stages, stage)) {
        return quote(name) + " uses stage " + quote(stage) +
               ", which this stage does not need; add it to `needs`";
    }
    return {};
}

std::string check_variable(std::string_view var, std::string_view name,
                           const ExpressionScope& scope) {
    if (contains(scope.variables, var)) return {};
    std::vector<std::string> names;
    for (const auto& v : scope.variables) names.push_back("vars." + v);
    return "unknown variable " + quote(name) + " (not declared in `variables`" +
           (scope.in_stage ? std::string() : std::string(" before it")) + ")" +
           util::did_you_mean(name, names);
}

}  // namespace

std::vector<Expression> find_expressions(std::string_view text) {
    std::vector<Expression> found;
    std::size_t from = 0;
    while (true) {
        std::size_t open = text.find(k_open, from);
        if (open == std::string_view::npos) break;
        Expression e;
        e.offset = open;
        std::size_t inner = open + k_open.size();
        std::size_t close = text.find(k_close, inner);
        if (close == std::string_view::npos) {
            e.length = text.size() - open;
            e.problem = "unterminated `${{`: expected `}}`";
            found.push_back(std::move(e));
            break;
        }
        e.length = close + k_close.size() - open;
        std::string_view body = text.substr(inner, close - inner);
        while (!body.empty() && (body.front() == ' ' || body.front() == '\t')) {
            body.remove_prefix(1);
        }
        while (!body.empty() && (body.back() == ' ' || body.back() == '\t')) body.remove_suffix(1);
        if (body.empty()) {
            e.problem = "empty `${{ }}`: expected a name such as `vars.NAME` or `commit.sha`";
        } else if (!dotted_name(body)) {
            e.problem = "invalid expression `${{ " + std::string(body) +
                        " }}`: expected a dotted name such as `vars.NAME` or `commit.sha`";
        } else {
            e.name = std::string(body);
        }
        found.push_back(std::move(e));
        from = close + k_close.size();
    }
    return found;
}

std::span<const std::string_view> builtin_names() { return k_builtin_names; }

std::string check_name(std::string_view name, const ExpressionScope& scope) {
    for (std::string_view builtin : k_builtin_names) {
        if (name == builtin) return {};
    }
    auto parts = split(name);
    if (parts[0] == "vars" && parts.size() == 2) return check_variable(parts[1], name, scope);
    if (parts[0] == "stages") return check_stage_output(parts, name, scope);

    std::vector<std::string> known(k_builtin_names.begin(), k_builtin_names.end());
    for (const auto& v : scope.variables) known.push_back("vars." + v);
    return "unknown name " + quote(name) + " in `${{ }}`" + util::did_you_mean(name, known);
}

std::expected<std::string, util::Error> interpolate(std::string_view text,
                                                    const ExpressionLookup& lookup) {
    std::string out;
    std::size_t copied = 0;
    for (const Expression& e : find_expressions(text)) {
        if (!e.problem.empty()) return util::fail(util::ErrorCode::bad_input, e.problem);
        std::optional<std::string> value = lookup(e.name);
        if (!value) {
            return util::fail(util::ErrorCode::bad_input, "no value for `${{ " + e.name + " }}`");
        }
        out.append(text.substr(copied, e.offset - copied));
        out += *value;
        copied = e.offset + e.length;
    }
    out.append(text.substr(copied));
    return out;
}

}  // namespace sluice::pipeline
