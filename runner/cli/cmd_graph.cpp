// `sluice graph [FILE]`: the pipeline's DAG as text, Graphviz dot or Mermaid.
#include <iostream>

#include "runner/cli/commands.hpp"
#include "runner/cli/pipeline_file.hpp"
#include "runner/plan/render.hpp"

namespace sluice::cli {

void add_graph_command(CLI::App& app, const GlobalOptions&, int& exit_status) {
    auto* cmd = app.add_subcommand("graph", "Print the pipeline's stages and what they need");
    auto file = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("text");
    auto only = std::make_shared<std::vector<std::string>>();
    cmd->add_option("FILE", *file, "The pipeline file or its directory (default: sluice.yml)");
    cmd->add_option("--format", *format, "text, dot or mermaid")
        ->check(CLI::IsMember({"text", "dot", "mermaid"}));
    cmd->add_option("--only", *only, "Only this stage and what it needs (repeatable)")
        ->allow_extra_args(false);
    cmd->callback([&exit_status, file, format, only] {
        auto loaded = load_for_cli(*file);
        if (!loaded) {
            exit_status = util::exit_status::k_bad_input;
            return;
        }
        auto plan = plan::Plan::build(loaded->pipeline);
        if (!plan) {
            exit_status = report_error(plan.error());
            return;
        }
        auto included = plan->select(*only);
        if (!included) {
            exit_status = report_error(included.error());
            return;
        }
        if (*format == "dot") {
            std::cout << plan::render_dot(*plan, *included);
        } else if (*format == "mermaid") {
            std::cout << plan::render_mermaid(*plan, *included);
        } else {
            std::cout << plan::render_text(*plan, *included);
        }
        exit_status = util::exit_status::k_ok;
    });
}

}  // namespace sluice::cli
