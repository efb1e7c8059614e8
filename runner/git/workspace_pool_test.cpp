// WorkspacePool: leases exclude each other (threads and processes), free workspaces of the
// same repository are reused (the same branch first), records persist, prune follows
// its policy and never takes a leased workspace.
#include "runner/git/workspace_pool.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <barrier>
#include <set>
#include <thread>

#include "runner/git/checkout.hpp"
#include "runner/git/repo_fixture_test_support.hpp"
#include "runner/testing/fake_clock.hpp"

namespace sluice::git {
namespace {

using namespace std::chrono_literals;

class WorkspacePoolTest : public ::testing::Test {
protected:
    sluice::testing::TempDir tmp_;
    sluice::testing::FakeClock clock_;
    WorkspacePool pool_{tmp_ / "workspaces", clock_};
};

TEST_F(WorkspacePoolTest, ANewWorkspaceIsEmptyAndRecorded) {
    auto lease = pool_.acquire("repo-a", "main");
    ASSERT_TRUE(lease.has_value()) << lease.error().message;
    EXPECT_EQ(lease->id(), "w1");
    EXPECT_EQ(lease->dir(), tmp_ / "workspaces" / "w1" / "tree");
    EXPECT_TRUE(std::filesystem::is_directory(lease->dir()));
    EXPECT_TRUE(std::filesystem::is_empty(lease->dir()));
    EXPECT_EQ(lease->record().repo, "repo-a");
    EXPECT_EQ(lease->record().commit, "");
    auto records = pool_.list();
    ASSERT_TRUE(records.has_value());
    ASSERT_EQ(records->size(), 1u);
    EXPECT_EQ((*records)[0].repo, "repo-a");
    EXPECT_EQ((*records)[0].created_ms, clock_.epoch_ms());
}

TEST_F(WorkspacePoolTest, HeldWorkspacesAreNeverShared) {
    auto first = pool_.acquire("repo-a");
    auto second = pool_.acquire("repo-a");
    ASSERT_TRUE(first.has_value() && second.has_value());
    EXPECT_NE(first->dir(), second->dir());
    std::string first_id = first->id();
    first->release();
    auto third = pool_.acquire("repo-a");
    ASSERT_TRUE(third.has_value());
    EXPECT_EQ(third->id(), first_id);
}

TEST_F(WorkspacePoolTest, ConcurrentThreadsGetDifferentWorkspaces) {
    constexpr int k_threads = 6;
    std::vector<std::optional<WorkspaceLease>> leases(k_threads);
    std::vector<std::thread> threads;
    for (int i = 0; i < k_threads; ++i) {
        threads.emplace_back([&, i] {
            auto lease = pool_.acquire("repo-a");
            if (lease) leases[i].emplace(std::move(*lease));
        });
    }
    for (auto& t : threads) t.join();
    std::set<std::filesystem::path> dirs;
    for (auto& lease : leases) {
        ASSERT_TRUE(lease.has_value());
        dirs.insert(lease->dir());
    }
    EXPECT_EQ(dirs.size(), static_cast<std::size_t>(k_threads));
}

TEST_F(WorkspacePoolTest, AnotherProcessHoldingAWorkspaceExcludesItUntilItDies) {
    {
        auto lease = pool_.acquire("repo-a");
        ASSERT_TRUE(lease.has_value());
    }  // w1 exists and is free
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto lease = pool_.acquire("repo-a");
        char c = lease.has_value() && lease->id() == "w1" ? 'y' : 'n';
        if (::write(ready[1], &c, 1) != 1) ::_exit(2);
        ::pause();  // holds the lease until killed
        ::_exit(0);
    }
    char c = 0;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    EXPECT_EQ(c, 'y');
    auto other = pool_.acquire("repo-a");
    ASSERT_TRUE(other.has_value());
    EXPECT_EQ(other->id(), "w2");
    // SIGKILL: no destructor runs, the kernel drops the lock.
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    auto again = pool_.acquire("repo-a");
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->id(), "w1");
    ::close(ready[0]);
    ::close(ready[1]);
}

TEST_F(WorkspacePoolTest, PrefersTheSameRepositoryThenBranchThenTheMostRecent) {
    std::string main_id, feature_id, other_repo_id;
    {
        auto a = pool_.acquire("repo-a");
        auto b = pool_.acquire("repo-a");
        auto c = pool_.acquire("repo-b");
        ASSERT_TRUE(a && b && c);
        clock_.advance(1s);
        ASSERT_TRUE(a->record_checkout("1111", "main").has_value());
        clock_.advance(1s);
        ASSERT_TRUE(b->record_checkout("2222", "feature").has_value());
        main_id = a->id();
        feature_id = b->id();
        other_repo_id = c->id();
    }
    clock_.advance(1s);
    auto for_main = pool_.acquire("repo-a", "main");
    ASSERT_TRUE(for_main.has_value());
    EXPECT_EQ(for_main->id(), main_id);
    EXPECT_EQ(for_main->record().commit, "1111");
    for_main->release();
    // No workspace of branch `topic`: the most recently used of the repository.
    auto for_topic = pool_.acquire("repo-a", "topic");
    ASSERT_TRUE(for_topic.has_value());
    EXPECT_EQ(for_topic->id(), main_id);  // leased last, just now
    auto next = pool_.acquire("repo-a", "topic");
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(next->id(), feature_id);
    // All of repo-a's are held: a new one, never repo-b's.
    auto fresh = pool_.acquire("repo-a");
    ASSERT_TRUE(fresh.has_value());
    EXPECT_NE(fresh->id(), other_repo_id);
    EXPECT_EQ(fresh->record().commit, "");
}

TEST_F(WorkspacePoolTest, PruneKeepsTheNewestAndTheLeased) {
    // Six workspaces used one second apart (held together, so each is a new one); files
    // in them, as a run leaves.
    std::vector<WorkspaceLease> held;
    for (int i = 0; i < 6; ++i) {
        auto lease = pool_.acquire(i == 0 ? "repo-a" : "repo-b");
        ASSERT_TRUE(lease.has_value());
        held.push_back(std::move(*lease));
    }
    for (int i = 0; i < 6; ++i) {
        clock_.advance(1s);
        ASSERT_TRUE(held[i].record_checkout("sha" + std::to_string(i), "main").has_value());
        std::ofstream(held[i].dir() / "file") << i;
    }
    std::string busy_id = held[1].id();  // the second oldest stays leased
    std::set<std::string> newest{held[4].id(), held[5].id()};
    for (int i = 0; i < 6; ++i) {
        if (i != 1) held[i].release();
    }
    auto stats = pool_.prune(PrunePolicy{2, std::chrono::milliseconds(0)});
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_EQ(stats->kept, 2);
    EXPECT_EQ(stats->busy, 1);
    EXPECT_EQ(stats->removed, 3);
    auto records = pool_.list();
    ASSERT_TRUE(records.has_value());
    std::set<std::string> left;
    for (const auto& r : *records) left.insert(r.id);
    newest.insert(busy_id);
    EXPECT_EQ(left, newest);
    for (const auto& entry : std::filesystem::directory_iterator(pool_.root())) {
        EXPECT_FALSE(entry.path().filename().string().starts_with(".trash")) << entry.path();
    }
    // Released, the leased one goes too.
    held[1].release();
    auto again = pool_.prune(PrunePolicy{2, std::chrono::milliseconds(0)});
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->removed, 1);
    EXPECT_FALSE(std::filesystem::exists(pool_.root() / busy_id));
}

TEST_F(WorkspacePoolTest, PruneByAge) {
    std::vector<WorkspaceLease> held;
    for (int i = 0; i < 3; ++i) {
        auto lease = pool_.acquire("repo-a");
        ASSERT_TRUE(lease.has_value());
        held.push_back(std::move(*lease));
    }
    ASSERT_TRUE(held[0].record_checkout("old", "").has_value());
    clock_.advance(48h);
    ASSERT_TRUE(held[1].record_checkout("new", "").has_value());
    ASSERT_TRUE(held[2].record_checkout("new", "").has_value());
    std::string old_id = held[0].id();
    held.clear();
    auto stats = pool_.prune(PrunePolicy{10, std::chrono::hours(24)});
    ASSERT_TRUE(stats.has_value());
    EXPECT_EQ(stats->removed, 1);
    EXPECT_EQ(stats->kept, 2);
    EXPECT_FALSE(std::filesystem::exists(pool_.root() / old_id));
    // An empty pool (or none at all) prunes nothing.
    WorkspacePool none(tmp_ / "nothing", clock_);
    auto nothing = none.prune(PrunePolicy{});
    ASSERT_TRUE(nothing.has_value());
    EXPECT_EQ(nothing->removed, 0);
}

// Two runs at once, as two `sluice run` would: each leases a workspace and checks its
// commit out into it at the same time.
TEST(WorkspacePoolRuns, TwoConcurrentRunsCheckOutIntoTheirOwnWorkspaces) {
    sluice::testing::TempDir tmp;
    test_support::FixtureRepo repo(tmp / "repo");
    for (int i = 0; i < 200; ++i) repo.write("d/f" + std::to_string(i), "one " + std::to_string(i));
    std::string first = repo.commit("first");
    for (int i = 0; i < 200; i += 2) repo.write("d/f" + std::to_string(i), "two");
    std::string second = repo.commit("second");
    auto key = repository_key(repo.dir());
    ASSERT_TRUE(key.has_value());
    util::SystemClock clock;
    WorkspacePool pool(tmp / "state" / "workspaces", clock);
    for (int round = 0; round < 3; ++round) {
        std::vector<std::string> shas{first, second};
        std::vector<std::string> errors(2), dirs(2);
        std::vector<std::thread> runs;
        // Both hold their leases before either checks out: a move takes a few
        // milliseconds, and one run could otherwise end before the other begins.
        std::barrier both_leased(2);
        for (int r = 0; r < 2; ++r) {
            runs.emplace_back([&, r] {
                auto lease = pool.acquire(*key, "main");
                both_leased.arrive_and_wait();
                if (!lease) {
                    errors[r] = lease.error().message;
                    return;
                }
                CheckoutOptions options;
                options.owned_directory = true;
                auto stats = checkout(repo.dir(), shas[r], lease->dir(), options);
                if (!stats) errors[r] = stats.error().message;
                dirs[r] = lease->dir().string();
                if (stats && !lease->record_checkout(shas[r], "main")) errors[r] = "record";
                // Each checks its files before its lease ends.
                std::string expect = r == 0 ? "one 0" : "two";
                if (test_support::read(lease->dir() / "d/f0") != expect) errors[r] = "wrong files";
            });
        }
        for (auto& t : runs) t.join();
        EXPECT_EQ(errors[0], "");
        EXPECT_EQ(errors[1], "");
        EXPECT_NE(dirs[0], dirs[1]);
    }
    // Two workspaces served all six runs.
    auto records = pool.list();
    ASSERT_TRUE(records.has_value());
    EXPECT_EQ(records->size(), 2u);
}

TEST(RepositoryKey, SameForSubdirectoriesAndLinkedWorktrees) {
    sluice::testing::TempDir tmp;
    test_support::FixtureRepo repo(tmp / "repo");
    repo.write("sub/file", "x");
    repo.commit("c");
    test_support::git(repo.dir(), {"worktree", "add", "-q", (tmp / "linked").string()});
    auto a = repository_key(repo.dir());
    auto b = repository_key(repo.dir() / "sub");
    auto c = repository_key(tmp / "linked");
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(*a, *b);
    EXPECT_EQ(*a, *c);
    EXPECT_EQ(*a, std::filesystem::canonical(repo.dir() / ".git").string());
}

}  // namespace
}  // namespace sluice::git
