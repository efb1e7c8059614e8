// `sluice access add-user | groups | add-token | revoke | list | protect`: the users,
// groups and tokens of STATE/access.json, and the tokens of protected environments.
// Secrets are printed once, alone on stdout (so `$(sluice access add-token me)` works),
// with the note that they cannot be shown again on stderr.
#include <functional>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "runner/access/access_store.hpp"
#include "runner/access/environment_token.hpp"
#include "runner/access/token_format.hpp"
#include "runner/cli/commands.hpp"

namespace sluice::cli {

namespace {

using access::AccessStore;

std::string joined(const std::vector<std::string>& items, const char* separator = ", ") {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
    return out;
}

// Runs `body` with the state directory's access store.
int with_store(const GlobalOptions& global, const std::function<int(AccessStore&)>& body) {
    auto session = open_session(global, std::filesystem::current_path());
    if (!session) return report_error(session.error());
    util::SystemClock clock;
    auto store = AccessStore::open(AccessStore::file_in(session->state.root), clock);
    if (!store) return report_error(store.error());
    return body(*store);
}

std::string groups_text(const std::vector<std::string>& groups) {
    return groups.empty() ? "no groups" : "groups: " + joined(groups);
}

int add_user(const GlobalOptions& global, const access::NewUser& request) {
    return with_store(global, [&](AccessStore& store) {
        auto user = store.add_user(request);
        if (!user) return report_error(user.error());
        std::cout << "added user " << user->name << " (" << groups_text(user->groups) << ")\n";
        return 0;
    });
}

int change_groups(const GlobalOptions& global, const std::string& name,
                  const std::vector<std::string>& add, const std::vector<std::string>& remove) {
    return with_store(global, [&](AccessStore& store) {
        std::optional<access::User> user;
        if (!add.empty()) {
            auto added = store.add_to_groups(name, add);
            if (!added) return report_error(added.error());
            user = *added;
        }
        if (!remove.empty()) {
            auto removed = store.remove_from_groups(name, remove);
            if (!removed) return report_error(removed.error());
            user = *removed;
        }
        if (!user) {  // neither --add nor --remove: show the user's groups
            auto snapshot = store.read();
            if (!snapshot) return report_error(snapshot.error());
            const access::User* found = snapshot->find_user(name);
            if (found == nullptr) {
                return report_error(
                    {util::ErrorCode::not_found, "there is no user `" + name + "`", {}});
            }
            user = *found;
        }
        std::cout << "user " << user->name << ": " << groups_text(user->groups) << "\n";
        return 0;
    });
}

int add_token(const GlobalOptions& global, const std::string& user, const std::string& label) {
    return with_store(global, [&](AccessStore& store) {
        auto token = store.add_token(user, label);
        if (!token) return report_error(token.error());
        std::cout << token->secret << std::endl;
        std::cerr << "sluice: that is token " << token->id << " for " << token->user
                  << (token->label.empty() ? "" : " (" + token->label + ")")
                  << ", shown this once: sluice keeps only a hash of it and cannot show it "
                     "again. Pass it with --token or in "
                  << access::k_token_variable << ".\n";
        return 0;
    });
}

int revoke(const GlobalOptions& global, const std::string& target) {
    return with_store(global, [&](AccessStore& store) {
        auto outcome = store.revoke(target);
        if (!outcome) return report_error(outcome.error());
        const auto& tokens = outcome->revoked_tokens;
        std::string ids = tokens.empty() ? "" : " (" + joined(tokens) + ")";
        if (!outcome->changed()) {
            std::cout << (access::is_token_id(target) ? "token " + target : "user " + outcome->user)
                      << " was already revoked\n";
        } else if (access::is_token_id(target)) {
            std::cout << "revoked token " << target << " of " << outcome->user << "\n";
        } else {
            std::cout << "revoked user " << outcome->user << " and " << tokens.size()
                      << (tokens.size() == 1 ? " token" : " tokens") << ids << "\n";
        }
        return 0;
    });
}

int protect(const GlobalOptions& global, const std::string& environment) {
    return with_store(global, [&](AccessStore& store) {
        auto token = store.protect_environment(environment);
        if (!token) return report_error(token.error());
        std::cout << token->secret << std::endl;
        std::cerr << "sluice: " << environment << " is protected"
                  << (token->replaced ? "; its previous token no longer works" : "")
                  << "; that is its token, shown this once: sluice keeps only a hash of it and "
                     "cannot show it again. Only a runner with it in "
                  << access::environment_token_variable(environment) << " (or a file named by "
                  << access::environment_token_file_variable(environment)
                  << ") may deploy to, promote, move the alias of or roll back " << environment
                  << ".\n";
        return 0;
    });
}

nlohmann::ordered_json optional_ms(const std::optional<std::int64_t>& ms) {
    return ms ? nlohmann::ordered_json(*ms) : nlohmann::ordered_json(nullptr);
}

void print_json(const access::AccessSnapshot& snapshot) {
    nlohmann::ordered_json out;
    out["users"] = nlohmann::ordered_json::array();
    for (const auto& u : snapshot.users) {
        out["users"].push_back({{"name", u.name},
                                {"email", u.email},
                                {"display", u.display},
                                {"groups", u.groups},
                                {"created_ms", u.created_ms},
                                {"disabled", u.disabled},
                                {"disabled_ms", optional_ms(u.disabled_ms)}});
    }
    out["groups"] = nlohmann::ordered_json::object();
    for (const auto& [group, members] : snapshot.groups()) out["groups"][group] = members;
    out["tokens"] = nlohmann::ordered_json::array();
    for (const auto& t : snapshot.tokens) {
        out["tokens"].push_back({{"id", t.id},
                                 {"user", t.user},
                                 {"label", t.label},
                                 {"created_ms", t.created_ms},
                                 {"revoked_ms", optional_ms(t.revoked_ms)}});
    }
    out["environments"] = nlohmann::ordered_json::array();
    for (const auto& e : snapshot.environments) {
        out["environments"].push_back({{"name", e.name}, {"created_ms", e.created_ms}});
    }
    std::cout << out.dump(2) << "\n";
}

std::string or_dash(const std::string& text) { return text.empty() ? "-" : text; }

void print_text(const access::AccessSnapshot& snapshot) {
    if (snapshot.users.empty() && snapshot.environments.empty()) {
        std::cout << "no users yet: `sluice access add-user NAME [--group G]` adds one\n";
        return;
    }
    std::cout << std::left;
    if (!snapshot.users.empty()) {
        std::cout << std::setw(20) << "USER" << std::setw(26) << "GROUPS" << std::setw(26)
                  << "EMAIL" << std::setw(21) << "CREATED"
                  << "STATUS\n";
        for (const auto& u : snapshot.users) {
            std::cout << std::setw(20) << u.name << std::setw(26) << or_dash(joined(u.groups, ","))
                      << std::setw(26) << or_dash(u.email) << std::setw(21)
                      << local_time(u.created_ms)
                      << (u.disabled ? "disabled " + local_time(u.disabled_ms.value_or(0))
                                     : "active")
                      << "\n";
        }
    }
    auto groups = snapshot.groups();
    if (!groups.empty()) {
        std::cout << "\n"
                  << std::setw(26) << "GROUP"
                  << "MEMBERS\n";
        for (const auto& [group, members] : groups) {
            std::cout << std::setw(26) << group << joined(members) << "\n";
        }
    }
    if (!snapshot.tokens.empty()) {
        std::cout << "\n"
                  << std::setw(12) << "TOKEN" << std::setw(20) << "USER" << std::setw(20) << "LABEL"
                  << std::setw(21) << "CREATED"
                  << "REVOKED\n";
        for (const auto& t : snapshot.tokens) {
            std::cout << std::setw(12) << t.id << std::setw(20) << t.user << std::setw(20)
                      << or_dash(t.label) << std::setw(21) << local_time(t.created_ms)
                      << local_time(t.revoked_ms.value_or(0)) << "\n";
        }
    }
    if (!snapshot.environments.empty()) {
        std::cout << "\n"
                  << std::setw(26) << "PROTECTED ENVIRONMENT"
                  << "TOKEN SET\n";
        for (const auto& e : snapshot.environments) {
            std::cout << std::setw(26) << e.name << local_time(e.created_ms) << "\n";
        }
    }
}

int list(const GlobalOptions& global, bool json) {
    return with_store(global, [&](AccessStore& store) {
        auto snapshot = store.read();
        if (!snapshot) return report_error(snapshot.error());
        if (json) {
            print_json(*snapshot);
        } else {
            print_text(*snapshot);
        }
        return 0;
    });
}

}  // namespace

void add_access_command(CLI::App& app, const GlobalOptions& global, int& exit_status) {
    auto* cmd = app.add_subcommand(
        "access", "Users, groups and tokens of the state directory; protected environments");
    cmd->require_subcommand(1);

    auto request = std::make_shared<access::NewUser>();
    auto* add_user_cmd = cmd->add_subcommand("add-user", "Add a user");
    add_user_cmd->add_option("NAME", request->name, "User name (letters, digits, . _ - @)")
        ->required();
    add_user_cmd->add_option("--group", request->groups, "A group of theirs; repeatable");
    add_user_cmd->add_option("--email", request->email, "Their email address");
    add_user_cmd->add_option("--display", request->display, "Their name as people read it");
    add_user_cmd->add_option("--account", request->accounts,
                             "An OS account that is them (runs it triggers are theirs for "
                             "self_approval: false); repeatable");
    add_user_cmd->callback(
        [&global, &exit_status, request] { exit_status = add_user(global, *request); });

    auto user = std::make_shared<std::string>();
    auto add = std::make_shared<std::vector<std::string>>();
    auto remove = std::make_shared<std::vector<std::string>>();
    auto* groups_cmd = cmd->add_subcommand("groups", "Add a user to groups or remove them");
    groups_cmd->add_option("USER", *user, "The user")->required();
    groups_cmd->add_option("--add", *add, "Add to this group; repeatable");
    groups_cmd->add_option("--remove", *remove, "Remove from this group; repeatable");
    groups_cmd->callback([&global, &exit_status, user, add, remove] {
        exit_status = change_groups(global, *user, *add, *remove);
    });

    auto label = std::make_shared<std::string>();
    auto* token_cmd =
        cmd->add_subcommand("add-token", "Issue a token for a user (printed once, never stored)");
    token_cmd->add_option("USER", *user, "The user")->required();
    token_cmd->add_option("--label", *label, "What the token is for (e.g. laptop, ci)");
    token_cmd->callback(
        [&global, &exit_status, user, label] { exit_status = add_token(global, *user, *label); });

    auto target = std::make_shared<std::string>();
    auto* revoke_cmd = cmd->add_subcommand(
        "revoke", "Revoke a token (TOKEN_ID), or a user with all their tokens (USER)");
    revoke_cmd->add_option("TARGET", *target, "A token id (tok_...) or a user name")->required();
    revoke_cmd->callback(
        [&global, &exit_status, target] { exit_status = revoke(global, *target); });

    auto json = std::make_shared<bool>(false);
    auto* list_cmd = cmd->add_subcommand("list",
                                         "List users, groups, token ids, protected "
                                         "environments (never secrets)");
    list_cmd->add_flag("--json", *json, "Print JSON");
    list_cmd->callback([&global, &exit_status, json] { exit_status = list(global, *json); });

    auto environment = std::make_shared<std::string>();
    auto* protect_cmd = cmd->add_subcommand(
        "protect", "Protect an environment with a new token (printed once; replaces the old one)");
    protect_cmd->add_option("ENV", *environment, "The environment (e.g. production)")->required();
    protect_cmd->callback(
        [&global, &exit_status, environment] { exit_status = protect(global, *environment); });
}

}  // namespace sluice::cli
