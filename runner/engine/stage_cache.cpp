// The engine's side of the stage cache (see stage_cache.hpp).
#include "runner/engine/stage_cache.hpp"

#include <algorithm>

#include "runner/cache/cache_generation.hpp"
#include "runner/util/clock.hpp"

namespace sluice::engine {

bool cacheable(const pipeline::Stage& stage) {
    return stage.kind == pipeline::StageKind::script && !stage.inputs.empty();
}

std::vector<std::string> result_paths(const pipeline::Stage& stage) {
    std::vector<std::string> paths = stage.outputs;
    if (stage.metrics && std::ranges::find(paths, *stage.metrics) == paths.end()) {
        paths.push_back(*stage.metrics);
    }
    return paths;
}

util::Result<StageKeyInput> key_input_for(const pipeline::Pipeline& pipeline,
                                          const pipeline::Stage& stage,
                                          const pipeline::ExpressionLookup& lookup) {
    auto resolve = [&](const std::string& text) -> util::Result<std::string> {
        if (text.find("${{") == std::string::npos) return text;
        auto out = pipeline::interpolate(text, lookup);
        if (!out) {
            return util::fail(util::ErrorCode::bad_input,
                              "cannot resolve an expression: " + out.error().message);
        }
        return *out;
    };
    StageKeyInput input;
    input.kind = pipeline::to_string(stage.kind);
    input.shell = pipeline.shell_of(stage);
    for (const auto& line : stage.run) {
        auto r = resolve(line);
        if (!r) return std::unexpected(r.error());
        input.command.push_back(std::move(*r));
    }
    // The configuration as written: its expressions are part of the command's text.
    input.config = stage.config;
    for (const auto& [name, value] : pipeline.variables) {
        auto r = resolve(value);
        if (!r) return std::unexpected(r.error());
        input.variables.emplace_back(name, std::move(*r));
    }
    for (const auto& [name, value] : stage.env) {
        auto r = resolve(value);
        if (!r) return std::unexpected(r.error());
        input.variables.emplace_back(name, std::move(*r));
    }
    input.inherited = stage.inherit_env;
    if (stage.inherit_all_env) input.inherited.push_back("*");
    return input;
}

namespace {

// A path of the stage's that is wrong (one that leads out of the workspace) is named
// with the key that lists it: "outputs: etcdir/passwd resolves outside the workspace".
util::Error naming(util::Error error, std::string_view key) {
    if (error.code == util::ErrorCode::bad_input) error.message = std::string(key) + ": " + error.message;
    return error;
}

}  // namespace

StageCache::StageCache(std::filesystem::path root, std::filesystem::path skip)
    : root_(std::move(root)), skip_(std::move(skip)) {}

util::Status StageCache::open_index() {
    if (index_) return {};
    auto index = cache::CacheIndex::open(root_ / "cache.db");
    if (!index) return std::unexpected(index.error());
    index_.emplace(std::move(*index));
    return {};
}

util::Status StageCache::open() {
    if (objects_) return {};
    if (auto opened = open_index(); !opened) return opened;
    auto objects = cache::ObjectStore::open(root_);
    if (!objects) return std::unexpected(objects.error());
    objects_.emplace(std::move(*objects));
    digests_.emplace(cache::FileDigests::load(root_ / "digests"));
    return {};
}

util::Result<StageKey> StageCache::key(const pipeline::Stage& stage, const StageKeyInput& input,
                                       const std::filesystem::path& workspace,
                                       std::vector<SeenPath>* seen) {
    if (auto opened = open(); !opened) return std::unexpected(opened.error());
    auto inputs = match_stage_files(workspace, stage.inputs, skip_, seen);
    if (!inputs) return std::unexpected(naming(inputs.error(), "inputs"));
    if (seen != nullptr) {
        for (const auto& m : inputs->paths) seen->push_back({m.path, false, true, m.st});
    }
    return compute_stage_key(input, *inputs, workspace, *digests_);
}

util::Result<std::optional<cache::CacheEntry>> StageCache::find(const std::string& key) {
    if (auto opened = open(); !opened) return std::unexpected(opened.error());
    return index_->find(key);
}

util::Result<std::optional<cache::CacheEntry>> StageCache::latest(const std::string& pipeline,
                                                                  const std::string& stage) {
    if (auto opened = open(); !opened) return std::unexpected(opened.error());
    return index_->latest(pipeline, stage);
}

util::Result<cache::RestoreCounts> StageCache::restore(const cache::CacheEntry& entry,
                                                       const std::filesystem::path& workspace) {
    if (auto opened = open(); !opened) return std::unexpected(opened.error());
    auto restored = cache::restore_outputs(*objects_, workspace, entry.paths, &*digests_);
    if (!restored) return std::unexpected(naming(restored.error(), "outputs"));
    return restored;
}

util::Result<std::vector<cache::CachedPath>> StageCache::store_outputs(
    const pipeline::Stage& stage, const std::filesystem::path& workspace) {
    auto patterns = result_paths(stage);
    if (patterns.empty()) return std::vector<cache::CachedPath>{};
    if (auto opened = open(); !opened) return std::unexpected(opened.error());
    auto matched = match_stage_files(workspace, patterns, skip_);
    if (!matched) return std::unexpected(naming(matched.error(), "outputs"));
    if (!matched->unmatched.empty()) {
        return util::fail(util::ErrorCode::bad_input,
                          "declared output " + matched->unmatched.front() + " was not produced");
    }
    std::vector<std::string> paths;
    paths.reserve(matched->paths.size());
    for (const auto& m : matched->paths) paths.push_back(m.path);
    auto stored = cache::store_outputs(*objects_, workspace, paths);
    if (!stored) return std::unexpected(naming(stored.error(), "outputs"));
    return stored;
}

util::Status StageCache::remember(const cache::CacheEntry& entry) {
    if (auto opened = open(); !opened) return opened;
    bool replaced = false;
    if (auto put = index_->put(entry, &replaced); !put) return put;
    // The key had an entry (a --no-cache run): remembered runs must look again. (A new
    // key needs nothing: no memo can name it.)
    return replaced ? cache::next_generation(root_) : util::Status{};
}

void StageCache::touch(const std::string& key) { touched_.push_back(key); }

util::Status StageCache::save() {
    util::Status status;
    if (!touched_.empty()) {
        status = open_index();
        if (status) status = index_->touch(touched_, util::SystemClock().epoch_ms());
        touched_.clear();
    }
    if (!digests_) return status;
    if (auto saved = digests_->save(); !saved) return saved;
    return status;
}

std::vector<store::Artifact> to_artifacts(const std::string& stage,
                                          const std::vector<cache::CachedPath>& paths) {
    std::vector<store::Artifact> out;
    out.reserve(paths.size());
    for (const auto& p : paths) {
        store::Artifact a;
        a.stage = stage;
        a.path = p.path;
        a.type = std::string(cache::type_name(p.type));
        a.size = static_cast<std::int64_t>(p.size);
        a.digest = p.digest;
        a.mode = p.type == cache::CachedPath::Type::file ? (p.executable ? 0755 : 0644) : 0;
        a.target = p.target;
        out.push_back(std::move(a));
    }
    return out;
}

nlohmann::json artifact_digests(const std::vector<cache::CachedPath>& paths) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& p : paths) {
        switch (p.type) {
        case cache::CachedPath::Type::file: out[p.path] = p.digest; break;
        case cache::CachedPath::Type::symlink: out[p.path] = "link:" + p.target; break;
        case cache::CachedPath::Type::dir: out[p.path] = "dir"; break;
        }
    }
    return out;
}

}  // namespace sluice::engine
