// The table of kind-specific keys and their conversion to JSON.
#include "runner/pipeline/kind_keys.hpp"

#include <array>
#include <cctype>

#include "runner/pipeline/duration.hpp"
#include "runner/pipeline/gate_expression.hpp"
#include "runner/pipeline/workspace_path_checks.hpp"
#include "runner/util/suggest.hpp"

namespace sluice::pipeline {
namespace {

enum class Type {
    text,           // a string
    text_list,      // a list of strings (one string is a list of one), stored as an array
    text_or_list,   // a string or a list of strings, stored as written (exec vs shell form)
    required_list,  // text_list that must not be empty
    model_name,     // a literal registered-model name (no expressions)
    rules,          // required_list of gate rules, each checked by the gate's parser
    choice,         // one of `choices`
    string_map,     // KEY: scalar, stored as an object of strings
    env_map,        // NAME: scalar with environment variable names
    registry,       // builtin | file | mlflow, or { mlflow: { uri: URL } }
    credentials,    // a string (a name) or a map of strings
    ports,          // a port or a list of them (8080, "8080/tcp"), stored as strings
    duration,       // a duration (`30s`, `2m`), stored as written
    count,          // a whole number (`3`), stored as a string
};

struct KindKey {
    std::string_view name;
    StageKind kind;
    Type type;
    bool required = false;
    std::span<const std::string_view> choices = {};
};

constexpr std::array<std::string_view, 2> k_champion_policies{"pass", "fail"};
constexpr std::array<std::string_view, 3> k_deploy_targets{"local", "kubernetes", "command"};
constexpr std::array<std::string_view, 3> k_registries{"builtin", "file", "mlflow"};

// deploy's `environment`, `run`, `approval` and `promote` are not here: they are stage
// keys with typed fields (any stage may have them). image's `env` is here: for an image
// it is the image's environment, not the build's.
constexpr std::array<KindKey, 30> k_kind_keys{{
    {"registry", StageKind::gate, Type::registry},
    {"model", StageKind::gate, Type::model_name},
    {"require", StageKind::gate, Type::rules, true},
    {"if_no_champion", StageKind::gate, Type::choice, false, k_champion_policies},
    {"candidate", StageKind::gate, Type::text},
    {"champion", StageKind::gate, Type::text},
    {"context", StageKind::image, Type::text, true},
    {"tag", StageKind::image, Type::text},
    {"base", StageKind::image, Type::text},
    {"builder", StageKind::image, Type::text},
    {"entrypoint", StageKind::image, Type::text_or_list},
    {"cmd", StageKind::image, Type::text_or_list},
    {"env", StageKind::image, Type::env_map},
    {"workdir", StageKind::image, Type::text},
    {"expose", StageKind::image, Type::ports},
    {"labels", StageKind::image, Type::string_map},
    {"ignore", StageKind::image, Type::text_list},
    {"image", StageKind::push, Type::text},
    {"tag", StageKind::push, Type::text},
    {"credentials", StageKind::push, Type::credentials},
    {"target", StageKind::deploy, Type::choice, false, k_deploy_targets},
    {"health_url", StageKind::deploy, Type::text},
    {"manifest", StageKind::deploy, Type::text},
    {"image", StageKind::deploy, Type::text},
    {"health_timeout", StageKind::deploy, Type::duration},
    {"kubectl", StageKind::deploy, Type::text},
    {"name", StageKind::deploy, Type::text},
    {"namespace", StageKind::deploy, Type::text},
    {"replicas", StageKind::deploy, Type::count},
    {"port", StageKind::deploy, Type::count},
}};

const KindKey* find(std::string_view key, StageKind kind) {
    for (const KindKey& k : k_kind_keys) {
        if (k.name == key && k.kind == kind) return &k;
    }
    return nullptr;
}

nlohmann::json scanned(Reader& reader, const YAML::Node& scalar, int stage) {
    reader.scan_expressions(scalar, stage);
    return scalar.Scalar();
}

// KEY: scalar pairs (values may be empty); nullopt after reporting a mistake.
std::optional<nlohmann::json> string_map(Reader& reader, const Entry& entry, int stage,
                                         bool env_names) {
    if (!entry.value.IsMap()) {
        reader.error_at_value(entry,
                              quote(entry.label) + " must be a map, got " + describe(entry.value));
        return std::nullopt;
    }
    nlohmann::json out = nlohmann::json::object();
    bool ok = true;
    for (const Entry& item : reader.entries(entry.value, entry.label)) {
        if (env_names && !is_env_name(item.key)) {
            reader.error(item.key_node, quote(item.key) +
                                            " is not a valid environment "
                                            "variable name");
            ok = false;
        } else if (item.value.IsNull()) {
            out[item.key] = "";
        } else if (!item.value.IsScalar()) {
            reader.error(item.value,
                         quote(item.label) + " must be a string, got " + describe(item.value));
            ok = false;
        } else {
            out[item.key] = scanned(reader, item.value, stage);
        }
    }
    if (!ok) return std::nullopt;
    return out;
}

std::optional<nlohmann::json> text_list(Reader& reader, const Entry& entry, int stage,
                                        std::string_view what) {
    auto items = reader.strings(entry, what);
    if (!items) return std::nullopt;
    // Scan each item node for expressions (a single string is its own node).
    if (entry.value.IsScalar()) {
        reader.scan_expressions(entry.value, stage);
    } else {
        for (const YAML::Node& item : entry.value) reader.scan_expressions(item, stage);
    }
    return nlohmann::json(*items);
}

// Syntax and type errors in gate rules, at their column. A rule with `${{ }}` in it is
// checked when the gate runs, once the expression is resolved.
void check_rules(Reader& reader, const YAML::Node& value) {
    auto check = [&](const YAML::Node& item) {
        if (!item.IsScalar()) return;
        const std::string& text = item.Scalar();
        if (text.find("${{") != std::string::npos) return;
        auto parsed = parse_gate_expression(text);
        if (!parsed) {
            reader.error(reader.where_inside(item, parsed.error().where.column),
                         "in rule " + quote(text) + ": " + parsed.error().message);
        }
    };
    if (value.IsSequence()) {
        for (const YAML::Node& item : value) check(item);
    } else {
        check(value);
    }
}

std::optional<nlohmann::json> registry(Reader& reader, const Entry& entry, int stage) {
    if (entry.value.IsScalar() || entry.value.IsNull()) {
        auto name = reader.choice(entry, k_registries);
        if (!name) return std::nullopt;
        return nlohmann::json(*name);
    }
    if (!entry.value.IsMap() || entry.value.size() != 1) {
        reader.error(entry.value, quote(entry.label) +
                                      " must be builtin, file, mlflow or a map "
                                      "like { mlflow: { uri: URL } }, got " +
                                      describe(entry.value));
        return std::nullopt;
    }
    auto items = reader.entries(entry.value, entry.label);
    if (items.empty()) return std::nullopt;  // a non-string key, already reported
    const Entry& only = items.front();
    bool known = false;
    for (std::string_view r : k_registries) known = known || only.key == r;
    if (!known) {
        reader.error(only.key_node, "unknown registry " + quote(only.key) +
                                        util::did_you_mean(only.key, k_registries) +
                                        " (registries: builtin, file, mlflow)");
        return std::nullopt;
    }
    nlohmann::json settings = nlohmann::json::object();
    if (!only.value.IsNull()) {
        auto map = string_map(reader, only, stage, false);
        if (!map) return std::nullopt;
        settings = std::move(*map);
    }
    return nlohmann::json{{only.key, std::move(settings)}};
}

std::optional<nlohmann::json> convert(Reader& reader, const Entry& entry, const KindKey& key,
                                      int stage) {
    const YAML::Node& v = entry.value;
    switch (key.type) {
        case Type::text: {
            auto s = reader.string(entry);
            if (!s) return std::nullopt;
            return scanned(reader, v, stage);
        }
        case Type::text_list:
            return text_list(reader, entry, stage, "strings");
        case Type::required_list: {
            if (v.IsSequence() && v.size() == 0) {
                reader.error(v, quote(entry.label) + " is an empty list");
                return std::nullopt;
            }
            return text_list(reader, entry, stage, "strings");
        }
        case Type::model_name: {
            auto s = reader.string(entry);
            if (!s) return std::nullopt;
            bool ok = std::isalnum(static_cast<unsigned char>(s->front())) && s->size() <= 100;
            for (char c : *s) {
                ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                            c == '-');
            }
            if (!ok) {
                // Literal, because it decides where metrics are logged before the run starts.
                reader.error(v, quote(entry.label) + " must be a model name (letters, digits, "
                                "`.`, `_`, `-`; no `${{ }}`), got " + quote(*s));
                return std::nullopt;
            }
            return nlohmann::json(*s);
        }
        case Type::rules: {
            if (v.IsSequence() && v.size() == 0) {
                reader.error(v, quote(entry.label) + " is an empty list");
                return std::nullopt;
            }
            auto list = text_list(reader, entry, stage, "rules");
            if (!list) return std::nullopt;
            check_rules(reader, v);
            return list;
        }
        case Type::text_or_list: {
            if (v.IsSequence()) return text_list(reader, entry, stage, "strings");
            auto s = reader.string(entry);
            if (!s) return std::nullopt;
            return scanned(reader, v, stage);
        }
        case Type::choice: {
            auto s = reader.choice(entry, key.choices);
            if (!s) return std::nullopt;
            return nlohmann::json(*s);
        }
        case Type::string_map:
            return string_map(reader, entry, stage, false);
        case Type::env_map:
            return string_map(reader, entry, stage, true);
        case Type::registry:
            return registry(reader, entry, stage);
        case Type::credentials: {
            if (v.IsMap()) return string_map(reader, entry, stage, false);
            auto s = reader.string(entry);
            if (!s) return std::nullopt;
            return scanned(reader, v, stage);
        }
        case Type::ports:
            return text_list(reader, entry, stage, "ports");
        case Type::duration: {
            auto s = reader.string(entry);
            if (!s) return std::nullopt;
            if (s->find("${{") == std::string::npos && !parse_duration(*s)) {
                reader.error(v, quote(entry.label) + " must be a duration like 30s, 2m or 1h30m, got " +
                                    quote(*s));
                return std::nullopt;
            }
            return scanned(reader, v, stage);
        }
        case Type::count: {
            auto s = reader.string(entry);
            if (!s) return std::nullopt;
            bool digits = !s->empty() && s->size() <= 9;
            for (char c : *s) digits = digits && c >= '0' && c <= '9';
            if (s->find("${{") == std::string::npos && !digits) {
                reader.error(v, quote(entry.label) + " must be a whole number, got " + quote(*s));
                return std::nullopt;
            }
            return scanned(reader, v, stage);
        }
    }
    return std::nullopt;
}

}  // namespace

std::vector<std::string_view> kind_key_names(StageKind kind) {
    std::vector<std::string_view> names;
    for (const KindKey& k : k_kind_keys) {
        if (k.kind == kind) names.push_back(k.name);
    }
    return names;
}

std::vector<StageKind> kinds_with_key(std::string_view key) {
    std::vector<StageKind> kinds;
    for (const KindKey& k : k_kind_keys) {
        if (k.name == key) kinds.push_back(k.kind);
    }
    return kinds;
}

std::vector<std::string_view> required_kind_keys(StageKind kind) {
    std::vector<std::string_view> names;
    for (const KindKey& k : k_kind_keys) {
        if (k.kind == kind && k.required) names.push_back(k.name);
    }
    return names;
}

void read_kind_key(Reader& reader, const Entry& entry, StageKind kind, int stage,
                   nlohmann::json& config) {
    const KindKey* key = find(entry.key, kind);
    if (key == nullptr) return;
    auto value = convert(reader, entry, *key, stage);
    if (!value) return;
    if (kind == StageKind::image && entry.key == "context") check_workspace_paths(reader, entry);
    if (kind == StageKind::image && entry.key == "base") check_image_base(reader, entry);
    config[entry.key] = std::move(*value);
}

}  // namespace sluice::pipeline
