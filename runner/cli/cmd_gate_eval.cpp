// `sluice gate-eval SPEC` (internal, hidden): the process of a gate stage. Reads the
// spec the gate kind wrote, evaluates the gate, prints its report (the stage's log)
// and leaves it as JSON for the runner. Exit 0: the gate passed; 1: it did not.
#include <iostream>

#include "runner/cli/commands.hpp"
#include "runner/cli/spec_file.hpp"
#include "runner/util/atomic_file.hpp"
#include "stages/gate_evaluation.hpp"
#include "stages/registry_factory.hpp"

namespace sluice::cli {

namespace {

int evaluate(const std::string& spec_path) {
    auto json = read_spec_file(spec_path, "gate spec");
    if (!json) return report_error(json.error());
    auto spec = stages::gate_spec_from_json(*json);
    if (!spec) return report_error(spec.error());
    nlohmann::json report = stages::evaluate_gate(*spec, stages::open_registry);
    std::cout << stages::gate_report_text(report) << std::flush;
    if (auto written = util::write_file_atomically(spec->report_file, report.dump(2) + "\n");
        !written) {
        return report_error(written.error());
    }
    return report.value("passed", false) ? util::exit_status::k_ok : util::exit_status::k_failed;
}

}  // namespace

void add_gate_eval_command(CLI::App& app, const GlobalOptions&, int& exit_status) {
    auto* cmd = app.add_subcommand("gate-eval", "");  // no description: hidden from --help
    cmd->group("");
    auto spec = std::make_shared<std::string>();
    cmd->add_option("SPEC", *spec, "The gate spec the runner wrote")->required();
    cmd->callback([&exit_status, spec] { exit_status = evaluate(*spec); });
}

}  // namespace sluice::cli
