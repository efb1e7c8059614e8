// Integration tests of approvals: real pipelines, real `sluice approve`/`reject`
// processes, tokens from a real access file. A run waits (exit 3) at a stage with
// `approval:`, continues from there once approved, and every denial is refused with
// its reason and an audit entry.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "runner/store/sqlite.hpp"
#include "runner/testing/command.hpp"
#include "runner/testing/temp_dir.hpp"
#include "tests/run_json_support.hpp"

namespace sluice {
namespace {

using testing::CommandResult;
using testing::stage_of;
using testing::TempDir;

class Approval : public ::testing::Test {
protected:
    void SetUp() override {
        write_pipeline("release-managers", 1, "false");
        ASSERT_EQ(sluice({"access", "add-user", "alice", "--group", "release-managers"}).exit_code, 0);
        ASSERT_EQ(sluice({"access", "add-user", "bob", "--group", "release-managers"}).exit_code, 0);
        ASSERT_EQ(sluice({"access", "add-user", "mallory"}).exit_code, 0);
        alice_ = token_of("alice");
        bob_ = token_of("bob");
        mallory_ = token_of("mallory");
    }
    CommandResult sluice(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
        std::vector<std::string> argv = {testing::sluice_binary(), "--state",
                                         (dir_ / "state").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        if (!env.count("USER")) env["USER"] = "carol";  // who triggers runs
        if (!env.count("SLUICE_TOKEN")) env["SLUICE_TOKEN"] = "";
        return testing::run_command(argv, {dir_.path(), std::move(env)});
    }
    std::string token_of(const std::string& user) {
        auto r = sluice({"access", "add-token", user});
        std::smatch m;
        std::regex re("slc_[A-Za-z0-9_]+");
        EXPECT_TRUE(std::regex_search(r.out, m, re)) << r.out << r.err;
        return m.str();
    }
    CommandResult approve(const std::string& token, const std::string& stage = "deploy") {
        return sluice({"approve", "1", stage, "--token", token});
    }
    void write_pipeline(const std::string& approvers, int required, const std::string& self) {
        dir_.write("sluice.yml",
                   "name: app\nstages:\n  build:\n    run: echo built >> build.count\n"
                   "  deploy:\n    needs: [build]\n    approval: {required: " +
                       std::to_string(required) + ", approvers: [" + approvers +
                       "], self_approval: " + self + "}\n    run: echo deployed >> deploy.count\n");
    }
    nlohmann::json show(int run = 1) {
        auto r = sluice({"show", std::to_string(run), "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return nlohmann::json::parse(r.out);
    }
    int lines(const std::string& file) {
        std::ifstream in(dir_ / file);
        int n = 0;
        for (std::string line; std::getline(in, line);) ++n;
        return n;
    }
    // The audit trail: the run's approval_denied events, as `reason` words.
    std::vector<std::string> denials() {
        auto db = store::sqlite::Connection::open(dir_ / "state" / "sluice.db");
        EXPECT_TRUE(db);
        auto q = db->prepare("SELECT data FROM events WHERE type = 'approval_denied' ORDER BY id");
        std::vector<std::string> out;
        while (q && *q->step()) out.push_back(nlohmann::json::parse(q->column_text(0))["reason"]);
        return out;
    }
    TempDir dir_;
    std::string alice_, bob_, mallory_;
};

TEST_F(Approval, ARunWaitsThenContinuesFromWhereItStoppedOnceApproved) {
    auto r = sluice({"run"});
    EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
    EXPECT_NE(r.out.find("run 1 waits for 1 approval of deploy from release-managers"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("sluice approve 1 deploy"), std::string::npos) << r.out;
    auto run = show();
    EXPECT_EQ(run["status"], "waiting");
    EXPECT_EQ(stage_of(run, "deploy")["status"], "waiting");
    EXPECT_EQ(lines("deploy.count"), 0);

    auto ok = approve(alice_);
    EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
    EXPECT_NE(ok.out.find("alice approved deploy of run 1; continuing the run"), std::string::npos);
    EXPECT_EQ(show()["status"], "passed");
    EXPECT_EQ(lines("build.count"), 1);  // nothing re-run
    EXPECT_EQ(lines("deploy.count"), 1);
}

TEST_F(Approval, EveryDenialIsRefusedWithItsReasonAndAudited) {
    ASSERT_EQ(sluice({"run"}).exit_code, 3);
    auto no_token = sluice({"approve", "1", "deploy"});
    EXPECT_EQ(no_token.exit_code, 2);
    auto wrong = approve(alice_.substr(0, alice_.size() - 4) + "0000");
    EXPECT_EQ(wrong.exit_code, 2);
    auto outsider = approve(mallory_);
    EXPECT_EQ(outsider.exit_code, 2);
    EXPECT_NE(outsider.err.find("mallory may not approve deploy (approvers: release-managers)"),
              std::string::npos)
        << outsider.err;
    auto as_other = sluice({"approve", "1", "deploy", "--token", alice_, "--as", "bob"});
    EXPECT_EQ(as_other.exit_code, 2);
    auto unknown = sluice({"approve", "1", "deploy", "--token", alice_, "--as", "nobody"});
    EXPECT_EQ(unknown.exit_code, 2);
    ASSERT_EQ(sluice({"access", "revoke", "bob"}).exit_code, 0);
    auto revoked = approve(bob_);
    EXPECT_EQ(revoked.exit_code, 2);
    EXPECT_EQ(lines("deploy.count"), 0);
    EXPECT_EQ(show()["status"], "waiting");  // still approvable by someone who may
    auto d = denials();
    ASSERT_EQ(d.size(), 6u);
    EXPECT_EQ(d[0], "missing_token");
    EXPECT_EQ(d[1], "wrong_secret");
    EXPECT_EQ(d[2], "not_an_approver");
    EXPECT_EQ(d[3], "not_token_owner");
    EXPECT_EQ(d[4], "unknown_user");
    EXPECT_EQ(d[5], "revoked_token");
    EXPECT_EQ(approve(alice_).exit_code, 0);
}

TEST_F(Approval, NobodyApprovesTheirOwnRun) {
    ASSERT_EQ(sluice({"run"}, {{"USER", "alice"}}).exit_code, 3);
    auto own = approve(alice_);
    EXPECT_EQ(own.exit_code, 2);
    EXPECT_NE(own.err.find("alice triggered or wrote run 1 and may not approve it"),
              std::string::npos)
        << own.err;
    EXPECT_EQ(denials(), std::vector<std::string>{"self_approval"});
    EXPECT_EQ(approve(bob_).exit_code, 0);
}

TEST_F(Approval, TwoApprovalsAreNeededAndTheSamePersonCountsOnce) {
    write_pipeline("release-managers", 2, "false");
    ASSERT_EQ(sluice({"run"}).exit_code, 3);
    auto first = approve(alice_);
    EXPECT_EQ(first.exit_code, 3) << first.err;
    EXPECT_NE(first.out.find("(1 of 2)"), std::string::npos) << first.out;
    auto again = approve(alice_);
    EXPECT_EQ(again.exit_code, 2);
    EXPECT_NE(again.err.find("alice already approved stage deploy of run 1 (a decision counts once)"),
              std::string::npos)
        << again.err;
    EXPECT_EQ(lines("deploy.count"), 0);
    EXPECT_EQ(approve(bob_).exit_code, 0);
    EXPECT_EQ(lines("deploy.count"), 1);
}

TEST_F(Approval, ApprovingARunThatIsNotWaitingIsDenied) {
    ASSERT_EQ(sluice({"run"}).exit_code, 3);
    ASSERT_EQ(approve(alice_).exit_code, 0);
    auto late = approve(bob_);
    EXPECT_EQ(late.exit_code, 2);
    EXPECT_NE(late.err.find("is not waiting for an approval"), std::string::npos) << late.err;
    EXPECT_EQ(denials(), std::vector<std::string>{"conflict"});
    EXPECT_EQ(lines("deploy.count"), 1);
}

TEST_F(Approval, ARejectionFailsTheRun) {
    ASSERT_EQ(sluice({"run"}).exit_code, 3);
    auto no_reason = sluice({"reject", "1", "deploy", "--token", bob_});
    EXPECT_EQ(no_reason.exit_code, 2);  // --reason is required
    auto r = sluice({"reject", "1", "deploy", "--token", bob_, "--reason", "f1 looks odd"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto run = show();
    EXPECT_EQ(run["status"], "failed");
    EXPECT_EQ(stage_of(run, "deploy")["status"], "failed");
    EXPECT_EQ(stage_of(run, "deploy")["reason"], "rejected by bob: f1 looks odd");
    EXPECT_EQ(approve(alice_).exit_code, 2);
    EXPECT_EQ(lines("deploy.count"), 0);
}

TEST_F(Approval, TwoApproversAtTheSameMomentContinueTheRunExactlyOnce) {
    ASSERT_EQ(sluice({"run"}).exit_code, 3);
    auto argv = [&](const std::string& token) {
        return std::vector<std::string>{testing::sluice_binary(), "--state",
                                        (dir_ / "state").string(), "approve", "1", "deploy",
                                        "--token", token};
    };
    testing::Background a(argv(alice_), {dir_.path(), {}});
    testing::Background b(argv(bob_), {dir_.path(), {}});
    auto ra = a.wait();
    auto rb = b.wait();
    std::vector<int> codes{ra.exit_code, rb.exit_code};
    std::sort(codes.begin(), codes.end());
    EXPECT_EQ(codes, (std::vector<int>{0, 2})) << ra.err << rb.err;
    EXPECT_EQ(lines("deploy.count"), 1);
    EXPECT_EQ(show()["status"], "passed");
}

TEST_F(Approval, AnExpiredRequestIsRejected) {
    dir_.write("sluice.yml",
               "name: app\nstages:\n  deploy:\n    approval: {approvers: [release-managers], "
               "timeout: 72h}\n    run: echo deployed >> deploy.count\n");
    ASSERT_EQ(sluice({"run"}).exit_code, 3);
    {  // The request was made 73 hours ago.
        auto db = store::sqlite::Connection::open(dir_ / "state" / "sluice.db");
        ASSERT_TRUE(db);
        ASSERT_TRUE(db->exec("UPDATE approval_requests SET requested_ms = requested_ms - " +
                             std::to_string(73LL * 3600 * 1000)));
    }
    auto late = approve(alice_);
    EXPECT_EQ(late.exit_code, 2);
    EXPECT_NE(late.err.find("had expired"), std::string::npos) << late.err;
    auto run = show();
    EXPECT_EQ(run["status"], "failed");
    EXPECT_EQ(stage_of(run, "deploy")["reason"], "the approval request expired after 72 hours");
}

TEST_F(Approval, ARunKilledWhileWaitingIsStillApprovable) {
    dir_.write("sluice.yml",
               "name: app\nstages:\n  deploy:\n    approval: {approvers: [release-managers]}\n"
               "    run: echo deployed >> deploy.count\n"
               "  slow:\n    run: test -f started || { touch started; sleep 60; }\n");
    testing::Background runner({testing::sluice_binary(), "--state", (dir_ / "state").string(),
                                "run"},
                               {dir_.path(), {{"USER", "carol"}}});
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!std::filesystem::exists(dir_ / "started") && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(std::filesystem::exists(dir_ / "started"));
    ::kill(runner.pid(), SIGKILL);
    runner.wait();
    // The next command finds the runner gone: the run is interrupted, deploy still waits.
    auto run = show();
    EXPECT_EQ(run["status"], "interrupted");
    EXPECT_EQ(stage_of(run, "deploy")["status"], "waiting");
    auto ok = approve(alice_);
    EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
    EXPECT_EQ(lines("deploy.count"), 1);
    EXPECT_EQ(show()["status"], "passed");
}

}  // namespace
}  // namespace sluice
