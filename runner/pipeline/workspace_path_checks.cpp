// Validation of the workspace paths a pipeline names (see workspace_path_checks.hpp).
#include "runner/pipeline/workspace_path_checks.hpp"

namespace sluice::pipeline {

std::optional<std::string> workspace_path_problem(std::string_view path) {
    if (path.find("${{") != std::string_view::npos) return std::nullopt;
    if (path.starts_with('!')) path.remove_prefix(1);
    if (path.starts_with('/')) return "is absolute";
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t slash = path.find('/', start);
        if (slash == std::string_view::npos) slash = path.size();
        if (path.substr(start, slash - start) == "..") return "leaves the workspace (`..`)";
        start = slash + 1;
    }
    return std::nullopt;
}

namespace {

void check_one(Reader& reader, const Entry& entry, const YAML::Node& node,
               std::string_view judged) {
    if (!node.IsScalar()) return;  // the typed reader reported it
    auto problem = workspace_path_problem(judged);
    if (!problem) return;
    reader.error(node, quote(entry.label) + " path " + quote(node.Scalar()) + " " + *problem +
                           ": paths are relative to the workspace root");
}

}  // namespace

void check_workspace_paths(Reader& reader, const Entry& entry) {
    if (entry.value.IsSequence()) {
        for (const auto& item : entry.value) {
            if (item.IsScalar()) check_one(reader, entry, item, item.Scalar());
        }
    } else if (entry.value.IsScalar()) {
        check_one(reader, entry, entry.value, entry.value.Scalar());
    }
}

void check_image_base(Reader& reader, const Entry& entry) {
    if (!entry.value.IsScalar()) return;
    std::string_view base = entry.value.Scalar();
    if (base.starts_with("oci:")) {
        base.remove_prefix(4);
    } else if (!base.starts_with('/') && !base.starts_with("./") && !base.starts_with("../")) {
        return;  // a registry reference, or a layout's plain relative path
    }
    check_one(reader, entry, entry.value, base);
}

}  // namespace sluice::pipeline
