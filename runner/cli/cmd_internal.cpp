// `sluice internal ...` (hidden from --help): the processes sluice starts itself.
//   internal image-build SPEC        an image stage (internal_image.cpp)
//   internal push SPEC               a push stage (internal_image.cpp)
//   internal supervisor [--detach]   the deploy supervisor daemon (internal_deploy.cpp)
//   internal deploy-local SPEC       a `target: local` deploy stage (internal_deploy.cpp)
#include <memory>

#include "runner/cli/commands.hpp"
#include "runner/cli/internal_commands.hpp"

namespace sluice::cli {

void add_internal_command(CLI::App& app, const GlobalOptions& global, int& exit_status) {
    auto* internal = app.add_subcommand("internal", "");  // no description: hidden from --help
    internal->group("");
    internal->require_subcommand(1);
    auto spec = std::make_shared<std::string>();
    auto detach = std::make_shared<bool>(false);

    auto* build = internal->add_subcommand("image-build", "Build an image stage's image");
    build->add_option("SPEC", *spec, "The spec the image kind wrote")->required();
    build->callback([&exit_status, spec] { exit_status = internal_image_build(*spec); });

    auto* push = internal->add_subcommand("push", "Push a push stage's image");
    push->add_option("SPEC", *spec, "The spec the push kind wrote")->required();
    push->callback([&exit_status, spec] { exit_status = internal_push(*spec); });

    auto* supervisor = internal->add_subcommand("supervisor", "The deploy supervisor daemon");
    supervisor->add_flag("--detach", *detach, "Fork into the background once listening");
    supervisor->callback(
        [&global, &exit_status, detach] { exit_status = internal_supervisor(global, *detach); });

    auto* local = internal->add_subcommand("deploy-local", "The process of a local deploy stage");
    local->add_option("SPEC", *spec, "The spec the deploy stage wrote")->required();
    local->callback([&exit_status, spec] { exit_status = internal_deploy_local(*spec); });
}

}  // namespace sluice::cli
