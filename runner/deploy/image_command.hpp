// What runs for a local deployment of an image: the config's Entrypoint + Cmd with its
// Env, in its WorkingDir, all mapped under the directory the layers were unpacked into.
// There is no chroot and no namespace: the service runs on the host, with the host's
// binaries (`python3` is the host's python3). So that an image's own files are still found,
// an argument or Env value that is an absolute path existing inside the unpacked root
// (`/app/server.py`, `MODEL_PATH=/app/model.pkl`) is rewritten to that file in the root;
// other absolute paths (`/usr/bin/python3`) stay the host's.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "runner/deploy/oci_image.hpp"
#include "runner/util/error.hpp"

namespace sluice::deploy {

using EnvironmentList = std::vector<std::pair<std::string, std::string>>;

struct ServiceCommand {
    std::vector<std::string> argv;
    EnvironmentList env;
    std::filesystem::path cwd;
};

// `text` rewritten to root/text when it is an absolute path that exists under root.
std::string map_into_root(const std::filesystem::path& root, const std::string& text);

// The service of image unpacked at root. `command`, when not empty, replaces Entrypoint +
// Cmd (a stage's `run:`). `base` is the environment the image's Env is laid over.
// bad_input when there is nothing to run.
util::Result<ServiceCommand> image_service(const OciImage& image, const std::filesystem::path& root,
                                           const std::vector<std::string>& command,
                                           const EnvironmentList& base);

// Sets (replacing) name=value in env.
void set_env(EnvironmentList& env, const std::string& name, const std::string& value);

}  // namespace sluice::deploy
