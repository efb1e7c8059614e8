// Integration tests of `sluice access`: the real binary on a temporary state
// directory, as an administrator would use it; exit statuses, secrets shown once and
// never stored, and concurrent processes that lose nothing.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "runner/testing/command.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice {
namespace {

using testing::Background;
using testing::CommandResult;
using testing::run_command;
using testing::sluice_binary;
using testing::TempDir;

class AccessCli : public ::testing::Test {
  protected:
    std::vector<std::string> argv(std::vector<std::string> args) const {
        std::vector<std::string> out = {sluice_binary(), "--state", state().string(), "access"};
        out.insert(out.end(), args.begin(), args.end());
        return out;
    }
    CommandResult access(std::vector<std::string> args) {
        return run_command(argv(std::move(args)), {dir_.path(), {}});
    }
    nlohmann::json list() {
        auto r = access({"list", "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return nlohmann::json::parse(r.out);
    }
    std::filesystem::path state() const { return dir_ / "state"; }
    std::filesystem::path file() const { return state() / "access.json"; }
    // The token a successful add-token or protect printed: stdout's only line.
    static std::string printed_token(const CommandResult& r) {
        EXPECT_EQ(r.exit_code, 0) << r.err;
        std::string out = r.out;
        if (!out.empty() && out.back() == '\n') out.pop_back();
        EXPECT_EQ(out.find('\n'), std::string::npos) << out;
        return out;
    }

    TempDir dir_;
};

TEST_F(AccessCli, UsersTokensAndRevocation) {
    auto added = access(
        {"add-user", "alice", "--group", "release-managers", "--email", "alice@example.com"});
    ASSERT_EQ(added.exit_code, 0) << added.err;
    EXPECT_EQ(added.out, "added user alice (groups: release-managers)\n");
    ASSERT_EQ(access({"add-user", "bob"}).exit_code, 0);

    auto issued = access({"add-token", "alice", "--label", "laptop"});
    std::string token = printed_token(issued);
    EXPECT_TRUE(token.starts_with("slc_tok_")) << token;
    EXPECT_NE(issued.err.find("cannot show it again"), std::string::npos) << issued.err;
    std::string id = token.substr(4, 10);

    // The secret is in no file and in no later output.
    std::string text = testing::read_file(file());
    EXPECT_EQ(text.find(token.substr(15)), std::string::npos);
    EXPECT_NE(text.find(id), std::string::npos);
    struct stat st {};
    ASSERT_EQ(::stat(file().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    auto table = access({"list"});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_NE(table.out.find("alice"), std::string::npos);
    EXPECT_NE(table.out.find("release-managers"), std::string::npos);
    EXPECT_NE(table.out.find(id), std::string::npos);
    EXPECT_NE(table.out.find("laptop"), std::string::npos);
    EXPECT_EQ(table.out.find(token.substr(15)), std::string::npos);

    auto json = list();
    ASSERT_EQ(json["users"].size(), 2u);
    EXPECT_EQ(json["users"][0]["name"], "alice");
    EXPECT_EQ(json["users"][0]["groups"], nlohmann::json({"release-managers"}));
    EXPECT_EQ(json["groups"]["release-managers"], nlohmann::json({"alice"}));
    ASSERT_EQ(json["tokens"].size(), 1u);
    EXPECT_EQ(json["tokens"][0]["id"], id);
    EXPECT_TRUE(json["tokens"][0]["revoked_ms"].is_null());
    EXPECT_FALSE(json["tokens"][0].contains("hash"));
    EXPECT_FALSE(json["tokens"][0].contains("salt"));

    auto revoked = access({"revoke", id});
    ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
    EXPECT_EQ(revoked.out, "revoked token " + id + " of alice\n");
    EXPECT_TRUE(list()["tokens"][0]["revoked_ms"].is_number());

    std::string second = printed_token(access({"add-token", "alice"}));
    auto user = access({"revoke", "alice"});
    ASSERT_EQ(user.exit_code, 0) << user.err;
    EXPECT_EQ(user.out, "revoked user alice and 1 token (" + second.substr(4, 10) + ")\n");
    EXPECT_EQ(list()["users"][0]["disabled"], true);
    EXPECT_EQ(access({"revoke", "alice"}).out, "user alice was already revoked\n");
    auto disabled = access({"add-token", "alice"});
    EXPECT_EQ(disabled.exit_code, 2);
    EXPECT_NE(disabled.err.find("disabled"), std::string::npos);
}

TEST_F(AccessCli, BadInputIsExitTwoWithAClearMessage) {
    ASSERT_EQ(access({"add-user", "alice"}).exit_code, 0);
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    for (const auto& c : std::vector<Case>{
             {{"add-user", "alice"}, "sluice: user `alice` already exists\n"},
             {{"add-user", "bad name"},
              "sluice: user name `bad name` has ` `; names may hold only letters, digits, `.`, "
              "`_`, `-` and `@`\n"},
             {{"add-user", "bob", "--group", "a/b"},
              "sluice: group name `a/b` has `/`; names may hold only letters, digits, `.`, `_`, "
              "`-` and `@`\n"},
             {{"add-token", "nobody"},
              "sluice: there is no user `nobody` (`sluice access list` shows them)\n"},
             {{"revoke", "nobody"},
              "sluice: there is no user or token `nobody` (`sluice access list` shows them)\n"},
             {{"revoke", "tok_000000"}, "sluice: there is no token tok_000000\n"},
             {{"protect", "prod/eu"},
              "sluice: environment name `prod/eu` has `/`; names may hold only letters, digits, "
              "`.`, `_`, `-` and `@`\n"},
         }) {
        auto r = access(c.args);
        EXPECT_EQ(r.exit_code, 2) << c.args[0] << " " << c.args[1];
        EXPECT_EQ(r.err, c.message);
        EXPECT_EQ(r.out, "");
    }
    EXPECT_EQ(list()["users"].size(), 1u);
    EXPECT_EQ(access({"frobnicate"}).exit_code, 2);
}

TEST_F(AccessCli, GroupsCanChangeAfterwards) {
    ASSERT_EQ(access({"add-user", "bob"}).exit_code, 0);
    auto added = access({"groups", "bob", "--add", "release-managers", "--add", "ml"});
    ASSERT_EQ(added.exit_code, 0) << added.err;
    EXPECT_EQ(added.out, "user bob: groups: ml, release-managers\n");
    auto removed = access({"groups", "bob", "--remove", "ml"});
    EXPECT_EQ(removed.out, "user bob: groups: release-managers\n");
    EXPECT_EQ(access({"groups", "bob"}).out, "user bob: groups: release-managers\n");
    EXPECT_EQ(access({"groups", "nobody", "--add", "ml"}).exit_code, 2);
}

TEST_F(AccessCli, ProtectPrintsTheEnvironmentTokenOnce) {
    auto first = access({"protect", "production"});
    std::string token = printed_token(first);
    EXPECT_TRUE(token.starts_with("slc_env_")) << token;
    EXPECT_NE(first.err.find("SLUICE_ENV_TOKEN_PRODUCTION"), std::string::npos);
    EXPECT_EQ(testing::read_file(file()).find(token.substr(8)), std::string::npos);

    auto again = access({"protect", "production"});
    EXPECT_NE(printed_token(again), token);
    EXPECT_NE(again.err.find("previous token no longer works"), std::string::npos);

    auto json = list();
    ASSERT_EQ(json["environments"].size(), 1u);
    EXPECT_EQ(json["environments"][0]["name"], "production");
    EXPECT_NE(access({"list"}).out.find("production"), std::string::npos);
}

TEST_F(AccessCli, ACorruptedFileIsExitOneAndLeftAlone) {
    ASSERT_EQ(access({"add-user", "alice"}).exit_code, 0);
    std::string garbage = "{\"version\": 1, \"users\": [{\"name\": \"alice\"";
    dir_.write("state/access.json", garbage);
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"add-user", "bob"}, {"list"}, {"add-token", "alice"}, {"revoke", "alice"}}) {
        auto r = access(args);
        EXPECT_EQ(r.exit_code, 1) << args[0];
        EXPECT_NE(r.err.find(file().string() + ":1:"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("not valid JSON"), std::string::npos) << r.err;
    }
    EXPECT_EQ(testing::read_file(file()), garbage);
}

TEST_F(AccessCli, ANewerFileIsRefused) {
    std::string newer = R"({"version": 9, "users": []})";
    dir_.write("state/access.json", newer);
    auto r = access({"add-user", "alice"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("written by a newer sluice"), std::string::npos) << r.err;
    EXPECT_EQ(testing::read_file(file()), newer);
}

TEST_F(AccessCli, ConcurrentProcessesLoseNoUser) {
    ASSERT_EQ(access({"list"}).exit_code, 0);  // creates the state directory first
    constexpr int k_processes = 8;
    std::vector<std::unique_ptr<Background>> running;
    for (int i = 0; i < k_processes; ++i) {
        running.push_back(std::make_unique<Background>(
            argv({"add-user", "user" + std::to_string(i), "--group", "g"}),
            testing::CommandOptions{dir_.path(), {}}));
    }
    for (auto& process : running) {
        auto r = process->wait();
        EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    auto json = list();
    EXPECT_EQ(json["users"].size(), static_cast<std::size_t>(k_processes));
    EXPECT_EQ(json["groups"]["g"].size(), static_cast<std::size_t>(k_processes));
}

}  // namespace
}  // namespace sluice
