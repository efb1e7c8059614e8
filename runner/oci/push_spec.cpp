// PushSpec <-> JSON.
#include "runner/oci/push_spec.hpp"

namespace sluice::oci {

nlohmann::json to_json(const PushSpec& s) {
    return {{"stage", s.stage},
            {"layout", s.layout.string()},
            {"ref_name", s.ref_name},
            {"destination", s.destination},
            {"insecure", s.insecure},
            {"docker_config", s.docker_config.string()},
            {"locations_file", s.locations_file.string()},
            {"report_file", s.report_file.string()},
            {"chunk_size", s.chunk_size},
            {"attempts", s.attempts}};
}

util::Result<PushSpec> push_spec_from_json(const nlohmann::json& j) {
    try {
        PushSpec s;
        s.stage = j.at("stage").get<std::string>();
        s.layout = j.at("layout").get<std::string>();
        s.ref_name = j.at("ref_name").get<std::string>();
        s.destination = j.at("destination").get<std::string>();
        s.insecure = j.at("insecure").get<std::vector<std::string>>();
        s.docker_config = j.at("docker_config").get<std::string>();
        s.locations_file = j.at("locations_file").get<std::string>();
        s.report_file = j.at("report_file").get<std::string>();
        s.chunk_size = j.at("chunk_size").get<std::uint64_t>();
        s.attempts = j.at("attempts").get<int>();
        return s;
    } catch (const nlohmann::json::exception& e) {
        return util::fail(util::ErrorCode::bad_input, std::string("bad push spec: ") + e.what());
    }
}

}  // namespace sluice::oci
