// `sluice runs` (the latest runs) and `sluice show RUN` (one run, its stages, outputs).
#include <ctime>
#include <iostream>

#include "runner/cache/byte_size.hpp"
#include "runner/cli/commands.hpp"
#include "runner/engine/stage_view.hpp"
#include "runner/report/json_reporter.hpp"
#include "runner/report/reporter.hpp"
#include "runner/util/trigger_identity.hpp"
#include "stages/gate_evaluation.hpp"

namespace sluice::cli {

namespace {

std::string pad(std::string text, std::size_t width) {
    if (text.size() < width) text.append(width - text.size(), ' ');
    return text;
}

nlohmann::json run_json(const store::RunRecord& r) {
    // Who triggered the run, as `sluice approve` sees it: null when unknown.
    std::string who = util::trigger_identity_of(r.options).name;
    return {{"id", r.id},           {"pipeline", r.pipeline}, {"status", r.status},
            {"trigger", r.trigger}, {"event", r.event},       {"branch", r.branch},
            {"commit", r.commit},   {"file", r.file},         {"workdir", r.workdir},
            {"triggered_by", who.empty() ? nlohmann::json(nullptr) : nlohmann::json(who)},
            {"created_ms", r.created_ms}, {"finished_ms", r.finished_ms},
            {"options", r.options}};
}

int list_runs(const GlobalOptions& global, int limit, bool json) {
    auto session = open_session(global, std::filesystem::current_path(), StoreUse::read);
    if (!session) return report_error(session.error());
    auto runs = session->store.list_runs(limit);
    if (!runs) return report_error(runs.error());
    if (json) {
        for (const auto& r : *runs) std::cout << run_json(r).dump() << "\n";
        return 0;
    }
    if (runs->empty()) {
        std::cout << "no runs yet in " << session->state.root.string() << "\n";
        return 0;
    }
    std::cout << pad("RUN", 6) << pad("STATUS", 13) << pad("PIPELINE", 20) << pad("EVENT", 15)
              << pad("COMMIT", 10) << pad("STARTED", 21) << "DURATION\n";
    for (const auto& r : *runs) {
        std::string duration =
            r.finished_ms > 0 ? report::format_duration(r.finished_ms - r.created_ms) : "-";
        std::cout << pad(std::to_string(r.id), 6) << pad(r.status, 13) << pad(r.pipeline, 20)
                  << pad(r.event, 15) << pad(r.commit.substr(0, 8), 10)
                  << pad(local_time(r.created_ms), 21) << duration << "\n";
    }
    return 0;
}

int show_run(const GlobalOptions& global, const std::string& id_text, bool json) {
    auto id = parse_run_id(id_text);
    if (!id) {
        return report_error({util::ErrorCode::bad_input,
                             "`" + id_text + "` is not a run id (a number, see `sluice runs`)", {}});
    }
    auto session = open_session(global, std::filesystem::current_path(), StoreUse::read);
    if (!session) return report_error(session.error());
    auto run = session->store.find_run(*id);
    if (!run) return report_error(run.error());
    if (!*run) return report_error({util::ErrorCode::not_found, "no run " + id_text, {}});
    auto stages = session->store.stages(*id);
    if (!stages) return report_error(stages.error());
    auto artifacts = session->store.artifacts(*id);
    if (!artifacts) return report_error(artifacts.error());
    const store::RunRecord& r = **run;
    if (json) {
        nlohmann::json out = run_json(r);
        out["stages"] = nlohmann::json::array();
        for (const auto& s : *stages) {
            auto j = report::JsonReporter::to_json(engine::stage_view(s));
            j["log"] = s.log_path;
            j["started_ms"] = s.started_ms;
            j["finished_ms"] = s.finished_ms;
            for (const auto& a : *artifacts) {
                if (a.stage != s.stage) continue;
                nlohmann::json item = {{"path", a.path}, {"type", a.type}};
                if (a.type == "file") {
                    item["size"] = a.size;
                    item["sha256"] = a.digest;
                }
                if (a.type == "symlink") item["target"] = a.target;
                j["artifacts"].push_back(std::move(item));
            }
            out["stages"].push_back(j);
        }
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    bool color = use_color(global, 1);
    std::cout << "run " << r.id << " of " << r.pipeline << ": " << r.status << "\n";
    std::cout << "  file:     " << r.file << "\n";
    std::cout << "  workdir:  " << r.workdir << "\n";
    std::cout << "  trigger:  " << r.trigger << " (" << r.event << ")\n";
    std::cout << "  triggered by: " << util::trigger_identity_of(r.options).describe() << "\n";
    if (!r.commit.empty()) {
        std::cout << "  commit:   " << r.commit << (r.branch.empty() ? "" : " on " + r.branch)
                  << "\n";
        std::string author = r.options.value("author", std::string());
        if (!author.empty()) std::cout << "  author:   " << author << "\n";
    }
    std::string target = r.options.value("target_branch", std::string());
    if (!target.empty()) std::cout << "  target:   " << target << "\n";
    std::cout << "  started:  " << local_time(r.created_ms) << "\n";
    if (r.finished_ms > 0) {
        std::cout << "  finished: " << local_time(r.finished_ms) << " ("
                  << report::format_duration(r.finished_ms - r.created_ms) << ")\n";
    }
    std::vector<report::StageFinished> views;
    for (const auto& s : *stages) views.push_back(engine::stage_view(s));
    std::cout << "\n" << report::summary_table(views, color);
    for (const auto& s : *stages) {
        if (s.report.contains("rules")) {
            std::cout << "\n" << s.stage << ": " << stages::gate_report_text(s.report);
        }
        if (s.report.contains("deployment") && s.report["deployment"].is_object()) {
            const auto& d = s.report["deployment"];
            std::cout << "\n" << s.stage << ": " << (s.status == "passed" ? "deployed to " : "did not deploy to ")
                      << d.value("environment", "?");
            if (d.contains("image")) std::cout << ", image " << d.value("image", "");
            if (s.report.contains("service") && s.report["service"].is_object()) {
                std::cout << ", serving " << s.report["service"].value("url", "");
            }
            std::cout << "\n";
        }
        if (s.report.contains("candidates")) {
            for (const auto& c : s.report["candidates"]) {
                std::cout << "\n" << s.stage << ": logged version " << c.value("version", "?")
                          << " of model " << c.value("model", "?") << "\n";
            }
        }
    }
    if (!artifacts->empty()) {
        std::cout << "\nartifacts:\n";
        for (const auto& a : *artifacts) {
            std::cout << "  " << a.stage << ": " << a.path;
            if (a.type == "file") {
                std::cout << "  " << cache::format_size(static_cast<std::uint64_t>(a.size))
                          << "  sha256:" << a.digest.substr(0, 16);
            } else if (a.type == "symlink") {
                std::cout << " -> " << a.target;
            } else {
                std::cout << "/  (empty directory)";
            }
            std::cout << "\n";
        }
    }
    bool any_outputs = false;
    for (const auto& s : *stages) {
        if (s.outputs.empty()) continue;
        if (!any_outputs) std::cout << "\noutputs:\n";
        any_outputs = true;
        for (const auto& [k, v] : s.outputs.items()) {
            std::cout << "  " << s.stage << "." << k << " = "
                      << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
        }
    }
    return 0;
}

}  // namespace

void add_runs_command(CLI::App& app, const GlobalOptions& global, int& exit_status) {
    auto* cmd = app.add_subcommand("runs", "List the latest runs, newest first");
    auto limit = std::make_shared<int>(20);
    auto json = std::make_shared<bool>(false);
    cmd->add_option("-n,--limit", *limit, "How many runs to list")->check(positive_integer());
    cmd->add_flag("--json", *json, "One JSON object per run");
    cmd->callback([&global, &exit_status, limit, json] {
        exit_status = list_runs(global, *limit, *json);
    });
}

void add_show_command(CLI::App& app, const GlobalOptions& global, int& exit_status) {
    auto* cmd = app.add_subcommand("show", "Show one run: its commit, stages, results, outputs");
    auto id = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("RUN", *id, "The run's id")->required();
    cmd->add_flag("--json", *json, "The run as one JSON object");
    cmd->callback([&global, &exit_status, id, json] {
        exit_status = show_run(global, *id, *json);
    });
}

}  // namespace sluice::cli
