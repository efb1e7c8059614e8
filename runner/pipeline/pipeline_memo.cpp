// Remembered pipelines (see pipeline_memo.hpp).
#include "runner/pipeline/pipeline_memo.hpp"

#include "runner/pipeline/loader.hpp"
#include "runner/pipeline/model_binary.hpp"
#include "runner/util/atomic_file.hpp"
#include "runner/util/executable_identity.hpp"
#include "runner/util/keep_newest.hpp"
#include "runner/util/read_whole_file.hpp"
#include "runner/util/sha256.hpp"

namespace sluice::pipeline {
namespace {

// The file: this line, the key (64 hex digits) and a newline, then model_binary.hpp's record.
constexpr std::string_view k_format = "sluice-pipeline-memo 3\n";

std::string memo_head(const std::string& key) { return std::string(k_format) + key + "\n"; }

std::string memo_key(std::string_view yaml, const std::string& file_name,
                     const std::string& identity) {
    util::Sha256 hash;
    for (std::string_view part : {k_format, std::string_view(identity),
                                  std::string_view(file_name), yaml}) {
        hash.update(std::to_string(part.size()));
        hash.update(":");
        hash.update(part);
    }
    return util::digest_hex(hash.finish());
}

std::optional<Pipeline> read_memo(const std::filesystem::path& path, const std::string& key) {
    auto bytes = util::read_whole_file(path);
    if (!bytes) return std::nullopt;
    std::string_view view(*bytes);
    std::string head = memo_head(key);
    if (!view.starts_with(head)) return std::nullopt;
    auto pipeline = pipeline_from_binary(view.substr(head.size()));
    if (!pipeline) return std::nullopt;
    return std::move(*pipeline);
}

}  // namespace

std::expected<Pipeline, util::Errors> load_pipeline_remembered(std::string_view yaml,
                                                               std::string file_name,
                                                               const std::filesystem::path& dir) {
    std::string identity = util::executable_identity();
    if (identity.empty() || dir.empty()) return load_pipeline_string(yaml, std::move(file_name));
    std::string key = memo_key(yaml, file_name, identity);
    auto path = dir / (key + ".memo");
    if (auto remembered = read_memo(path, key)) return std::move(*remembered);

    auto loaded = load_pipeline_string(yaml, std::move(file_name));
    if (!loaded) return loaded;
    std::string bytes = memo_head(key) + to_binary(*loaded);
    // Best effort: a memo that cannot be written only means parsing again next time.
    if (util::write_file_atomically(path, bytes)) {
        util::keep_newest(dir, ".memo", k_remembered_pipelines);
    }
    return loaded;
}

}  // namespace sluice::pipeline
