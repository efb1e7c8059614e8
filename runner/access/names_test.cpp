// Names of users, groups and environments; emails and free text.
#include "runner/access/names.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::access {
namespace {

TEST(Names, AcceptsLettersDigitsAndTheFourPunctuationMarks) {
    for (const char* name : {"alice", "release-managers", "a.b_c-d@example.com", "0x", "Bob"}) {
        EXPECT_TRUE(check_name("group name", name).has_value()) << name;
    }
}

TEST(Names, RefusesOtherCharactersSayingWhich) {
    auto space = check_name("user name", "bad name");
    ASSERT_FALSE(space.has_value());
    EXPECT_EQ(space.error().code, util::ErrorCode::bad_input);
    EXPECT_EQ(space.error().message,
              "user name `bad name` has ` `; names may hold only letters, digits, `.`, `_`, `-` "
              "and `@`");
    auto slash = check_name("group name", "ops/prod");
    ASSERT_FALSE(slash.has_value());
    EXPECT_NE(slash.error().message.find("`/`"), std::string::npos);
    auto control = check_name("user name", std::string("a\nb"));
    ASSERT_FALSE(control.has_value());
    EXPECT_NE(control.error().message.find("byte 0x0a"), std::string::npos);
    EXPECT_FALSE(check_name("user name", "Zoë").has_value());
}

TEST(Names, RefusesEmptyLongAndLeadingPunctuation) {
    EXPECT_EQ(check_name("user name", "").error().message, "user name is empty");
    EXPECT_FALSE(check_name("user name", std::string(k_max_name_length + 1, 'a')).has_value());
    EXPECT_TRUE(check_name("user name", std::string(k_max_name_length, 'a')).has_value());
    auto dash = check_name("user name", "-rf");
    ASSERT_FALSE(dash.has_value());
    EXPECT_NE(dash.error().message.find("must start with a letter or a digit"), std::string::npos);
}

TEST(Names, UserNamesNeverLookLikeTokenIds) {
    auto checked = check_user_name("tok_3f9a2c");
    ASSERT_FALSE(checked.has_value());
    EXPECT_NE(checked.error().message.find("kept for token ids"), std::string::npos);
    EXPECT_TRUE(check_user_name("token-bot").has_value());
}

TEST(Names, EmailsNeedOneAtWithTextAroundIt) {
    EXPECT_TRUE(check_email("alice@example.com").has_value());
    for (const char* bad : {"alice", "@example.com", "alice@", "a@b@c", "a lice@example.com"}) {
        EXPECT_FALSE(check_email(bad).has_value()) << bad;
    }
}

TEST(Names, FreeTextRefusesControlCharactersAndLength) {
    EXPECT_TRUE(check_free_text("token label", "Alice's laptop (ünïcode ok)").has_value());
    EXPECT_FALSE(check_free_text("token label", "a\tb").has_value());
    EXPECT_FALSE(check_free_text("token label", std::string(201, 'x')).has_value());
}

}  // namespace
}  // namespace sluice::access
