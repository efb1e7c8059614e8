// Values of commit.* and stages.S.outputs.K (see expression_values.hpp).
#include "runner/engine/expression_values.hpp"

namespace sluice::engine {

std::optional<std::string> commit_value(const std::optional<git::CommitInfo>& commit,
                                        std::string_view field) {
    if (!commit) return std::string();
    if (field == "sha") return commit->sha;
    if (field == "short") return commit->short_sha;
    if (field == "branch") return commit->branch;
    if (field == "tag") return commit->tag;
    if (field == "author") return commit->author;
    if (field == "message") return commit->message;
    return std::nullopt;
}

std::optional<std::string> stage_output_value(
    const pipeline::Pipeline& pipeline, std::string_view rest,
    const std::function<const nlohmann::json&(std::size_t)>& outputs_of) {
    auto dot = rest.find(".outputs.");
    if (dot == std::string_view::npos) return std::nullopt;
    int other = pipeline.index_of(std::string(rest.substr(0, dot)));
    if (other < 0) return std::nullopt;
    const nlohmann::json& outputs = outputs_of(static_cast<std::size_t>(other));
    auto it = outputs.find(std::string(rest.substr(dot + 9)));
    if (it == outputs.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

}  // namespace sluice::engine
