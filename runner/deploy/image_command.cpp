// The command line of an image's service on the host.
#include "runner/deploy/image_command.hpp"

namespace sluice::deploy {

std::string map_into_root(const std::filesystem::path& root, const std::string& text) {
    if (text.size() < 2 || text.front() != '/' || text.find("/../") != std::string::npos)
        return text;
    std::filesystem::path inside = root / text.substr(1);
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::symlink_status(inside, ec))) return text;
    return inside.string();
}

void set_env(EnvironmentList& env, const std::string& name, const std::string& value) {
    for (auto& [k, v] : env) {
        if (k == name) {
            v = value;
            return;
        }
    }
    env.emplace_back(name, value);
}

util::Result<ServiceCommand> image_service(const OciImage& image, const std::filesystem::path& root,
                                           const std::vector<std::string>& command,
                                           const EnvironmentList& base) {
    ServiceCommand out;
    if (!command.empty()) {
        out.argv = command;
    } else {
        for (const auto& a : image.entrypoint) out.argv.push_back(map_into_root(root, a));
        for (const auto& a : image.cmd) out.argv.push_back(map_into_root(root, a));
    }
    if (out.argv.empty()) {
        return util::fail(util::ErrorCode::bad_input,
                          "the image " + image.digest +
                              " has no Entrypoint or Cmd, and the stage has no run: to start");
    }
    out.env = base;
    for (const auto& [k, v] : image.env) set_env(out.env, k, map_into_root(root, v));
    set_env(out.env, "SLUICE_IMAGE_ROOT", root.string());
    std::string dir = image.working_dir;
    while (!dir.empty() && dir.front() == '/') dir.erase(0, 1);
    out.cwd = dir.empty() ? root : root / dir;
    std::error_code ec;
    std::filesystem::create_directories(out.cwd, ec);
    return out;
}

}  // namespace sluice::deploy
