// `sluice logs RUN [STAGE] [-f]`: a stage's output as it wrote it (all stages, each line
// prefixed with the stage's name, when no STAGE is given); -f follows until the run ends.
// A stage with no output because it has not started says so on stderr: waiting for an
// approval (from whom) or not started yet, exit 3; never ran in a finished run, exit 0.
#include <chrono>
#include <iostream>
#include <map>
#include <thread>

#include "runner/cli/commands.hpp"
#include "runner/exec/log_writer.hpp"
#include "runner/report/line_splitter.hpp"

namespace sluice::cli {

namespace {

struct LogsOptions {
    std::string run;
    std::string stage;
    bool follow = false;
    bool timestamps = false;
};

bool run_is_final(const std::string& status) {
    return status == "passed" || status == "failed" || status == "cancelled" ||
           status == "interrupted";
}

// Why `stage` has no log, on stderr, and the exit status; nullopt when it has started.
std::optional<int> explain_no_log(Session& session, store::RunId id, const std::string& run_status,
                                  const store::StageRecord& stage) {
    const std::string& name = stage.stage;
    if (stage.status == "waiting") {
        std::cerr << "sluice: stage " << name << " has not started: it waits for ";
        auto request = session.store.approval_request(id, name);
        if (request && *request) {
            const auto& r = **request;
            std::string who;
            for (const auto& a : r.approvers) who += (who.empty() ? "" : ", ") + a;
            std::cerr << r.required << (r.required == 1 ? " approval" : " approvals") << " from "
                      << (who.empty() ? "nobody (no approvers are named)" : who);
        } else {
            std::cerr << "an approval";
        }
        std::cerr << " (sluice approve " << id << " " << name << ")\n";
        return util::exit_status::k_waiting;
    }
    if (stage.status == "pending" && !run_is_final(run_status)) {
        std::cerr << "sluice: stage " << name << " has not started yet (run " << id << " is "
                  << run_status << "; `sluice logs " << id << " " << name << " -f` waits for it)\n";
        return util::exit_status::k_waiting;
    }
    if (stage.attempts == 0 && stage.status != "running" && stage.status != "cached") {
        std::cerr << "sluice: stage " << name << " did not run (" << stage.status
                  << (stage.reason.empty() ? "" : ": " + stage.reason) << ")\n";
        return util::exit_status::k_ok;
    }
    return std::nullopt;
}

struct Follower {
    exec::LogDecoder decoder;
    std::uint64_t offset = 0;
};

int show_logs(const GlobalOptions& global, const LogsOptions& options) {
    auto id = parse_run_id(options.run);
    if (!id) {
        return report_error({util::ErrorCode::bad_input, "`" + options.run + "` is not a run id", {}});
    }
    auto session = open_session(global, std::filesystem::current_path(), StoreUse::read);
    if (!session) return report_error(session.error());
    auto run = session->store.find_run(*id);
    if (!run) return report_error(run.error());
    if (!*run) return report_error({util::ErrorCode::not_found, "no run " + options.run, {}});

    exec::LogReadOptions read_options;
    read_options.timestamps = options.timestamps;
    bool prefix = options.stage.empty();
    report::LineSplitter splitter;
    auto print_line = [](const std::string& stage, std::string_view line) {
        std::cout << "[" << stage << "] " << line << "\n";
    };
    std::map<std::string, Follower> followers;

    while (true) {
        // The status is read before the logs: once it is final, every byte is on disk.
        auto now = session->store.find_run(*id);
        if (!now) return report_error(now.error());
        bool last_pass = !options.follow || (*now && run_is_final((*now)->status));
        auto stages = session->store.stages(*id);
        if (!stages) return report_error(stages.error());
        bool found = false;
        for (const auto& s : *stages) {
            if (!prefix && s.stage != options.stage) continue;
            found = true;
            if (s.log_path.empty() || !std::filesystem::exists(s.log_path)) continue;
            auto it = followers.try_emplace(s.stage, Follower{exec::LogDecoder(read_options), 0})
                          .first;
            auto sink = [&](std::string_view out) {
                if (prefix) {
                    splitter.feed(s.stage, false, out, print_line);
                } else {
                    std::cout << out;
                }
            };
            auto next = exec::read_log_from(s.log_path, it->second.decoder, sink, it->second.offset);
            if (!next) return report_error(next.error());
            it->second.offset = *next;
            if (prefix && last_pass) splitter.flush(s.stage, print_line);
        }
        if (!found) {
            return report_error({util::ErrorCode::not_found,
                                 "run " + options.run + " has no stage " + options.stage, {}});
        }
        std::cout.flush();
        if (last_pass && !prefix && *now) {
            for (const auto& s : *stages) {
                if (s.stage != options.stage || !followers.empty()) continue;
                if (auto status = explain_no_log(*session, *id, (*now)->status, s)) return *status;
            }
        }
        if (last_pass) return 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

}  // namespace

void add_logs_command(CLI::App& app, const GlobalOptions& global, int& exit_status) {
    auto* cmd = app.add_subcommand("logs", "Print a run's output (one stage, or all)");
    auto options = std::make_shared<LogsOptions>();
    cmd->add_option("RUN", options->run, "The run's id")->required();
    cmd->add_option("STAGE", options->stage, "Only this stage");
    cmd->add_flag("-f,--follow", options->follow, "Keep printing until the run ends");
    cmd->add_flag("-t,--timestamps", options->timestamps, "Prefix lines with when they were written");
    cmd->callback([&global, &exit_status, options] {
        exit_status = show_logs(global, *options);
    });
}

}  // namespace sluice::cli
