// `sluice artifacts RUN STAGE --to DIR`: copies a stage's outputs, as they were when it
// passed, out of the cache's object store.
#include <iostream>

#include "runner/cache/byte_size.hpp"
#include "runner/cache/output_paths.hpp"
#include "runner/cli/commands.hpp"

namespace sluice::cli {
namespace {

int copy_artifacts(const GlobalOptions& global, const std::string& run_text,
                   const std::string& stage, const std::string& to) {
    auto id = parse_run_id(run_text);
    if (!id) {
        return report_error({util::ErrorCode::bad_input,
                             "`" + run_text + "` is not a run id (a number, see `sluice runs`)", {}});
    }
    auto session = open_session(global, std::filesystem::current_path());
    if (!session) return report_error(session.error());
    auto run = session->store.find_run(*id);
    if (!run) return report_error(run.error());
    if (!*run) return report_error({util::ErrorCode::not_found, "no run " + run_text, {}});
    auto stages = session->store.stages(*id);
    if (!stages) return report_error(stages.error());
    bool known = false;
    for (const auto& s : *stages) known = known || s.stage == stage;
    if (!known) {
        return report_error({util::ErrorCode::not_found,
                             "run " + run_text + " has no stage " + stage, {}});
    }
    auto all = session->store.artifacts(*id);
    if (!all) return report_error(all.error());
    std::vector<cache::CachedPath> paths;
    for (const auto& a : *all) {
        if (a.stage != stage) continue;
        cache::CachedPath p;
        p.path = a.path;
        auto type = cache::parse_type(a.type);
        if (!type) return report_error(type.error());
        p.type = *type;
        p.digest = a.digest;
        p.size = static_cast<std::uint64_t>(a.size);
        p.executable = (a.mode & 0111) != 0;
        p.target = a.target;
        paths.push_back(std::move(p));
    }
    if (paths.empty()) {
        return report_error({util::ErrorCode::not_found,
                             "stage " + stage + " of run " + run_text +
                                 " has no artifacts (it declares no outputs:, or did not pass)",
                             {}});
    }
    auto objects = cache::ObjectStore::open(session->state.cache_dir());
    if (!objects) return report_error(objects.error());
    std::filesystem::path dir = std::filesystem::absolute(to);
    // Nothing is written through a link under DIR (DIR itself is the user's choice).
    auto restored = cache::restore_outputs(*objects, dir, paths, nullptr, dir.string());
    if (!restored) {
        auto e = restored.error();
        if (e.code == util::ErrorCode::not_found) {
            // The run is known; what is gone is the content (exit 1, not a usage error).
            e.code = util::ErrorCode::unavailable;
            e.message += " (removed by `sluice cache gc`?)";
        }
        return report_error(e);
    }
    std::uint64_t bytes = 0;
    for (const auto& p : paths) bytes += p.size;
    std::cout << "copied " << paths.size() << " artifacts of " << stage << " (run " << run_text
              << ", " << cache::format_size(bytes) << ") to " << dir.string() << "\n";
    return util::exit_status::k_ok;
}

}  // namespace

void add_artifacts_command(CLI::App& app, const GlobalOptions& global, int& exit_status) {
    auto* cmd = app.add_subcommand("artifacts", "Copy a stage's outputs out of a run");
    auto run = std::make_shared<std::string>();
    auto stage = std::make_shared<std::string>();
    auto to = std::make_shared<std::string>();
    cmd->add_option("RUN", *run, "The run's id")->required();
    cmd->add_option("STAGE", *stage, "The stage")->required();
    cmd->add_option("--to", *to, "The directory to copy them into (created)")->required();
    cmd->callback([&global, &exit_status, run, stage, to] {
        exit_status = copy_artifacts(global, *run, *stage, *to);
    });
}

}  // namespace sluice::cli
