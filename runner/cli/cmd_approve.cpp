// `sluice approve RUN STAGE` and `sluice reject RUN STAGE --reason TEXT`: a release
// manager's decision on a stage waiting for approval. The token (--token or
// SLUICE_TOKEN) says who decides; the access file says whether they may; every
// denial is refused with its reason and kept in the run's audit trail (events). When
// the last approval needed is in, the run continues here, from where it stopped.
#include <iostream>

#include "runner/access/access_store.hpp"
#include "runner/access/authenticate.hpp"
#include "runner/access/self_approval.hpp"
#include "runner/cli/commands.hpp"
#include "runner/cli/run_driver.hpp"
#include "runner/util/trigger_identity.hpp"

namespace sluice::cli {

namespace {

struct DecisionOptions {
    std::string run;
    std::string stage;
    std::string token;
    std::string as_user;
    std::string reason;
    int jobs = 0;
    bool json = false;
};

// Who triggered and wrote a run, as its record says (`triggered_by` and
// `trigger_identity` in its options; runs of older versions may have neither).
access::RunAuthorship authorship_of(const store::RunRecord& run) {
    util::TriggerIdentity trigger = util::trigger_identity_of(run.options);
    return {std::to_string(run.id), trigger.name, trigger.claimed, trigger.unknown_why,
            run.options.value("author", std::string())};
}

int decide(const GlobalOptions& global, const DecisionOptions& options, bool approve) {
    auto id = parse_run_id(options.run);
    if (!id) {
        return report_error({util::ErrorCode::bad_input, "`" + options.run + "` is not a run id", {}});
    }
    auto session = open_session(global, std::filesystem::current_path());
    if (!session) return report_error(session.error());
    auto& store = session->store;
    auto run = store.find_run(*id);
    if (!run) return report_error(run.error());
    if (!*run) return report_error({util::ErrorCode::not_found, "no run " + options.run, {}});
    auto stage = store.find_stage(*id, options.stage);
    if (!stage) return report_error(stage.error());
    if (!*stage) {
        return report_error({util::ErrorCode::not_found,
                             "run " + options.run + " has no stage " + options.stage, {}});
    }
    const std::string verb = approve ? "approve" : "reject";
    // Every refusal is audited on the run, then reported (exit 2).
    auto deny = [&](const std::string& user, const std::string& why, const std::string& code) {
        nlohmann::json data = {{"decision", verb}, {"reason", code}, {"message", why}};
        if (!user.empty()) data["user"] = user;
        (void)store.add_event(*id, options.stage, "approval_denied", data);
        return report_error({util::ErrorCode::bad_input, "denied: " + why, {}});
    };

    util::SystemClock clock;
    auto access = access::AccessStore::open(access::AccessStore::file_in(session->state.root), clock);
    if (!access) return report_error(access.error());
    auto snapshot = access->read();
    if (!snapshot) return report_error(snapshot.error());
    std::string token = options.token;
    if (token.empty()) {
        if (const char* env = std::getenv("SLUICE_TOKEN"); env != nullptr) token = env;
    }
    auto identity = access::authenticate(*snapshot, token, options.as_user);
    if (!identity) {
        return deny(identity.error().user, identity.error().message,
                    std::string(access::to_string(identity.error().reason)));
    }
    const std::string& user = identity->user;

    auto request = store.approval_request(*id, options.stage);
    if (!request) return report_error(request.error());
    if (!*request) {
        return deny(user, "stage " + options.stage + " of run " + options.run +
                              " does not need an approval",
                    "no_request");
    }
    const auto& r = **request;
    if (!access::may_approve(*snapshot, user, r.approvers)) {
        std::string who;
        for (const auto& a : r.approvers) who += (who.empty() ? "" : ", ") + a;
        return deny(user, user + " may not " + verb + " " + options.stage + " (approvers: " +
                              (who.empty() ? "none" : who) + ")",
                    "not_an_approver");
    }
    // Rejecting one's own run is always allowed; approving needs someone who can be
    // shown to differ from whoever triggered or wrote it.
    if (!r.self_approval && approve) {
        if (auto denial = access::check_self_approval(*identity, authorship_of(**run))) {
            return deny(user, denial->message, denial->reason);
        }
    }
    auto effect = store.decide(*id, options.stage, {user, approve, options.reason, 0});
    if (!effect) {
        if (effect.error().code == util::ErrorCode::conflict) {
            return deny(user, effect.error().message, "conflict");
        }
        return report_error(effect.error());
    }
    switch (*effect) {
        case store::DecisionEffect::recorded: {
            auto decisions = store.decisions(*id, options.stage);
            int approvals = 0;
            if (decisions) {
                for (const auto& d : *decisions) approvals += d.approve ? 1 : 0;
            }
            std::cout << user << " approved " << options.stage << " of run " << options.run
                      << " (" << approvals << " of " << r.required
                      << "); it waits for more approvals\n";
            return util::exit_status::k_waiting;
        }
        case store::DecisionEffect::rejected:
            std::cout << user << " rejected " << options.stage << " of run " << options.run
                      << "; the run failed\n";
            return util::exit_status::k_ok;
        case store::DecisionEffect::expired:
            return report_error({util::ErrorCode::conflict,
                                 "the approval request of " + options.stage + " in run " +
                                     options.run + " had expired; the run failed",
                                 {}});
        case store::DecisionEffect::approved:
            break;
    }
    std::cout << user << " approved " << options.stage << " of run " << options.run
              << "; continuing the run\n"
              << std::flush;
    return continue_run(global, *session, *id, options.jobs, options.json);
}

void add_decision(CLI::App& app, const GlobalOptions& global, int& exit_status, bool approve) {
    auto* cmd = app.add_subcommand(
        approve ? "approve" : "reject",
        approve ? "Approve a stage waiting for approval (the run continues when enough have)"
                : "Reject a stage waiting for approval (the run fails)");
    auto options = std::make_shared<DecisionOptions>();
    cmd->add_option("RUN", options->run, "The run's id")->required();
    cmd->add_option("STAGE", options->stage, "The waiting stage")->required();
    cmd->add_option("--token", options->token, "Your token (default: $SLUICE_TOKEN)");
    cmd->add_option("--as", options->as_user, "Your user name (checked against the token)");
    auto* reason = cmd->add_option("--reason", options->reason, "Why (kept with the decision)");
    if (!approve) reason->required();
    if (approve) {
        cmd->add_option("-j,--jobs", options->jobs, "Stages to run at once when the run continues")
            ->check(positive_integer());
        cmd->add_flag("--json", options->json, "JSON events when the run continues");
    }
    cmd->callback([&global, &exit_status, options, approve] {
        exit_status = decide(global, *options, approve);
    });
}

}  // namespace

void add_approve_commands(CLI::App& app, const GlobalOptions& global, int& exit_status) {
    add_decision(app, global, exit_status, true);
    add_decision(app, global, exit_status, false);
}

}  // namespace sluice::cli
