// The shape of tokens and token ids.
#include "runner/access/token_format.hpp"

#include <gtest/gtest.h>

namespace sluice::access {
namespace {

TEST(TokenFormat, AnIssuedTokenCarriesItsId) {
    auto id = new_token_id();
    ASSERT_TRUE(id.has_value());
    EXPECT_TRUE(is_token_id(*id)) << *id;
    auto token = new_user_token(*id);
    ASSERT_TRUE(token.has_value());
    EXPECT_EQ(token->size(), std::string("slc_tok_3f9a2c_").size() + 64);
    EXPECT_EQ(token_id_of(*token), *id);
}

TEST(TokenFormat, AnythingElseHasNoId) {
    std::string hex64(64, 'a');
    EXPECT_EQ(token_id_of("slc_tok_3f9a2c_" + hex64), "tok_3f9a2c");
    for (const std::string& bad :
         {std::string(), std::string("hunter2"), "slc_tok_3f9a2c_" + hex64.substr(1),
          "slc_tok_3f9a2c_" + hex64 + "a", "slc_tok_3F9A2C_" + hex64, "slc_tok_3f9a2c-" + hex64,
          "xlc_tok_3f9a2c_" + hex64, "slc_tok_3f9a2c_" + std::string(64, 'g'),
          "slc_env_" + hex64}) {
        EXPECT_FALSE(token_id_of(bad).has_value()) << bad;
    }
    EXPECT_FALSE(is_token_id("tok_3f9a2"));
    EXPECT_FALSE(is_token_id("tok_3f9a2cc"));
    EXPECT_FALSE(is_token_id("alice"));
}

TEST(TokenFormat, EnvironmentTokensHaveTheirOwnPrefix) {
    auto token = new_environment_token();
    ASSERT_TRUE(token.has_value());
    EXPECT_TRUE(token->starts_with("slc_env_"));
    EXPECT_EQ(token->size(), 8u + 64u);
    EXPECT_FALSE(token_id_of(*token).has_value());
}

}  // namespace
}  // namespace sluice::access
