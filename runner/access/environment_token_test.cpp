// Which token is presented for an environment, and the check of a write to it.
#include "runner/access/environment_token.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "runner/access/secret_hash.hpp"
#include "runner/access/token_format.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice::access {
namespace {

VariableLookup lookup(std::map<std::string, std::string> values) {
    return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
        auto it = values.find(name);
        if (it == values.end()) return std::nullopt;
        return it->second;
    };
}

TEST(EnvironmentToken, VariablesAreNamedAfterTheEnvironment) {
    EXPECT_EQ(environment_token_variable("production"), "SLUICE_ENV_TOKEN_PRODUCTION");
    EXPECT_EQ(environment_token_variable("eu-west.2"), "SLUICE_ENV_TOKEN_EU_WEST_2");
    EXPECT_EQ(environment_token_file_variable("staging"), "SLUICE_ENV_TOKEN_FILE_STAGING");
}

TEST(EnvironmentToken, TheEnvironmentsVariableThenItsFileThenTheOldOneForProductionOnly) {
    testing::TempDir dir;
    std::ofstream(dir.path() / "token") << "  slc_env_file\n\n";
    auto from_file = presented_environment_token(
        "production", lookup({{"SLUICE_ENV_TOKEN_FILE_PRODUCTION", (dir.path() / "token").string()},
                              {"SLUICE_PROD_TOKEN", "slc_env_old"}}));
    ASSERT_TRUE(from_file.has_value()) << from_file.error().message;
    EXPECT_EQ(from_file->token, "slc_env_file");
    EXPECT_EQ(from_file->warning, "");

    auto own = presented_environment_token(
        "production", lookup({{"SLUICE_ENV_TOKEN_PRODUCTION", "slc_env_own"},
                              {"SLUICE_ENV_TOKEN_FILE_PRODUCTION", "/nonexistent"}}));
    ASSERT_TRUE(own.has_value());
    EXPECT_EQ(own->token, "slc_env_own");
    EXPECT_EQ(own->source, "SLUICE_ENV_TOKEN_PRODUCTION");

    auto old = presented_environment_token(
        "production", lookup({{"SLUICE_ENV_TOKEN_PRODUCTION", ""}, {"SLUICE_PROD_TOKEN", "slc_env_old"}}));
    ASSERT_TRUE(old.has_value());
    EXPECT_EQ(old->token, "slc_env_old");
    EXPECT_EQ(old->warning, "SLUICE_PROD_TOKEN is deprecated; set SLUICE_ENV_TOKEN_PRODUCTION instead");
    auto not_staging = presented_environment_token("staging", lookup({{"SLUICE_PROD_TOKEN", "slc_env_old"}}));
    ASSERT_TRUE(not_staging.has_value());
    EXPECT_EQ(not_staging->token, "");

    auto unreadable = presented_environment_token(
        "staging", lookup({{"SLUICE_ENV_TOKEN_FILE_STAGING", (dir.path() / "nope").string()}}));
    ASSERT_FALSE(unreadable.has_value());
    EXPECT_EQ(unreadable.error().code, util::ErrorCode::bad_input);
    EXPECT_NE(unreadable.error().message.find("cannot be read"), std::string::npos);
}

TEST(EnvironmentToken, OnlyTheEnvironmentsOwnTokenOpensIt) {
    AccessSnapshot snapshot;
    auto production = new_environment_token();
    auto staging = new_environment_token();
    snapshot.environments.push_back(ProtectedEnvironment{"production", *hash_secret(*production), 1});
    snapshot.environments.push_back(ProtectedEnvironment{"staging", *hash_secret(*staging), 1});

    EXPECT_TRUE(check_environment_write(snapshot, "dev", false, lookup({})).has_value());
    EXPECT_TRUE(check_environment_write(snapshot, "production", false,
                                        lookup({{"SLUICE_ENV_TOKEN_PRODUCTION", *production}}))
                    .has_value());

    auto none = check_environment_write(snapshot, "production", false, lookup({}));
    ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error().code, util::ErrorCode::bad_input);
    EXPECT_EQ(none.error().message,
              "environment production is protected: set SLUICE_ENV_TOKEN_PRODUCTION to its token "
              "(or SLUICE_ENV_TOKEN_FILE_PRODUCTION to a file holding it); nothing was changed");
    auto crossed = check_environment_write(snapshot, "production", false,
                                           lookup({{"SLUICE_ENV_TOKEN_PRODUCTION", *staging},
                                                   {"SLUICE_ENV_TOKEN_STAGING", *staging}}));
    ASSERT_FALSE(crossed.has_value());
    EXPECT_EQ(crossed.error().message,
              "environment production is protected: the token in SLUICE_ENV_TOKEN_PRODUCTION is "
              "not production's; set SLUICE_ENV_TOKEN_PRODUCTION to its token; nothing was changed");
    auto user = check_environment_write(
        snapshot, "production", false,
        lookup({{"SLUICE_ENV_TOKEN_PRODUCTION", *new_user_token("tok_a11ce0")}}));
    ASSERT_FALSE(user.has_value());
    EXPECT_NE(user.error().message.find("is a user's token (tok_a11ce0)"), std::string::npos);

    auto old = check_environment_write(snapshot, "production", false,
                                       lookup({{"SLUICE_PROD_TOKEN", *production}}));
    ASSERT_TRUE(old.has_value());
    EXPECT_EQ(*old, std::vector<std::string>{
                        "SLUICE_PROD_TOKEN is deprecated; set SLUICE_ENV_TOKEN_PRODUCTION instead"});
}

TEST(EnvironmentToken, DeclaredProtectedWithoutATokenYetRefusesEveryWrite) {
    AccessSnapshot snapshot;
    auto refused = check_environment_write(snapshot, "production", true,
                                           lookup({{"SLUICE_ENV_TOKEN_PRODUCTION", "slc_env_x"}}));
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().message,
              "environment production is protected but has no token yet (`sluice access protect "
              "production` makes one); nothing was changed");
}

}  // namespace
}  // namespace sluice::access
