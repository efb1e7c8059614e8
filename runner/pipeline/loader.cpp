// The loader's top level: bytes to YAML (syntax errors), the top-level keys, then the
// whole-file checks; errors come back sorted by position.
#include "runner/pipeline/loader.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "runner/pipeline/checks.hpp"
#include "runner/pipeline/source_text.hpp"
#include "runner/pipeline/stage_reader.hpp"
#include "runner/util/suggest.hpp"
#include "runner/pipeline/triggers_reader.hpp"
#include "runner/pipeline/yaml_document.hpp"
#include "runner/pipeline/yaml_reader.hpp"

namespace sluice::pipeline {
namespace {

constexpr std::array<std::string_view, 6> k_top_keys{"name",     "on",     "variables",
                                                     "defaults", "stages", "environments"};
constexpr std::array<std::string_view, 4> k_environment_keys{"branches", "protected", "approval",
                                                             "alias"};
constexpr std::array<std::string_view, 3> k_defaults_keys{"timeout", "retry", "shell"};
constexpr std::string_view k_utf8_bom = "\xEF\xBB\xBF";

// Stage names end up in `${{ stages.NAME... }}`, file paths and graph output: keep them
// to characters that are safe in all three.
bool valid_stage_name(std::string_view name) {
    if (name.empty()) return false;
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

void read_defaults(Reader& reader, const Entry& entry, Defaults& defaults) {
    if (!entry.value.IsMap()) {
        reader.error_at_value(entry, "`defaults` must be a map (timeout, retry, shell), got " +
                                         describe(entry.value));
        return;
    }
    for (const Entry& e : reader.entries(entry.value, "defaults")) {
        if (e.key == "timeout") {
            if (auto d = reader.duration(e, false)) defaults.timeout = *d;
        } else if (e.key == "retry") {
            if (auto r = read_retry(reader, e)) defaults.retry = *r;
        } else if (e.key == "shell") {
            if (auto s = reader.string(e)) defaults.shell = *s;
        } else {
            reader.unknown_key(e, k_defaults_keys, "in `defaults`");
        }
    }
}

void read_stages(Reader& reader, const Entry& entry, Pipeline& pipeline) {
    if (!entry.value.IsMap()) {
        reader.error_at_value(
            entry, "`stages` must be a map of stage names to stages, got " + describe(entry.value));
        return;
    }
    if (entry.value.size() == 0) {
        reader.error(entry.value, "`stages` is empty");
        return;
    }
    for (const Entry& e : reader.entries(entry.value, {}, "stage")) {
        if (!valid_stage_name(e.key)) {
            reader.error(e.key_node, "stage name " + quote(e.key) +
                                         " may only contain letters, "
                                         "digits, `-` and `_`");
        }
        int index = static_cast<int>(pipeline.stages.size());
        pipeline.stages.push_back(read_stage(reader, e, index));
    }
}

void read_environments(Reader& reader, const Entry& entry, Pipeline& pipeline) {
    if (!entry.value.IsMap()) {
        reader.error_at_value(entry, "`environments` must be a map of environment names to "
                                     "settings, got " + describe(entry.value));
        return;
    }
    for (const Entry& e : reader.entries(entry.value, {}, "environment")) {
        Environment env;
        env.name = e.key;
        env.alias = e.key;
        env.pos = reader.pos(e.key_node);
        if (!valid_stage_name(e.key)) {
            reader.error(e.key_node, "environment name " + quote(e.key) +
                                         " may only contain letters, digits, `-` and `_`");
        }
        if (!e.value.IsMap() && !e.value.IsNull()) {
            reader.error_at_value(e, "environment " + quote(e.key) +
                                         " must be a map (branches, protected, approval, alias), "
                                         "got " + describe(e.value));
            continue;
        }
        if (e.value.IsMap()) {
            for (const Entry& k : reader.entries(e.value, "environments." + e.key)) {
                if (k.key == "branches") {
                    if (auto list = reader.strings(k, "branch globs")) env.branches = *list;
                } else if (k.key == "protected") {
                    if (auto b = reader.boolean(k)) env.is_protected = *b;
                } else if (k.key == "approval") {
                    env.approval = read_approval(reader, k);
                } else if (k.key == "alias") {
                    if (auto a = reader.string(k)) env.alias = *a;
                } else {
                    reader.unknown_key(k, k_environment_keys, "in an environment");
                }
            }
        }
        pipeline.environments.push_back(std::move(env));
    }
}

// A deploy stage's environment must be declared when any are; a stage without its own
// approval takes its environment's.
void apply_environments(Reader& reader, Pipeline& pipeline) {
    for (auto& stage : pipeline.stages) {
        if (!stage.environment) continue;
        const Environment* env = pipeline.environment(*stage.environment);
        if (env == nullptr) {
            if (!pipeline.environments.empty()) {
                std::vector<std::string_view> names;
                for (const auto& e : pipeline.environments) names.push_back(e.name);
                reader.error(util::Location{reader.file(), stage.pos.line, stage.pos.column},
                             "stage " + quote(stage.name) + " deploys to environment " +
                                 quote(*stage.environment) + ", which `environments` does not "
                                 "declare" + util::did_you_mean(*stage.environment, names));
            }
            continue;
        }
        if (!stage.approval && env->approval) stage.approval = env->approval;
    }
}

void read_top_level(Reader& reader, const YAML::Node& root, Pipeline& pipeline) {
    bool has_name = false;
    bool has_stages = false;
    for (const Entry& e : reader.entries(root)) {
        if (e.key == "name") {
            has_name = true;
            if (auto s = reader.string(e)) pipeline.name = *s;
        } else if (e.key == "on") {
            if (auto on = read_triggers(reader, e)) pipeline.on = std::move(*on);
        } else if (e.key == "variables") {
            if (auto vars = reader.env_map(e, -1)) pipeline.variables = std::move(*vars);
        } else if (e.key == "defaults") {
            read_defaults(reader, e, pipeline.defaults);
        } else if (e.key == "stages") {
            has_stages = true;
            read_stages(reader, e, pipeline);
        } else if (e.key == "environments") {
            read_environments(reader, e, pipeline);
        } else {
            reader.unknown_key(e, k_top_keys, {});
        }
    }
    util::Location top{reader.file(), 1, 1};
    if (!has_name) reader.error(top, "the pipeline has no `name`");
    if (!has_stages) reader.error(top, "the pipeline has no `stages`");
}

std::expected<Pipeline, util::Errors> load(std::string_view yaml, std::string file_name) {
    if (yaml.starts_with(k_utf8_bom)) yaml.remove_prefix(k_utf8_bom.size());
    util::Errors errors;
    SourceText source{std::string(yaml)};
    Reader reader(source, file_name, errors);
    if (auto bad = source.first_invalid_utf8()) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(yaml[*bad]));
        reader.error(reader.where_offset(*bad),
                     std::string("the file is not valid UTF-8 (byte ") + hex + ")");
        return std::unexpected(std::move(errors));
    }
    Pipeline pipeline;
    pipeline.file = std::move(file_name);
    if (auto root = parse_document(reader, source)) {
        read_top_level(reader, *root, pipeline);
        check_needs_and_names(reader, pipeline);
        apply_environments(reader, pipeline);
    }
    if (errors.empty()) return pipeline;
    std::stable_sort(errors.begin(), errors.end(), [](const util::Error& a, const util::Error& b) {
        return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
    });
    return std::unexpected(std::move(errors));
}

}  // namespace

std::expected<Pipeline, util::Errors> load_pipeline_string(std::string_view yaml,
                                                           std::string file_name) {
    try {
        return load(yaml, file_name);
    } catch (const std::exception& e) {
        // yaml-cpp throws from accessors on malformed trees; a bug here must not take the
        // CLI or the server down.
        return std::unexpected(util::Errors{util::Error{
            util::ErrorCode::internal, std::string("internal error while loading: ") + e.what(),
            util::Location{file_name, 0, 0}}});
    }
}

std::expected<Pipeline, util::Errors> load_pipeline_file(const std::filesystem::path& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        return std::unexpected(util::Errors{util::Error{
            util::ErrorCode::io, "cannot read " + path.string() + ": it is a directory", {}}});
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        int err = errno;
        bool missing = !std::filesystem::exists(path, ec);
        return std::unexpected(util::Errors{util::Error{
            missing ? util::ErrorCode::not_found : util::ErrorCode::io,
            "cannot read " + path.string() + ": " + std::strerror(err), util::Location{}}});
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        return std::unexpected(util::Errors{
            util::Error{util::ErrorCode::io, "cannot read " + path.string(), util::Location{}}});
    }
    return load_pipeline_string(text.str(), path.string());
}

}  // namespace sluice::pipeline
