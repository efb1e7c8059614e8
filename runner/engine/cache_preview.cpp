// What --dry-run says of the stage cache (see cache_preview.hpp).
#include "runner/engine/cache_preview.hpp"

#include <stdlib.h>

#include <fstream>
#include <map>

#include "runner/engine/expression_values.hpp"
#include "runner/engine/stage_cache.hpp"
#include "runner/plan/plan.hpp"

namespace sluice::engine {
namespace {

// The names a stage's expressions may use, as the run would resolve them; run.id is
// unknown before the run (a command that uses it never comes from the cache).
class PreviewLookup {
public:
    PreviewLookup(const pipeline::Pipeline& pipeline, const std::optional<git::CommitInfo>& commit,
                  const std::string& event, const std::vector<nlohmann::json>& outputs)
        : pipeline_(pipeline), commit_(commit), event_(event), outputs_(outputs) {}

    std::optional<std::string> operator()(std::string_view name) const {
        auto starts = [&](std::string_view prefix) { return name.starts_with(prefix); };
        if (starts("vars.")) {
            for (const auto& [key, value] : pipeline_.variables) {
                if (key != name.substr(5)) continue;
                auto resolved = pipeline::interpolate(value, *this);
                return resolved ? std::optional(*resolved) : std::nullopt;
            }
            return std::nullopt;
        }
        if (starts("commit.")) return commit_value(commit_, name.substr(7));
        if (name == "run.event") return event_;
        if (name == "pipeline.name") return pipeline_.name;
        if (starts("stages.")) {
            return stage_output_value(pipeline_, name.substr(7),
                                      [&](std::size_t i) -> const nlohmann::json& { return outputs_[i]; });
        }
        return std::nullopt;
    }

private:
    const pipeline::Pipeline& pipeline_;
    const std::optional<git::CommitInfo>& commit_;
    const std::string& event_;
    const std::vector<nlohmann::json>& outputs_;
};

// The files a stage's `inputs:` would match among what stages taken from the cache put
// back into the workspace before it runs (`produced`): the real run restores them first,
// so its key sees them even where the workspace does not have them now (a fresh
// checkout). They are laid out as empty stand-ins in a scratch directory, so that they
// match exactly as the workspace's files do; their digests come from the cache entries.
util::Result<nlohmann::json> produced_inputs(const pipeline::Stage& stage,
                                             const std::map<std::string, cache::CachedPath>& produced) {
    nlohmann::json files = nlohmann::json::object();
    if (produced.empty()) return files;
    std::string templ = (std::filesystem::temp_directory_path() / "sluice-preview-XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) {
        return util::fail(util::ErrorCode::io, "cannot make a scratch directory in " +
                                                   std::filesystem::temp_directory_path().string());
    }
    const std::filesystem::path scratch = templ;
    std::error_code ec;
    for (const auto& [path, p] : produced) {
        auto at = scratch / path;
        std::filesystem::create_directories(at.parent_path(), ec);
        if (p.type == cache::CachedPath::Type::dir) {
            std::filesystem::create_directories(at, ec);
        } else if (p.type == cache::CachedPath::Type::symlink) {
            std::filesystem::create_symlink(p.target, at, ec);
        } else {
            std::ofstream{at};
        }
    }
    auto matched = match_stage_files(scratch, stage.inputs);
    std::filesystem::remove_all(scratch, ec);
    if (!matched) return std::unexpected(matched.error());
    for (const auto& m : matched->paths) {
        auto it = produced.find(m.path);
        if (it == produced.end()) continue;  // a directory the stand-ins made
        const cache::CachedPath& p = it->second;
        files[m.path] = p.type == cache::CachedPath::Type::file      ? p.digest
                        : p.type == cache::CachedPath::Type::symlink ? "link:" + p.target
                                                                     : std::string("dir");
    }
    return files;
}

}  // namespace

std::vector<std::optional<CachePreview>> preview_cache(const pipeline::Pipeline& pipeline,
                                                       const std::vector<bool>& runs,
                                                       const std::filesystem::path& workspace,
                                                       const StateDir& state,
                                                       const std::optional<git::CommitInfo>& commit,
                                                       const std::string& event, bool use_cache) {
    std::size_t n = pipeline.stages.size();
    std::vector<std::optional<CachePreview>> out(n);
    std::vector<nlohmann::json> outputs(n, nlohmann::json::object());
    // A stage's result key when known before running it (it comes from the cache).
    std::vector<std::optional<std::string>> keys(n);
    // What the stages taken from the cache so far put back into the workspace.
    std::map<std::string, cache::CachedPath> produced;
    auto plan = plan::Plan::build(pipeline);
    if (!plan) return out;
    StageCache cache(state.cache_dir(), state.root);
    PreviewLookup lookup(pipeline, commit, event, outputs);
    for (int i : plan->order()) {
        auto index = static_cast<std::size_t>(i);
        const pipeline::Stage& stage = pipeline.stages[index];
        if (!runs[index] || !cacheable(stage)) continue;
        CachePreview& p = out[index].emplace();
        if (!use_cache || !stage.cache) {
            p.why = !use_cache ? "--no-cache" : "cache: false";
            continue;
        }
        auto input = key_input_for(pipeline, stage, lookup);
        if (!input) {
            p.why = "its command needs values known only when it runs";
            continue;
        }
        std::string upstream_runs;
        for (const auto& need : stage.needs) {
            auto other = static_cast<std::size_t>(pipeline.index_of(need));
            if (!keys[other]) {
                upstream_runs = need;
                break;
            }
            input->needs[need] = *keys[other];
        }
        if (!upstream_runs.empty()) {
            p.why = "it needs " + upstream_runs + ", which runs";
            continue;
        }
        auto key = cache.key(stage, *input, workspace);
        if (!key) {
            p.why = "its cache key: " + key.error().message;
            continue;
        }
        auto restored = produced_inputs(stage, produced);
        if (!restored) {
            p.why = "its cache key: " + restored.error().message;
            continue;
        }
        put_files(*key, *restored);
        auto entry = cache.find(key->key);
        if (entry && *entry) {
            p.from_cache = true;
            p.why = "from the cache (run " + std::to_string((*entry)->run_id) + ")";
            keys[index] = key->key;
            outputs[index] = (*entry)->stage_outputs;
            for (const auto& path : (*entry)->paths) produced[path.path] = path;
            continue;
        }
        auto latest = cache.latest(pipeline.name, stage.name);
        if (latest && *latest) {
            std::string change = explain_change((*latest)->inputs, key->parts);
            p.why = (change.empty() ? "its inputs changed" : change) + " since run " +
                    std::to_string((*latest)->run_id);
        } else {
            p.why = "no cached result yet";
        }
    }
    (void)cache.save();
    return out;
}

}  // namespace sluice::engine
