// authenticate(): an identity for a good token and one distinct denial per way a token
// can be bad; may_approve() with users and groups; environment tokens.
#include "runner/access/authenticate.hpp"

#include <gtest/gtest.h>

#include <set>

#include "runner/access/token_format.hpp"

namespace sluice::access {
namespace {

// A snapshot built in memory: users, and tokens whose secrets the test keeps.
class AuthenticateTest : public ::testing::Test {
  protected:
    void SetUp() override {
        snapshot_.users.push_back(User{"alice",
                                       "alice@example.com",
                                       "Alice",
                                       {"ml", "release-managers"},
                                       1,
                                       false,
                                       std::nullopt,
                                       {}});
        snapshot_.users.push_back(User{"bob", "", "", {"ml"}, 1, false, std::nullopt, {}});
        snapshot_.users.push_back(User{"carol", "", "", {"release-managers"}, 1, true, 5, {}});
        alice_ = issue("tok_a11ce0", "alice");
        bob_ = issue("tok_b0b000", "bob");
        revoked_ = issue("tok_dead00", "alice", 7);
        carol_ = issue("tok_ca1010", "carol");
        ghost_ = issue("tok_90057a", "ghost");
    }

    std::string issue(const std::string& id, const std::string& user,
                      std::optional<std::int64_t> revoked_ms = std::nullopt) {
        auto secret = new_user_token(id);
        auto hash = hash_secret(*secret, k_min_iterations);
        snapshot_.tokens.push_back(TokenRecord{id, user, "", *hash, 1, revoked_ms});
        return *secret;
    }

    Denial denial(std::string_view token, std::string_view as_user = {}) {
        auto result = authenticate(snapshot_, token, as_user);
        EXPECT_FALSE(result.has_value());
        if (result) return {};
        std::string text(token);
        if (!text.empty()) {
            EXPECT_EQ(result.error().message.find(text), std::string::npos);
        }
        return result.error();
    }

    AccessSnapshot snapshot_;
    std::string alice_, bob_, revoked_, carol_, ghost_;
};

TEST_F(AuthenticateTest, AGoodTokenProvesItsUser) {
    auto identity = authenticate(snapshot_, alice_);
    ASSERT_TRUE(identity.has_value()) << identity.error().message;
    EXPECT_EQ(identity->user, "alice");
    EXPECT_EQ(identity->token_id, "tok_a11ce0");
    EXPECT_EQ(identity->groups, (std::vector<std::string>{"ml", "release-managers"}));
    EXPECT_EQ(identity->email, "alice@example.com");
    EXPECT_TRUE(authenticate(snapshot_, alice_, "alice").has_value());
}

TEST_F(AuthenticateTest, NoTokenAtAll) {
    auto d = denial("");
    EXPECT_EQ(d.reason, DenialReason::missing_token);
    EXPECT_NE(d.message.find("SLUICE_TOKEN"), std::string::npos);
    EXPECT_EQ(d.error().code, util::ErrorCode::bad_input);
}

TEST_F(AuthenticateTest, MalformedTokens) {
    EXPECT_EQ(denial("hunter2").reason, DenialReason::malformed_token);
    EXPECT_EQ(denial(alice_.substr(0, alice_.size() - 1)).reason, DenialReason::malformed_token);
    auto env = denial("slc_env_" + std::string(64, 'a'));
    EXPECT_EQ(env.reason, DenialReason::malformed_token);
    EXPECT_NE(env.message.find("environment's token"), std::string::npos);
}

TEST_F(AuthenticateTest, UnknownToken) {
    auto d = denial("slc_tok_123456_" + std::string(64, 'a'));
    EXPECT_EQ(d.reason, DenialReason::unknown_token);
    EXPECT_EQ(d.token_id, "tok_123456");
    EXPECT_NE(d.message.find("tok_123456 is unknown"), std::string::npos);
}

TEST_F(AuthenticateTest, WrongSecret) {
    std::string wrong = alice_;
    wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
    auto d = denial(wrong);
    EXPECT_EQ(d.reason, DenialReason::wrong_secret);
    EXPECT_EQ(d.token_id, "tok_a11ce0");
    EXPECT_TRUE(d.user.empty());  // a wrong secret learns nothing about the owner
    // Another user's secret under this id is just as wrong.
    std::string swapped = "slc_tok_a11ce0_" + bob_.substr(bob_.rfind('_') + 1);
    EXPECT_EQ(denial(swapped).reason, DenialReason::wrong_secret);
}

TEST_F(AuthenticateTest, RevokedToken) {
    auto d = denial(revoked_);
    EXPECT_EQ(d.reason, DenialReason::revoked_token);
    EXPECT_EQ(d.user, "alice");
    EXPECT_EQ(d.message, "token tok_dead00 of user `alice` has been revoked");
}

TEST_F(AuthenticateTest, DisabledUser) {
    auto d = denial(carol_);
    EXPECT_EQ(d.reason, DenialReason::disabled_user);
    EXPECT_EQ(d.user, "carol");
}

TEST_F(AuthenticateTest, UnknownUser) {
    auto owner_gone = denial(ghost_);
    EXPECT_EQ(owner_gone.reason, DenialReason::unknown_user);
    EXPECT_EQ(owner_gone.user, "ghost");
    auto claimed = denial(alice_, "mallory");
    EXPECT_EQ(claimed.reason, DenialReason::unknown_user);
    EXPECT_EQ(claimed.user, "mallory");
    EXPECT_NE(claimed.message.find("there is no user `mallory`"), std::string::npos);
}

TEST_F(AuthenticateTest, AnotherUsersToken) {
    auto d = denial(bob_, "alice");
    EXPECT_EQ(d.reason, DenialReason::not_token_owner);
    EXPECT_EQ(d.message, "the token is `bob`'s, not `alice`'s");
}

TEST_F(AuthenticateTest, EveryReasonHasItsOwnWord) {
    std::set<std::string_view> words;
    for (auto reason :
         {DenialReason::missing_token, DenialReason::malformed_token, DenialReason::unknown_token,
          DenialReason::wrong_secret, DenialReason::revoked_token, DenialReason::unknown_user,
          DenialReason::disabled_user, DenialReason::not_token_owner}) {
        words.insert(to_string(reason));
    }
    EXPECT_EQ(words.size(), 8u);
    EXPECT_EQ(to_string(DenialReason::wrong_secret), "wrong_secret");
}

TEST_F(AuthenticateTest, ApproversAreUsersOrGroups) {
    std::vector<std::string> managers = {"release-managers"};
    EXPECT_TRUE(may_approve(snapshot_, "alice", managers));
    EXPECT_FALSE(may_approve(snapshot_, "bob", managers));
    EXPECT_TRUE(may_approve(snapshot_, "bob", {"release-managers", "bob"}));
    EXPECT_TRUE(may_approve(snapshot_, "bob", {"ml"}));
    EXPECT_FALSE(may_approve(snapshot_, "carol", managers));   // disabled
    EXPECT_FALSE(may_approve(snapshot_, "ghost", {"ghost"}));  // not a user
    EXPECT_FALSE(may_approve(snapshot_, "alice", {}));
    EXPECT_FALSE(may_approve(snapshot_, "alice", {"release"}));  // no prefix matching
}

TEST_F(AuthenticateTest, ApproversThatNameNobody) {
    EXPECT_EQ(unknown_approvers(snapshot_, {"release-managers", "bob", "qa", "dave"}),
              (std::vector<std::string>{"qa", "dave"}));
}

}  // namespace
}  // namespace sluice::access
