// The engine's side of the stage cache (issue 6): a stage's key from its inputs, the
// look-up and restore of an earlier result, and storing a passed stage's outputs (its
// artifacts) and cache entry. The cache under STATE/cache is opened on first use, so a
// pipeline without `inputs:` or `outputs:` never touches it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "runner/cache/cache_index.hpp"
#include "runner/cache/file_digests.hpp"
#include "runner/cache/object_store.hpp"
#include "runner/cache/output_paths.hpp"
#include "runner/engine/stage_key.hpp"
#include "runner/pipeline/expressions.hpp"
#include "runner/pipeline/model.hpp"
#include "runner/store/store.hpp"

namespace sluice::engine {

// Whether a stage's result may come from the cache: a script stage with `inputs:`.
// (Gates, pushes and deploys act on the world outside the workspace: they always run.)
bool cacheable(const pipeline::Stage& stage);

// The paths a stage's result consists of: its `outputs:`, and its `metrics:` file.
std::vector<std::string> result_paths(const pipeline::Stage& stage);

// What goes into a stage's key besides its input files and its needs, with the
// pipeline's expressions resolved by `lookup` (as for the stage's process).
util::Result<StageKeyInput> key_input_for(const pipeline::Pipeline& pipeline,
                                          const pipeline::Stage& stage,
                                          const pipeline::ExpressionLookup& lookup);

class StageCache {
public:
    // root: STATE/cache; skip: the state directory (never an input or an output).
    StageCache(std::filesystem::path root, std::filesystem::path skip);

    // The stage's key over the files its `inputs:` match in `workspace`; `seen` (when
    // given) gets every path the match looked at, the matched ones last.
    util::Result<StageKey> key(const pipeline::Stage& stage, const StageKeyInput& input,
                               const std::filesystem::path& workspace,
                               std::vector<SeenPath>* seen = nullptr);
    util::Result<std::optional<cache::CacheEntry>> find(const std::string& key);
    // The most recent entry of that stage, to say why a key missed.
    util::Result<std::optional<cache::CacheEntry>> latest(const std::string& pipeline,
                                                          const std::string& stage);
    // Puts an entry's paths back into the workspace; ErrorCode::not_found when an object
    // is missing or corrupted (removed then): a miss. ErrorCode::bad_input when a path
    // would be written through a link out of the workspace (nothing is written then).
    util::Result<cache::RestoreCounts> restore(const cache::CacheEntry& entry,
                                               const std::filesystem::path& workspace);
    // Stores what the stage's result paths hold now. A pattern that matches nothing is
    // ErrorCode::bad_input ("declared output X was not produced").
    util::Result<std::vector<cache::CachedPath>> store_outputs(const pipeline::Stage& stage,
                                                               const std::filesystem::path& workspace);
    // Stores the entry; when it replaced one, moves the cache generation on
    // (cache_generation.hpp).
    util::Status remember(const cache::CacheEntry& entry);
    // Marks an entry used (for `cache gc`); written by save(), all in one transaction.
    void touch(const std::string& key);
    // Writes the entries' use times and the remembered file digests back (at the end
    // of a run; best effort: losing them costs a re-hash or an early gc, never a wrong
    // result).
    util::Status save();

    // The cache directory (STATE/cache).
    const std::filesystem::path& root() const { return root_; }

private:
    util::Status open();
    util::Status open_index();  // the index only (touches of a run that used no other part)

    std::filesystem::path root_;
    std::filesystem::path skip_;
    std::optional<cache::ObjectStore> objects_;
    std::optional<cache::CacheIndex> index_;
    std::optional<cache::FileDigests> digests_;
    std::vector<std::string> touched_;
};

// The run store's view of cached paths (artifacts).
std::vector<store::Artifact> to_artifacts(const std::string& stage,
                                          const std::vector<cache::CachedPath>& paths);
// What a dependent's key sees of a stage's artifacts: path -> digest (or link target).
nlohmann::json artifact_digests(const std::vector<cache::CachedPath>& paths);

}  // namespace sluice::engine
