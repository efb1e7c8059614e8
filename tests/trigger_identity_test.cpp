// Integration tests of who triggered a run: the real sluice binary started without
// $USER and $LOGNAME (as cron, systemd and containers start it) still records the
// account it runs as, `sluice show` says so, and `self_approval: false` never turns
// off: the triggerer cannot approve their own run, and a run whose trigger is unknown
// (a record written by an older sluice) can be approved by nobody.
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "runner/store/sqlite.hpp"
#include "runner/testing/command.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice {
namespace {

using testing::CommandResult;
using testing::TempDir;

// The name of the account this test runs as, from the passwd database (not $USER).
std::string account_name() {
    const passwd* pw = ::getpwuid(::geteuid());
    return pw != nullptr ? pw->pw_name : "";
}

class TriggerIdentity : public ::testing::Test {
  protected:
    void SetUp() override {
        account_ = account_name();
        if (account_.empty()) GTEST_SKIP() << "this test's uid has no passwd entry";
        dir_.write("sluice.yml",
                   "name: app\nstages:\n  deploy:\n    approval: {approvers: [release-managers], "
                   "self_approval: false}\n    run: echo deployed >> deploy.count\n");
        for (const std::string& user : {account_, std::string("bob"), std::string("carol")}) {
            ASSERT_EQ(sluice({"access", "add-user", user, "--group", "release-managers"}).exit_code,
                      0);
        }
    }
    // sluice with $USER and $LOGNAME unset, unless `user` is given.
    CommandResult sluice(std::vector<std::string> args, const std::string& user = "") {
        std::vector<std::string> argv = {"env", "-u", "USER", "-u", "LOGNAME"};
        if (!user.empty()) argv.push_back("USER=" + user);
        argv.insert(argv.end(), {testing::sluice_binary(), "--state", (dir_ / "state").string()});
        argv.insert(argv.end(), args.begin(), args.end());
        return testing::run_command(argv, {dir_.path(), {{"SLUICE_TOKEN", ""}}});
    }
    std::string token_of(const std::string& user) {
        auto r = sluice({"access", "add-token", user});
        std::smatch m;
        EXPECT_TRUE(std::regex_search(r.out, m, std::regex("slc_[A-Za-z0-9_]+"))) << r.out << r.err;
        return m.str();
    }
    CommandResult approve(const std::string& user) {
        return sluice({"approve", "1", "deploy", "--token", token_of(user)});
    }
    nlohmann::json show() {
        auto r = sluice({"show", "1", "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return nlohmann::json::parse(r.out);
    }
    std::vector<std::string> denials() {
        auto db = store::sqlite::Connection::open(dir_ / "state" / "sluice.db");
        EXPECT_TRUE(db);
        auto q = db->prepare("SELECT data FROM events WHERE type = 'approval_denied' ORDER BY id");
        std::vector<std::string> out;
        while (q && *q->step()) out.push_back(nlohmann::json::parse(q->column_text(0))["reason"]);
        return out;
    }
    bool deployed() { return std::filesystem::exists(dir_ / "deploy.count"); }

    TempDir dir_;
    std::string account_;
};

TEST_F(TriggerIdentity, WithoutUserTheRunRecordsTheAccountWhichMayNotApproveIt) {
    auto run = sluice({"run"});
    ASSERT_EQ(run.exit_code, 3) << run.out << run.err;
    auto shown = show();
    EXPECT_EQ(shown["triggered_by"], account_) << shown.dump(2);
    auto text = sluice({"show", "1"});
    EXPECT_NE(text.out.find("triggered by: " + account_), std::string::npos) << text.out;

    auto own = approve(account_);
    EXPECT_EQ(own.exit_code, 2) << own.out;
    EXPECT_NE(own.err.find(account_ + " triggered or wrote run 1 and may not approve it"),
              std::string::npos)
        << own.err;
    EXPECT_FALSE(deployed());
    EXPECT_EQ(denials(), std::vector<std::string>{"self_approval"});
    auto other = approve("bob");
    EXPECT_EQ(other.exit_code, 0) << other.out << other.err;
    EXPECT_TRUE(deployed());
}

TEST_F(TriggerIdentity, AUserThatDisagreesWithTheAccountIsKeptAndCountsAsTheTriggerToo) {
    ASSERT_EQ(sluice({"run"}, "carol").exit_code, 3);
    auto shown = show();
    EXPECT_EQ(shown["triggered_by"], account_);  // $USER never replaces the account
    EXPECT_EQ(shown["options"]["trigger_identity"]["claimed"], nlohmann::json({"carol"}))
        << shown.dump(2);
    EXPECT_EQ(approve("carol").exit_code, 2);
    EXPECT_EQ(approve(account_).exit_code, 2);
    EXPECT_EQ(denials(), (std::vector<std::string>{"self_approval", "self_approval"}));
    EXPECT_EQ(approve("bob").exit_code, 0);
}

TEST_F(TriggerIdentity, AnAccessUserListingTheAccountIsTheTriggerToo) {
    ASSERT_EQ(
        sluice({"access", "add-user", "ann", "--group", "release-managers", "--account", account_})
            .exit_code,
        0);
    ASSERT_EQ(sluice({"run"}).exit_code, 3);
    auto own = approve("ann");
    EXPECT_EQ(own.exit_code, 2) << own.out;
    EXPECT_NE(own.err.find("ann triggered or wrote run 1 and may not approve it"),
              std::string::npos)
        << own.err;
    EXPECT_FALSE(deployed());
    EXPECT_EQ(approve("bob").exit_code, 0);
    EXPECT_TRUE(deployed());
}

TEST_F(TriggerIdentity, ARunWhoseTriggerIsUnknownIsApprovedByNobody) {
    ASSERT_EQ(sluice({"run"}).exit_code, 3);
    {  // As an older sluice recorded it when $USER was unset: no word of who triggered it.
        auto db = store::sqlite::Connection::open(dir_ / "state" / "sluice.db");
        ASSERT_TRUE(db);
        ASSERT_TRUE(
            db->exec("UPDATE runs SET options = json_remove(options, '$.triggered_by', "
                     "'$.trigger_identity')"));
    }
    EXPECT_TRUE(show()["triggered_by"].is_null());
    auto text = sluice({"show", "1"});
    EXPECT_NE(text.out.find("triggered by: unknown"), std::string::npos) << text.out;

    for (const std::string& user : {std::string("bob"), account_}) {
        auto r = approve(user);
        EXPECT_EQ(r.exit_code, 2) << user << ": " << r.out;
        EXPECT_NE(r.err.find("run 1's trigger is unknown"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("nobody can be shown to differ from it"), std::string::npos) << r.err;
    }
    EXPECT_FALSE(deployed());
    EXPECT_EQ(denials(), (std::vector<std::string>{"trigger_unknown", "trigger_unknown"}));
    EXPECT_EQ(show()["status"], "waiting");
    // Refusing is always safe: a rejection still ends the run.
    auto no =
        sluice({"reject", "1", "deploy", "--token", token_of("bob"), "--reason", "who ran it?"});
    EXPECT_EQ(no.exit_code, 0) << no.err;
    EXPECT_EQ(show()["status"], "failed");
}

}  // namespace
}  // namespace sluice
