// Computing and explaining stage cache keys (see stage_key.hpp).
#include "runner/engine/stage_key.hpp"

#include <sys/stat.h>

#include "runner/util/sha256.hpp"

namespace sluice::engine {
namespace {

std::string hash_of(const nlohmann::json& value) { return util::sha256_hex(value.dump()); }

}  // namespace

util::Result<StageKey> compute_stage_key(const StageKeyInput& input, const MatchedPaths& inputs,
                                         const std::filesystem::path& workspace,
                                         cache::FileDigests& digests) {
    nlohmann::json files = nlohmann::json::object();
    for (const MatchedPath& m : inputs.paths) {
        switch (m.type) {
        case MatchedPath::Type::file: {
            auto digest = digests.digest(workspace / m.path, m.st);
            if (!digest) return std::unexpected(digest.error());
            files[m.path] = std::move(*digest);
            break;
        }
        case MatchedPath::Type::symlink: {
            std::error_code ec;
            auto target = std::filesystem::read_symlink(workspace / m.path, ec);
            if (ec) {
                return util::fail(util::ErrorCode::io, "cannot read the link " +
                                                           (workspace / m.path).string() + ": " +
                                                           ec.message());
            }
            files[m.path] = "link:" + target.string();
            break;
        }
        case MatchedPath::Type::dir:
            files[m.path] = "dir";
            break;
        }
    }
    nlohmann::json env = nlohmann::json::object();
    for (const auto& [name, value] : input.variables) env[name] = value;
    nlohmann::json inherited = input.inherited;
    StageKey key;
    key.parts = {
        {"format", k_cache_format},
        {"kind", input.kind},
        {"command", hash_of({input.command, input.shell})},
        {"config", hash_of(input.config)},
        {"env", hash_of({env, inherited})},
        {"needs", input.needs},
        {"files", std::move(files)},
    };
    // nlohmann's objects are sorted by key, so the dump is canonical.
    key.key = util::sha256_hex(key.parts.dump());
    return key;
}

void put_files(StageKey& key, const nlohmann::json& files) {
    for (const auto& [path, value] : files.items()) key.parts["files"][path] = value;
    key.key = util::sha256_hex(key.parts.dump());
}

std::string result_key(const std::string& stage, const nlohmann::json& artifact_digests,
                       const nlohmann::json& stage_outputs) {
    return util::sha256_hex(
        nlohmann::json{{"stage", stage}, {"artifacts", artifact_digests}, {"outputs", stage_outputs}}
            .dump());
}

std::string explain_change(const nlohmann::json& before, const nlohmann::json& now) {
    auto field = [](const nlohmann::json& j, const char* name) {
        return j.contains(name) ? j[name] : nlohmann::json();
    };
    if (field(before, "format") != field(now, "format")) return "the cache format changed";
    if (field(before, "kind") != field(now, "kind")) return "the stage's kind changed";
    if (field(before, "command") != field(now, "command")) return "the command changed";
    if (field(before, "config") != field(now, "config")) return "the stage's configuration changed";
    if (field(before, "env") != field(now, "env")) return "its variables changed";
    const nlohmann::json old_files = field(before, "files");
    const nlohmann::json new_files = field(now, "files");
    if (old_files.is_object() && new_files.is_object()) {
        for (const auto& [path, digest] : new_files.items()) {
            if (!old_files.contains(path)) return "input " + path + " is new";
            if (old_files[path] != digest) return "input " + path + " changed";
        }
        for (const auto& [path, digest] : old_files.items()) {
            if (!new_files.contains(path)) return "input " + path + " was removed";
        }
    }
    const nlohmann::json old_needs = field(before, "needs");
    const nlohmann::json new_needs = field(now, "needs");
    if (old_needs.is_object() && new_needs.is_object()) {
        for (const auto& [stage, key] : new_needs.items()) {
            if (!old_needs.contains(stage) || old_needs[stage] != key) {
                return "needed stage " + stage + " changed";
            }
        }
        if (old_needs.size() != new_needs.size()) return "its needed stages changed";
    }
    return "";
}

}  // namespace sluice::engine
