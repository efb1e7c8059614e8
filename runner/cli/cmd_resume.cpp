// `sluice resume RUN`: finish a run that was interrupted, failed or cancelled, re-running
// only the stages that did not pass (their outputs are kept for the others).
#include "runner/cli/commands.hpp"
#include "runner/cli/run_driver.hpp"
#include "runner/cli/run_source.hpp"

namespace sluice::cli {

int continue_run(const GlobalOptions& global, Session& session, store::RunId id, int jobs,
                 bool json) {
    // A run of a checked-out commit resumes in a workspace checked out afresh (the one
    // it ran in may serve another run by now).
    std::optional<git::WorkspaceLease> lease;
    std::optional<std::filesystem::path> workspace;
    auto run = session.store.find_run(id);
    if (run && *run && (*run)->options.contains("source") &&
        (*run)->options["source"].contains("repo") && !(*run)->commit.empty()) {
        const auto& source = (*run)->options["source"];
        auto checked = check_out_commit(session, source["repo"].get<std::string>(),
                                        (*run)->commit, (*run)->branch);
        if (!checked) return report_error(checked.error());
        workspace = checked->dir() / source.value("subdir", std::string());
        lease = std::move(*checked);
    }
    return drive_run(global, session, json, [&](engine::Engine& engine) {
        return engine.resume(id, jobs, workspace);
    });
}

void add_resume_command(CLI::App& app, const GlobalOptions& global, int& exit_status) {
    auto* cmd = app.add_subcommand("resume", "Re-run the stages of a run that did not pass");
    auto id_text = std::make_shared<std::string>();
    auto jobs = std::make_shared<int>(0);
    auto json = std::make_shared<bool>(false);
    cmd->add_option("RUN", *id_text, "The run's id")->required();
    cmd->add_option("-j,--jobs", *jobs, "Stages to run at once (default: as the run had)")
        ->check(positive_integer());
    cmd->add_flag("--json", *json, "One JSON event per line instead of text");
    cmd->callback([&global, &exit_status, id_text, jobs, json] {
        auto id = parse_run_id(*id_text);
        if (!id) {
            exit_status = report_error(
                {util::ErrorCode::bad_input, "`" + *id_text + "` is not a run id", {}});
            return;
        }
        auto session = open_session(global, std::filesystem::current_path());
        if (!session) {
            exit_status = report_error(session.error());
            return;
        }
        exit_status = continue_run(global, *session, *id, *jobs, *json);
    });
}

}  // namespace sluice::cli
