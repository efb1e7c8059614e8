// Remembered pipelines (see pipeline_memo.hpp).
#include "runner/pipeline/pipeline_memo.hpp"

#include <fstream>
#include <sstream>
#include <vector>

#include "runner/pipeline/loader.hpp"
#include "runner/pipeline/model_json.hpp"
#include "runner/util/atomic_file.hpp"
#include "runner/util/executable_identity.hpp"
#include "runner/util/keep_newest.hpp"
#include "runner/util/sha256.hpp"

namespace sluice::pipeline {
namespace {

constexpr std::string_view k_format = "sluice-pipeline-memo 2";

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
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
    auto doc = nlohmann::json::from_cbor(bytes, true, false);
    if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
    auto format = doc.find("format");
    auto stored_key = doc.find("key");
    auto pipeline = doc.find("pipeline");
    if (format == doc.end() || *format != k_format || stored_key == doc.end() ||
        *stored_key != key || pipeline == doc.end()) {
        return std::nullopt;
    }
    auto read = pipeline_from_json(*pipeline);
    if (!read) return std::nullopt;
    return std::move(*read);
}

}  // namespace

std::expected<Pipeline, util::Errors> load_pipeline_remembered(std::string_view yaml,
                                                               std::string file_name,
                                                               const std::filesystem::path& dir) {
    std::string identity = util::executable_identity();
    if (identity.empty() || dir.empty()) return load_pipeline_string(yaml, std::move(file_name));
    std::string key = memo_key(yaml, file_name, identity);
    auto path = dir / (key + ".cbor");
    if (auto remembered = read_memo(path, key)) return std::move(*remembered);

    auto loaded = load_pipeline_string(yaml, std::move(file_name));
    if (!loaded) return loaded;
    nlohmann::json doc = {{"format", k_format}, {"key", key}, {"pipeline", to_json(*loaded)}};
    auto bytes = nlohmann::json::to_cbor(doc);
    // Best effort: a memo that cannot be written only means parsing again next time.
    if (util::write_file_atomically(
            path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()))) {
        util::keep_newest(dir, ".cbor", k_remembered_pipelines);
    }
    return loaded;
}

}  // namespace sluice::pipeline
