// The blob locations file: JSON {registry: {digest: [repository, ...]}}.
#include "runner/oci/blob_locations.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runner/util/atomic_file.hpp"
#include "runner/util/file_lock.hpp"

namespace sluice::oci {

namespace {

nlohmann::json load(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) return nlohmann::json::object();
    std::stringstream text;
    text << in.rdbuf();
    auto json = nlohmann::json::parse(text.str(), nullptr, false);
    return json.is_object() ? json : nlohmann::json::object();
}

}  // namespace

std::vector<std::string> known_locations(const std::filesystem::path& file,
                                         const std::string& registry, const Digest& digest) {
    if (file.empty()) return {};
    auto json = load(file);
    std::vector<std::string> out;
    auto reg = json.find(registry);
    if (reg == json.end() || !reg->is_object()) return out;
    auto repos = reg->find(digest.to_string());
    if (repos == reg->end() || !repos->is_array()) return out;
    for (const auto& r : *repos) {
        if (r.is_string()) out.push_back(r.get<std::string>());
    }
    return out;
}

util::Status record_locations(const std::filesystem::path& file, const std::string& registry,
                              const std::string& repository, const std::vector<Digest>& digests) {
    if (file.empty()) return {};
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    auto lock = util::FileLock::acquire(file.string() + ".lock");
    if (!lock) return std::unexpected(lock.error());
    auto json = load(file);
    nlohmann::json& reg = json[registry];
    if (!reg.is_object()) reg = nlohmann::json::object();
    for (const auto& d : digests) {
        nlohmann::json& repos = reg[d.to_string()];
        if (!repos.is_array()) repos = nlohmann::json::array();
        if (std::ranges::find(repos, nlohmann::json(repository)) == repos.end()) {
            repos.push_back(repository);
        }
    }
    return util::write_file_atomically(file, json.dump() + "\n");
}

}  // namespace sluice::oci
