// Who a local run's trigger is: the passwd account, $USER and $LOGNAME only claimed,
// and unknown (with why) when there is no account; and how a run's options keep it.
#include "runner/util/local_identity.hpp"

#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

namespace sluice::util {
namespace {

TEST(LocalIdentity, TheAccountIsTheTriggerWhateverTheEnvironmentSays) {
    auto id = identity_from({1000, "alice", "", "", ""});
    EXPECT_EQ(id.name, "alice");
    EXPECT_EQ(id.source, "passwd");
    EXPECT_EQ(id.uid, 1000);
    EXPECT_TRUE(id.claimed.empty());
    EXPECT_EQ(id.describe(), "alice");

    auto same = identity_from({1000, "alice", "", "alice", "alice"});
    EXPECT_TRUE(same.claimed.empty());

    auto other = identity_from({1000, "alice", "", "mallory", "alice"});
    EXPECT_EQ(other.name, "alice");  // never replaced by $USER
    EXPECT_EQ(other.claimed, std::vector<std::string>{"mallory"});
    EXPECT_EQ(other.names(), (std::vector<std::string>{"alice", "mallory"}));
    EXPECT_EQ(other.describe(), "alice (also claimed: mallory)");
}

TEST(LocalIdentity, NoPasswdEntryIsUnknownEvenWithUserSet) {
    auto bare = identity_from({4242, std::nullopt, "", "", ""});
    EXPECT_FALSE(bare.known());
    EXPECT_EQ(bare.unknown_why, "no passwd entry for uid 4242 and $USER unset");

    auto claimed = identity_from({4242, std::nullopt, "", "bob", ""});
    EXPECT_FALSE(claimed.known());
    EXPECT_EQ(claimed.claimed, std::vector<std::string>{"bob"});
    EXPECT_NE(claimed.unknown_why.find("(bob) alone cannot be checked"), std::string::npos)
        << claimed.unknown_why;

    auto broken = identity_from({7, std::nullopt, "Input/output error", "", ""});
    EXPECT_NE(broken.unknown_why.find("could not be read: Input/output error"), std::string::npos);
}

TEST(LocalIdentity, ThisProcessIsItsPasswdAccount) {
    const passwd* pw = ::getpwuid(::geteuid());
    if (pw == nullptr) GTEST_SKIP() << "this test's uid has no passwd entry";
    auto facts = current_account_facts();
    EXPECT_EQ(facts.uid, static_cast<long long>(::geteuid()));
    ASSERT_TRUE(facts.account);
    EXPECT_EQ(*facts.account, pw->pw_name);
    EXPECT_EQ(local_identity().name, pw->pw_name);
}

TEST(TriggerIdentityRecord, RoundTripsThroughTheRunOptions) {
    auto id = identity_from({1000, "alice", "", "mallory", ""});
    nlohmann::json options = {{"trigger_identity", to_json(id)}, {"triggered_by", "alice"}};
    auto back = trigger_identity_of(options);
    EXPECT_EQ(back.name, "alice");
    EXPECT_EQ(back.source, "passwd");
    EXPECT_EQ(back.uid, 1000);
    EXPECT_EQ(back.claimed, std::vector<std::string>{"mallory"});

    auto unknown = identity_from({4242, std::nullopt, "", "", ""});
    auto unknown_back = trigger_identity_of({{"trigger_identity", to_json(unknown)}});
    EXPECT_FALSE(unknown_back.known());
    EXPECT_EQ(unknown_back.unknown_why, unknown.unknown_why);
}

TEST(TriggerIdentityRecord, AnOlderRecordIsUnknownAndItsUserOnlyClaimed) {
    auto none = trigger_identity_of(nlohmann::json::object());
    EXPECT_FALSE(none.known());
    EXPECT_EQ(none.unknown_why, "the run was recorded without who triggered it");

    auto from_user = trigger_identity_of({{"triggered_by", "alice"}});
    EXPECT_FALSE(from_user.known());
    EXPECT_EQ(from_user.claimed, std::vector<std::string>{"alice"});
    EXPECT_NE(from_user.unknown_why.find("only $USER (alice)"), std::string::npos);
}

}  // namespace
}  // namespace sluice::util
