// AccessStore: users, groups, tokens, revocation and protected environments in a real
// access.json; locking between threads and processes; files it must never overwrite.
#include "runner/access/access_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "runner/access/authenticate.hpp"
#include "runner/access/environment_token.hpp"
#include "runner/access/token_format.hpp"
#include "runner/testing/fake_clock.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice::access {
namespace {

class AccessStoreTest : public ::testing::Test {
  protected:
    AccessStore open() {
        auto store = AccessStore::open(path(), clock_);
        EXPECT_TRUE(store.has_value()) << store.error().to_string();
        return std::move(*store);
    }
    std::filesystem::path path() const { return AccessStore::file_in(dir_.path()); }
    AccessSnapshot snapshot() {
        auto s = open().read();
        EXPECT_TRUE(s.has_value());
        return s.value_or(AccessSnapshot{});
    }

    testing::TempDir dir_;
    testing::FakeClock clock_;
};

TEST_F(AccessStoreTest, AMissingFileIsEmptyAndNotCreatedByReading) {
    auto s = snapshot();
    EXPECT_TRUE(s.users.empty());
    EXPECT_TRUE(s.tokens.empty());
    EXPECT_FALSE(std::filesystem::exists(path()));
}

TEST_F(AccessStoreTest, AddsUsersWithGroupsInAPrivateFile) {
    auto store = open();
    auto alice = store.add_user(
        {"alice", {"release-managers", "ml", "ml"}, "alice@example.com", "Alice", {}});
    ASSERT_TRUE(alice.has_value()) << alice.error().message;
    EXPECT_EQ(alice->groups, (std::vector<std::string>{"ml", "release-managers"}));
    EXPECT_EQ(alice->created_ms, clock_.epoch_ms());

    auto s = snapshot();
    ASSERT_EQ(s.users.size(), 1u);
    EXPECT_EQ(s.users[0].email, "alice@example.com");
    EXPECT_EQ(s.groups()["release-managers"], std::vector<std::string>{"alice"});

    struct stat st {};
    ASSERT_EQ(::stat(path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(AccessStoreTest, RefusesDuplicatesBadNamesAndUserGroupClashes) {
    auto store = open();
    ASSERT_TRUE(store.add_user({"alice", {"release-managers"}, "", "", {}}));
    auto twice = store.add_user({"alice", {}, "", "", {}});
    ASSERT_FALSE(twice.has_value());
    EXPECT_EQ(twice.error().code, util::ErrorCode::bad_input);
    EXPECT_EQ(twice.error().message, "user `alice` already exists");

    auto bad = store.add_user({"al/ice", {}, "", "", {}});
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code, util::ErrorCode::bad_input);
    auto bad_group = store.add_user({"bob", {"ops team"}, "", "", {}});
    ASSERT_FALSE(bad_group.has_value());
    EXPECT_NE(bad_group.error().message.find("group name `ops team`"), std::string::npos);
    auto bad_email = store.add_user({"bob", {}, "bob", "", {}});
    ASSERT_FALSE(bad_email.has_value());

    auto named_like_group = store.add_user({"release-managers", {}, "", "", {}});
    ASSERT_FALSE(named_like_group.has_value());
    EXPECT_NE(named_like_group.error().message.find("is a group"), std::string::npos);
    auto group_like_user = store.add_user({"bob", {"alice"}, "", "", {}});
    ASSERT_FALSE(group_like_user.has_value());
    EXPECT_NE(group_like_user.error().message.find("is a user's name"), std::string::npos);

    EXPECT_EQ(snapshot().users.size(), 1u);  // no failed call changed the file
}

TEST_F(AccessStoreTest, GroupsCanBeAddedAndRemoved) {
    auto store = open();
    ASSERT_TRUE(store.add_user({"bob", {}, "", "", {}}));
    auto added = store.add_to_groups("bob", {"release-managers", "ml"});
    ASSERT_TRUE(added.has_value());
    EXPECT_EQ(added->groups, (std::vector<std::string>{"ml", "release-managers"}));
    auto removed = store.remove_from_groups("bob", {"ml"});
    ASSERT_TRUE(removed.has_value());
    EXPECT_EQ(removed->groups, std::vector<std::string>{"release-managers"});
    EXPECT_EQ(store.remove_from_groups("bob", {"ml"}).error().code, util::ErrorCode::not_found);
    EXPECT_EQ(store.add_to_groups("nobody", {"ml"}).error().code, util::ErrorCode::not_found);
    EXPECT_EQ(snapshot().users[0].groups, std::vector<std::string>{"release-managers"});
}

TEST_F(AccessStoreTest, TokensAreStoredOnlyAsSaltedHashes) {
    auto store = open();
    ASSERT_TRUE(store.add_user({"alice", {}, "", "", {}}));
    auto token = store.add_token("alice", "laptop");
    ASSERT_TRUE(token.has_value()) << token.error().message;
    EXPECT_EQ(token->user, "alice");
    EXPECT_EQ(token_id_of(token->secret), token->id);

    std::string text = testing::read_file(path());
    EXPECT_EQ(text.find(token->secret), std::string::npos);
    std::string secret_part = token->secret.substr(token->secret.rfind('_') + 1);
    EXPECT_EQ(text.find(secret_part), std::string::npos);
    EXPECT_EQ(text.find(secret_part.substr(0, 16)), std::string::npos);
    EXPECT_NE(text.find(token->id), std::string::npos);

    auto s = snapshot();
    ASSERT_EQ(s.tokens.size(), 1u);
    EXPECT_EQ(s.tokens[0].label, "laptop");
    EXPECT_EQ(s.tokens[0].hash.iterations, k_default_iterations);
    EXPECT_TRUE(authenticate(s, token->secret).has_value());
}

TEST_F(AccessStoreTest, TokensOnlyForExistingEnabledUsers) {
    auto store = open();
    auto unknown = store.add_token("nobody", "");
    ASSERT_FALSE(unknown.has_value());
    EXPECT_EQ(unknown.error().code, util::ErrorCode::not_found);
    EXPECT_NE(unknown.error().message.find("there is no user `nobody`"), std::string::npos);

    ASSERT_TRUE(store.add_user({"bob", {}, "", "", {}}));
    ASSERT_TRUE(store.revoke("bob"));
    auto disabled = store.add_token("bob", "");
    ASSERT_FALSE(disabled.has_value());
    EXPECT_EQ(disabled.error().code, util::ErrorCode::conflict);
}

TEST_F(AccessStoreTest, RevokingATokenIdRevokesThatTokenOnly) {
    auto store = open();
    ASSERT_TRUE(store.add_user({"alice", {}, "", "", {}}));
    auto laptop = store.add_token("alice", "laptop");
    auto ci = store.add_token("alice", "ci");
    ASSERT_TRUE(laptop && ci);
    clock_.advance(std::chrono::seconds(5));
    auto outcome = store.revoke(laptop->id);
    ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
    EXPECT_EQ(outcome->user, "alice");
    EXPECT_EQ(outcome->revoked_tokens, std::vector<std::string>{laptop->id});
    EXPECT_FALSE(outcome->disabled_user);

    auto s = snapshot();
    EXPECT_EQ(s.find_token(laptop->id)->revoked_ms, clock_.epoch_ms());
    EXPECT_FALSE(s.find_token(ci->id)->revoked());
    EXPECT_EQ(authenticate(s, laptop->secret).error().reason, DenialReason::revoked_token);
    EXPECT_TRUE(authenticate(s, ci->secret).has_value());

    auto again = store.revoke(laptop->id);
    ASSERT_TRUE(again.has_value());
    EXPECT_FALSE(again->changed());
}

TEST_F(AccessStoreTest, RevokingAUserDisablesThemAndRevokesAllTheirTokens) {
    auto store = open();
    ASSERT_TRUE(store.add_user({"alice", {}, "", "", {}}));
    ASSERT_TRUE(store.add_user({"bob", {}, "", "", {}}));
    auto a1 = store.add_token("alice", "");
    auto a2 = store.add_token("alice", "");
    auto b1 = store.add_token("bob", "");
    ASSERT_TRUE(a1 && a2 && b1);
    auto outcome = store.revoke("alice");
    ASSERT_TRUE(outcome.has_value());
    EXPECT_TRUE(outcome->disabled_user);
    EXPECT_EQ(outcome->revoked_tokens.size(), 2u);

    auto s = snapshot();
    EXPECT_TRUE(s.find_user("alice")->disabled);
    EXPECT_FALSE(s.find_user("bob")->disabled);
    EXPECT_FALSE(authenticate(s, a1->secret).has_value());
    EXPECT_FALSE(authenticate(s, a2->secret).has_value());
    EXPECT_TRUE(authenticate(s, b1->secret).has_value());
    EXPECT_FALSE(store.revoke("alice")->changed());
}

TEST_F(AccessStoreTest, RevokingSomethingUnknownIsNotFound) {
    auto store = open();
    auto user = store.revoke("nobody");
    ASSERT_FALSE(user.has_value());
    EXPECT_EQ(user.error().code, util::ErrorCode::not_found);
    EXPECT_EQ(user.error().message,
              "there is no user or token `nobody` (`sluice access list` shows them)");
    auto token = store.revoke("tok_000000");
    ASSERT_FALSE(token.has_value());
    EXPECT_EQ(token.error().message, "there is no token tok_000000");
}

// Whether `token` in SLUICE_ENV_TOKEN_PRODUCTION opens production.
bool opens(const AccessSnapshot& snapshot, const std::string& token) {
    auto variables = [token](const std::string& name) -> std::optional<std::string> {
        if (name == "SLUICE_ENV_TOKEN_PRODUCTION") return token;
        return std::nullopt;
    };
    return check_environment_write(snapshot, "production", false, variables).has_value();
}

TEST_F(AccessStoreTest, ProtectingAnEnvironmentAgainReplacesItsToken) {
    auto store = open();
    auto first = store.protect_environment("production");
    ASSERT_TRUE(first.has_value()) << first.error().message;
    EXPECT_FALSE(first->replaced);
    EXPECT_TRUE(opens(snapshot(), first->secret));
    EXPECT_EQ(testing::read_file(path()).find(first->secret.substr(8)), std::string::npos);

    auto second = store.protect_environment("production");
    ASSERT_TRUE(second.has_value());
    EXPECT_TRUE(second->replaced);
    auto s = snapshot();
    EXPECT_EQ(s.environments.size(), 1u);
    EXPECT_FALSE(opens(s, first->secret));
    EXPECT_TRUE(opens(s, second->secret));

    EXPECT_EQ(store.protect_environment("prod env").error().code, util::ErrorCode::bad_input);
}

TEST_F(AccessStoreTest, ACorruptedFileIsAClearErrorAndNeverOverwritten) {
    auto store = open();
    ASSERT_TRUE(store.add_user({"alice", {}, "", "", {}}));
    std::string garbage = testing::read_file(path()).substr(0, 40);  // a torn copy
    dir_.write("access.json", garbage);

    auto reopened = AccessStore::open(path(), clock_);
    ASSERT_FALSE(reopened.has_value());
    EXPECT_EQ(reopened.error().code, util::ErrorCode::io);
    EXPECT_EQ(reopened.error().where.file, path().string());
    EXPECT_NE(reopened.error().message.find("not valid JSON"), std::string::npos);

    // A store opened before the damage reads again before every change.
    auto added = store.add_user({"bob", {}, "", "", {}});
    ASSERT_FALSE(added.has_value());
    EXPECT_EQ(added.error().code, util::ErrorCode::io);
    EXPECT_FALSE(store.add_token("alice", "").has_value());
    EXPECT_FALSE(store.revoke("alice").has_value());
    EXPECT_FALSE(store.protect_environment("production").has_value());
    EXPECT_EQ(testing::read_file(path()), garbage);
}

TEST_F(AccessStoreTest, ANewerFileIsRefusedAndLeftAsItIs) {
    std::string newer = R"({"version": 2, "users": [], "principals": {"alice": {}}})";
    dir_.write("access.json", newer);
    auto store = AccessStore::open(path(), clock_);
    ASSERT_FALSE(store.has_value());
    EXPECT_NE(store.error().message.find("newer sluice"), std::string::npos);
    EXPECT_EQ(testing::read_file(path()), newer);
}

TEST_F(AccessStoreTest, ConcurrentThreadsLoseNoUser) {
    constexpr int k_threads = 4;
    constexpr int k_each = 8;
    std::vector<std::thread> threads;
    std::atomic<int> failures = 0;
    for (int t = 0; t < k_threads; ++t) {
        threads.emplace_back([&, t] {
            auto store = AccessStore::open(path(), clock_);
            if (!store) {
                ++failures;
                return;
            }
            for (int i = 0; i < k_each; ++i) {
                std::string name = "t" + std::to_string(t) + "-u" + std::to_string(i);
                if (!store->add_user({name, {"g" + std::to_string(t)}, "", "", {}})) ++failures;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(failures, 0);
    auto s = snapshot();
    EXPECT_EQ(s.users.size(), static_cast<std::size_t>(k_threads * k_each));
    EXPECT_EQ(s.groups()["g0"].size(), static_cast<std::size_t>(k_each));
}

TEST_F(AccessStoreTest, ConcurrentProcessesLoseNoChange) {
    constexpr int k_processes = 4;
    constexpr int k_each = 6;
    ASSERT_TRUE(open().add_user({"owner", {}, "", "", {}}));
    std::vector<pid_t> children;
    for (int p = 0; p < k_processes; ++p) {
        pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            util::SystemClock clock;
            auto store = AccessStore::open(path(), clock);
            bool ok = store.has_value();
            for (int i = 0; ok && i < k_each; ++i) {
                ok = store
                         ->add_user(
                             {"p" + std::to_string(p) + "-u" + std::to_string(i), {}, "", "", {}})
                         .has_value();
                ok = ok && store->add_token("owner", "p" + std::to_string(p)).has_value();
            }
            ::_exit(ok ? 0 : 1);
        }
        children.push_back(pid);
    }
    for (pid_t pid : children) {
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    auto s = snapshot();
    EXPECT_EQ(s.users.size(), static_cast<std::size_t>(1 + k_processes * k_each));
    EXPECT_EQ(s.tokens.size(), static_cast<std::size_t>(k_processes * k_each));
}

}  // namespace
}  // namespace sluice::access
