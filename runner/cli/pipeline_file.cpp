// Loading the pipeline for run, validate and graph.
#include "runner/cli/pipeline_file.hpp"

#include <fstream>
#include <iostream>
#include <sstream>

#include "runner/pipeline/loader.hpp"
#include "runner/pipeline/pipeline_memo.hpp"

namespace sluice::cli {

std::optional<LoadedPipeline> load_for_cli(
    const std::string& file, const std::filesystem::path& memo_dir,
    const std::function<void(const std::string& text)>& on_text) {
    std::filesystem::path path = file.empty() ? "sluice.yml" : file;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) path /= "sluice.yml";
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::cerr << "sluice: cannot read " << path.string() << ": "
                  << (std::filesystem::exists(path, ec) ? "permission denied"
                                                        : "no such file")
                  << "\n";
        return std::nullopt;
    }
    std::stringstream text;
    text << in.rdbuf();
    if (on_text) on_text(text.str());
    auto loaded = memo_dir.empty()
                      ? pipeline::load_pipeline_string(text.str(), path.string())
                      : pipeline::load_pipeline_remembered(text.str(), path.string(), memo_dir);
    if (!loaded) {
        for (const auto& error : loaded.error()) std::cerr << error.to_string() << "\n";
        std::cerr << loaded.error().size() << (loaded.error().size() == 1 ? " error" : " errors")
                  << " in " << path.string() << "\n";
        return std::nullopt;
    }
    return LoadedPipeline{std::move(*loaded), text.str(), std::filesystem::absolute(path)};
}

}  // namespace sluice::cli
