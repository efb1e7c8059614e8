// check_self_approval(): the triggerer (by user name, claimed name or listed OS
// account) and the author are refused; an unknown trigger refuses everyone.
#include "runner/access/self_approval.hpp"

#include <gtest/gtest.h>

namespace sluice::access {
namespace {

Identity person(std::string user, std::vector<std::string> accounts = {}, std::string email = {}) {
    Identity id;
    id.user = std::move(user);
    id.email = std::move(email);
    id.accounts = std::move(accounts);
    return id;
}

RunAuthorship run_by(std::string trigger, std::vector<std::string> claimed = {},
                     std::string author = {}) {
    return RunAuthorship{"7", std::move(trigger), std::move(claimed), "", std::move(author)};
}

TEST(SelfApproval, SomeoneElseMayApprove) {
    EXPECT_FALSE(
        check_self_approval(person("bob"), run_by("ann", {}, "Ann Lee <ann@example.com>")));
}

TEST(SelfApproval, TheTriggeringAccountIsRefused) {
    auto denial = check_self_approval(person("ann"), run_by("ann"));
    ASSERT_TRUE(denial);
    EXPECT_EQ(denial->reason, "self_approval");
    EXPECT_EQ(denial->message,
              "ann triggered or wrote run 7 and may not approve it (self_approval: false)");
}

TEST(SelfApproval, AUserWhoseListedAccountTriggeredIsRefused) {
    EXPECT_TRUE(check_self_approval(person("ann.lee", {"alee"}), run_by("alee")));
    EXPECT_FALSE(check_self_approval(person("ann.lee", {"alee"}), run_by("bob")));
}

TEST(SelfApproval, ANameTheEnvironmentClaimedCountsAsTheTriggerToo) {
    EXPECT_TRUE(check_self_approval(person("ann"), run_by("root", {"ann"})));
    EXPECT_TRUE(check_self_approval(person("root-admin", {"root"}), run_by("root", {"ann"})));
}

TEST(SelfApproval, TheCommitsAuthorIsRefusedByNameOrEmail) {
    auto run = run_by("ci", {}, "Ann Lee <ann@example.com>");
    EXPECT_TRUE(check_self_approval(person("ann", {}, "ann@example.com"), run));
    EXPECT_TRUE(check_self_approval(person("Ann Lee"), run));
    EXPECT_TRUE(check_self_approval(person("ann@example.com"), run));
    EXPECT_FALSE(check_self_approval(person("ann"), run));
}

TEST(SelfApproval, AnUnknownTriggerRefusesEveryoneAndSaysWhy) {
    RunAuthorship run{"7", "", {}, "no passwd entry for uid 1000 and $USER unset", ""};
    for (const auto& who : {person("bob"), person("alice", {"alice"}), person("x")}) {
        auto denial = check_self_approval(who, run);
        ASSERT_TRUE(denial) << who.user;
        EXPECT_EQ(denial->reason, "trigger_unknown");
        EXPECT_EQ(denial->message,
                  "run 7's trigger is unknown (no passwd entry for uid 1000 and $USER unset), so "
                  "with self_approval: false nobody can be shown to differ from it; re-run as a "
                  "known user or allow self_approval");
    }
}

TEST(SelfApproval, ATriggerRecordedAsNothingIsUnknownToo) {
    auto denial = check_self_approval(person("bob"), run_by(""));
    ASSERT_TRUE(denial);
    EXPECT_EQ(denial->reason, "trigger_unknown");
    EXPECT_NE(denial->message.find("its record names nobody"), std::string::npos);
}

}  // namespace
}  // namespace sluice::access
