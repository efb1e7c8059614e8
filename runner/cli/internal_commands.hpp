// The processes sluice starts itself, behind `sluice internal ...` (hidden from --help;
// registered in cmd_internal.cpp). Each returns the process's exit status.
#pragma once

#include <string>

#include "runner/cli/session.hpp"

namespace sluice::cli {

// internal_image.cpp: an image stage's build, a push stage's push (SPEC: the JSON the
// stage kind wrote).
int internal_image_build(const std::string& spec_path);
int internal_push(const std::string& spec_path);

// internal_deploy.cpp: the deploy supervisor daemon of the state directory, and a
// `target: local` deploy stage's process.
int internal_supervisor(const GlobalOptions& global, bool detach);
int internal_deploy_local(const std::string& spec_path);

}  // namespace sluice::cli
