// Typed reading of yaml-cpp nodes with positioned errors.
#include "runner/pipeline/yaml_reader.hpp"

#include <charconv>
#include <climits>
#include <map>

#include "runner/pipeline/duration.hpp"
#include "runner/pipeline/expressions.hpp"
#include "runner/util/suggest.hpp"

namespace sluice::pipeline {
namespace {

std::string join_or(std::span<const std::string_view> words) {
    std::string out;
    for (std::size_t i = 0; i < words.size(); ++i) {
        if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
        out += words[i];
    }
    return out;
}

}  // namespace

std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map:
            return "a map";
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            return "nothing";
        case YAML::NodeType::Scalar:
            break;
    }
    std::string text = node.Scalar();
    constexpr std::size_t k_max = 40;
    if (text.size() > k_max) text = text.substr(0, k_max) + "...";
    for (char& c : text) {
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    return quote(text);
}

std::string quote(std::string_view text) { return "`" + std::string(text) + "`"; }

bool is_blank(std::string_view text) {
    return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

bool is_env_name(std::string_view name) {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
    for (char c : name) {
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) return false;
    }
    return true;
}

Reader::Reader(const SourceText& source, std::string file, util::Errors& errors)
    : source_(source), file_(std::move(file)), errors_(errors) {}

util::Location Reader::where_offset(std::size_t offset) const {
    Pos p = source_.position_of(offset);
    return util::Location{file_, p.line, p.column};
}

util::Location Reader::where(const YAML::Node& node) const {
    YAML::Mark mark = node.Mark();
    if (mark.pos >= 0) return where_offset(static_cast<std::size_t>(mark.pos));
    if (mark.line >= 0) return util::Location{file_, mark.line + 1, mark.column + 1};
    return util::Location{file_, 0, 0};
}

util::Location Reader::where_value(const Entry& entry) const {
    return entry.value.IsNull() ? where(entry.key_node) : where(entry.value);
}

Pos Reader::pos(const YAML::Node& node) const { return pos(where(node)); }

void Reader::error(const util::Location& at, std::string message) {
    errors_.push_back(util::Error{util::ErrorCode::bad_input, std::move(message), at});
}

std::vector<Entry> Reader::entries(const YAML::Node& map, std::string_view parent,
                                   std::string_view noun) {
    std::vector<Entry> out;
    std::map<std::string, int> first_line;
    for (const auto& pair : map) {
        // Copies: yaml-cpp's iterators hand out proxies, a reference into one dangles.
        YAML::Node key = pair.first;
        YAML::Node value = pair.second;
        if (!key.IsScalar()) {
            error(key, "keys must be strings, got " + describe(key));
            continue;
        }
        const std::string& name = key.Scalar();
        util::Location at = where(key);
        auto [seen, inserted] = first_line.emplace(name, at.line);
        if (!inserted) {
            error(at, "duplicate " + std::string(noun) + " " + quote(name) + " (first at line " +
                          std::to_string(seen->second) + ")");
            continue;
        }
        std::string label = parent.empty() ? name : std::string(parent) + "." + name;
        out.push_back(Entry{name, std::move(label), key, value});
    }
    return out;
}

std::optional<std::string> Reader::unknown_key(const Entry& entry,
                                               std::span<const std::string_view> known,
                                               std::string_view where_text) {
    if (entry.key == "<<") {
        error(entry.key_node,
              "YAML merge keys (`<<`) are not supported; repeat the keys or "
              "use `defaults`");
        return std::nullopt;
    }
    std::string message = "unknown key " + quote(entry.key);
    if (!where_text.empty()) message += " " + std::string(where_text);
    std::optional<std::string> suggestion = util::closest_match(entry.key, known);
    if (suggestion) message += "; did you mean `" + *suggestion + "`?";
    error(entry.key_node, std::move(message));
    return suggestion;
}

std::optional<std::string> Reader::string(const Entry& entry, bool allow_empty) {
    const YAML::Node& v = entry.value;
    if (v.IsNull()) {
        if (allow_empty) return std::string();
        error_at_value(entry, quote(entry.label) + " has no value");
        return std::nullopt;
    }
    if (!v.IsScalar()) {
        error(v, quote(entry.label) + " must be a string, got " + describe(v));
        return std::nullopt;
    }
    if (!allow_empty && is_blank(v.Scalar())) {
        error(v, quote(entry.label) + " is empty");
        return std::nullopt;
    }
    return v.Scalar();
}

std::optional<bool> Reader::boolean(const Entry& entry) {
    const YAML::Node& v = entry.value;
    if (v.IsScalar()) {
        const std::string& s = v.Scalar();
        if (s == "true" || s == "True" || s == "TRUE") return true;
        if (s == "false" || s == "False" || s == "FALSE") return false;
    }
    error_at_value(entry, quote(entry.label) + " must be true or false, got " + describe(v));
    return std::nullopt;
}

std::optional<int> Reader::integer(const Entry& entry, int min, int max) {
    const YAML::Node& v = entry.value;
    if (v.IsScalar()) {
        std::string_view s = v.Scalar();
        if (!s.empty() && s.front() == '+') s.remove_prefix(1);
        int value = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
        if (ec == std::errc() && end == s.data() + s.size() && !s.empty() && value >= min &&
            value <= max) {
            return value;
        }
    }
    std::string range = max == INT_MAX
                            ? ">= " + std::to_string(min)
                            : "from " + std::to_string(min) + " to " + std::to_string(max);
    error_at_value(
        entry, quote(entry.label) + " must be a whole number " + range + ", got " + describe(v));
    return std::nullopt;
}

std::optional<Millis> Reader::duration(const Entry& entry, bool allow_zero) {
    const YAML::Node& v = entry.value;
    std::optional<Millis> d;
    if (v.IsScalar()) d = parse_duration(v.Scalar());
    if (!d) {
        error_at_value(entry, quote(entry.label) +
                                  " must be a duration such as 45s, 10m, "
                                  "1h30m or 2d, got " +
                                  describe(v));
        return std::nullopt;
    }
    if (!allow_zero && d->count() == 0) {
        error(v, quote(entry.label) + " must be longer than zero");
        return std::nullopt;
    }
    return d;
}

std::optional<std::vector<std::string>> Reader::strings(const Entry& entry, std::string_view what) {
    const YAML::Node& v = entry.value;
    if (v.IsNull()) {
        error_at_value(entry, quote(entry.label) + " has no value");
        return std::nullopt;
    }
    if (v.IsScalar()) {
        if (is_blank(v.Scalar())) {
            error(v, quote(entry.label) + " is empty");
            return std::nullopt;
        }
        return std::vector<std::string>{v.Scalar()};
    }
    if (!v.IsSequence()) {
        error(v, quote(entry.label) + " must be a list of " + std::string(what) + ", got " +
                     describe(v));
        return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (const YAML::Node& item : v) {
        if (item.IsNull() || (item.IsScalar() && is_blank(item.Scalar()))) {
            error(item.IsNull() ? where(v) : where(item), "empty item in " + quote(entry.label));
            ok = false;
        } else if (!item.IsScalar()) {
            error(item, "items of " + quote(entry.label) + " must be " + std::string(what) +
                            ", got " + describe(item));
            ok = false;
        } else {
            out.push_back(item.Scalar());
        }
    }
    if (!ok) return std::nullopt;
    return out;
}

std::optional<std::string> Reader::choice(const Entry& entry,
                                          std::span<const std::string_view> allowed) {
    auto s = string(entry);
    if (!s) return std::nullopt;
    for (std::string_view a : allowed) {
        if (*s == a) return s;
    }
    error(entry.value, quote(entry.label) + " must be " + join_or(allowed) + ", got " +
                           describe(entry.value) + util::did_you_mean(*s, allowed));
    return std::nullopt;
}

std::optional<VarList> Reader::env_map(const Entry& entry, int stage) {
    const YAML::Node& v = entry.value;
    if (!v.IsMap()) {
        error_at_value(entry,
                       quote(entry.label) + " must be a map of NAME: value, got " + describe(v));
        return std::nullopt;
    }
    VarList out;
    bool ok = true;
    for (const Entry& var : entries(v, entry.label)) {
        if (!is_env_name(var.key)) {
            error(var.key_node, quote(var.key) +
                                    " is not a valid environment variable name "
                                    "(letters, digits and `_`, not starting with "
                                    "a digit)");
            ok = false;
            continue;
        }
        if (!var.value.IsNull() && !var.value.IsScalar()) {
            error(var.value, quote(var.label) + " must be a string, got " + describe(var.value));
            ok = false;
            continue;
        }
        std::string value = var.value.IsNull() ? std::string() : var.value.Scalar();
        if (var.value.IsScalar()) scan_expressions(var.value, stage, out.size());
        out.emplace_back(var.key, std::move(value));
    }
    if (!ok) return std::nullopt;
    return out;
}

util::Location Reader::where_inside(const YAML::Node& scalar, int column) const {
    const std::string& text = scalar.Scalar();
    const std::string& source = source_.text();
    int mark = scalar.Mark().pos;
    if (mark < 0 || column < 1 || text.find('\n') != std::string::npos) return where(scalar);
    auto start = static_cast<std::size_t>(mark);
    if (start < source.size() && (source[start] == '"' || source[start] == '\'')) ++start;
    if (source.compare(start, text.size(), text) != 0) return where(scalar);
    return where_offset(start + static_cast<std::size_t>(column - 1));
}

void Reader::scan_expressions(const YAML::Node& scalar, int stage, std::size_t variable) {
    const std::string& text = scalar.Scalar();
    std::vector<Expression> found = find_expressions(text);
    if (found.empty()) return;
    // The n-th `${{` of the value is the n-th in the file from where the value starts:
    // that gives exact columns for plain, quoted and block scalars alike (yaml-cpp only
    // marks where the value begins, and quoting and indentation shift what follows).
    const std::string& source = source_.text();
    int mark = scalar.Mark().pos;
    std::size_t search = mark >= 0 ? static_cast<std::size_t>(mark) : std::string::npos;
    for (const Expression& e : found) {
        util::Location at = where(scalar);
        if (search != std::string::npos) {
            std::size_t hit = source.find("${{", search);
            if (hit != std::string::npos) {
                at = where_offset(hit);
                search = hit + 3;
            } else {
                search = std::string::npos;
            }
        }
        if (!e.problem.empty()) {
            error(at, e.problem);
        } else {
            pending_.push_back(PendingName{e.name, at, stage, variable});
        }
    }
}

}  // namespace sluice::pipeline
