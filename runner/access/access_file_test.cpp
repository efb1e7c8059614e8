// access.json's text: round trip, versions, and clear errors for files it cannot use.
#include "runner/access/access_file.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sluice::access {
namespace {

const std::filesystem::path k_path = "/state/access.json";

AccessSnapshot sample() {
    AccessSnapshot s;
    s.users.push_back(User{"alice",
                           "alice@example.com",
                           "Alice A.",
                           {"ml", "release-managers"},
                           1000,
                           false,
                           std::nullopt,
                           {"alee"}});
    s.users.push_back(User{"bob", "", "", {}, 2000, true, 3000, {}});
    SecretHash hash{"pbkdf2-sha256", 5000, std::string(32, 'a'), std::string(64, 'b')};
    s.tokens.push_back(TokenRecord{"tok_3f9a2c", "alice", "laptop", hash, 1500, std::nullopt});
    s.tokens.push_back(TokenRecord{"tok_000001", "bob", "", hash, 2500, 3000});
    s.environments.push_back(ProtectedEnvironment{"production", hash, 4000});
    return s;
}

// The text of a valid file with `edit` applied to its JSON.
std::string edited(const std::function<void(nlohmann::json&)>& edit) {
    auto json = nlohmann::json::parse(format_access_file(sample()));
    edit(json);
    return json.dump(2);
}

TEST(AccessFile, RoundTripKeepsEverything) {
    auto text = format_access_file(sample());
    auto back = parse_access_file(text, k_path);
    ASSERT_TRUE(back.has_value()) << back.error().to_string();
    EXPECT_EQ(format_access_file(*back), text);
    ASSERT_EQ(back->users.size(), 2u);
    EXPECT_EQ(back->users[0].groups, (std::vector<std::string>{"ml", "release-managers"}));
    EXPECT_EQ(back->users[0].accounts, std::vector<std::string>{"alee"});
    EXPECT_TRUE(back->users[1].accounts.empty());
    EXPECT_TRUE(back->users[1].disabled);
    EXPECT_EQ(back->users[1].disabled_ms, 3000);
    EXPECT_FALSE(back->tokens[0].revoked());
    EXPECT_EQ(back->tokens[1].revoked_ms, 3000);
    EXPECT_EQ(back->tokens[0].hash.iterations, 5000);
    EXPECT_EQ(back->environments[0].name, "production");
    EXPECT_NE(text.find("\"version\": 1"), std::string::npos);
}

TEST(AccessFile, AnEmptyVersionOneFileIsEmpty) {
    auto empty = parse_access_file(R"({"version": 1})", k_path);
    ASSERT_TRUE(empty.has_value());
    EXPECT_TRUE(empty->users.empty());
}

TEST(AccessFile, ANewerVersionIsRefused) {
    auto newer = parse_access_file(edited([](auto& j) { j["version"] = 2; }), k_path);
    ASSERT_FALSE(newer.has_value());
    EXPECT_EQ(newer.error().code, util::ErrorCode::io);
    EXPECT_EQ(newer.error().message,
              "/state/access.json has access file version 2, written by a newer sluice; this one "
              "reads up to version 1: upgrade sluice to use it (the file is left as it is)");
}

TEST(AccessFile, SyntaxErrorsSayWhere) {
    auto broken = parse_access_file("{\n  \"version\": 1,\n  \"users\": [,]\n}\n", k_path);
    ASSERT_FALSE(broken.has_value());
    EXPECT_EQ(broken.error().where.file, "/state/access.json");
    EXPECT_EQ(broken.error().where.line, 3);
    EXPECT_GT(broken.error().where.column, 0);
    EXPECT_NE(broken.error().message.find("not valid JSON"), std::string::npos);
    EXPECT_NE(broken.error().message.find("leaves the file as it is"), std::string::npos);

    auto truncated = parse_access_file("{\"version\": 1, \"users\": [", k_path);
    ASSERT_FALSE(truncated.has_value());
    auto empty = parse_access_file("", k_path);
    ASSERT_FALSE(empty.has_value());
}

TEST(AccessFile, MistakesNameTheField) {
    auto wrong_type = parse_access_file(
        edited([](auto& j) { j["users"][0]["groups"] = "release-managers"; }), k_path);
    ASSERT_FALSE(wrong_type.has_value());
    EXPECT_EQ(wrong_type.error().message,
              "/state/access.json: users[0]: `groups` must be a list of strings (sluice leaves "
              "the file as it is until it is fixed)");

    auto missing = parse_access_file(edited([](auto& j) { j["tokens"][1].erase("hash"); }), k_path);
    ASSERT_FALSE(missing.has_value());
    EXPECT_NE(missing.error().message.find("tokens[1]: `hash` is missing"), std::string::npos);

    auto no_version = parse_access_file(edited([](auto& j) { j.erase("version"); }), k_path);
    ASSERT_FALSE(no_version.has_value());
    EXPECT_NE(no_version.error().message.find("`version` is missing"), std::string::npos);

    auto not_object = parse_access_file("[1, 2]", k_path);
    ASSERT_FALSE(not_object.has_value());
}

TEST(AccessFile, DuplicatesBadNamesAndUnknownHashesAreErrors) {
    auto twice =
        parse_access_file(edited([](auto& j) { j["users"][1]["name"] = "alice"; }), k_path);
    ASSERT_FALSE(twice.has_value());
    EXPECT_NE(twice.error().message.find("user `alice` is listed twice"), std::string::npos);

    auto same_id =
        parse_access_file(edited([](auto& j) { j["tokens"][1]["id"] = "tok_3f9a2c"; }), k_path);
    ASSERT_FALSE(same_id.has_value());
    EXPECT_NE(same_id.error().message.find("listed twice"), std::string::npos);

    auto bad_name =
        parse_access_file(edited([](auto& j) { j["users"][0]["name"] = "al ice"; }), k_path);
    ASSERT_FALSE(bad_name.has_value());
    EXPECT_NE(bad_name.error().message.find("users[0]: user name `al ice`"), std::string::npos);

    auto kdf = parse_access_file(edited([](auto& j) { j["environments"][0]["kdf"] = "argon2id"; }),
                                 k_path);
    ASSERT_FALSE(kdf.has_value());
    EXPECT_NE(kdf.error().message.find("key derivation `argon2id` is unknown"), std::string::npos);

    auto slow = parse_access_file(
        edited([](auto& j) { j["tokens"][0]["iterations"] = 2'000'000'000; }), k_path);
    ASSERT_FALSE(slow.has_value());
    EXPECT_NE(slow.error().message.find("`iterations` must be between"), std::string::npos);
}

TEST(AccessFile, UnknownFieldsOfTheSameVersionAreIgnored) {
    auto extra = parse_access_file(edited([](auto& j) {
                                       j["users"][0]["shoe_size"] = 42;
                                       j["comment"] = "hand edited";
                                   }),
                                   k_path);
    ASSERT_TRUE(extra.has_value()) << extra.error().message;
    EXPECT_EQ(extra->users.size(), 2u);
}

}  // namespace
}  // namespace sluice::access
