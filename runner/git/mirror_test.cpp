// Mirrors of remote repositories: a local path, a file:// URL and http:// (git's own
// http-backend behind a loopback CGI server), fetched again after the remote moves,
// pruned refs, concurrent callers, and checkouts from a mirror.
#include "runner/git/mirror.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "runner/git/checkout.hpp"
#include "runner/git/repo_fixture_test_support.hpp"
#include "runner/git/revision.hpp"

namespace sluice::git {
namespace {

using test_support::FixtureRepo;
using test_support::git;

class MirrorTest : public ::testing::Test {
protected:
    void SetUp() override {
        git(tmp_.path(), {"init", "-q", "--bare", "-b", "main", origin_.string()});
        work_.write("a.txt", "one\n");
        first_ = work_.commit("first");
        git(work_.dir(), {"remote", "add", "origin", origin_.string()});
        git(work_.dir(), {"tag", "-a", "v1", "-m", "v1"});
        git(work_.dir(), {"branch", "feature"});
        git(work_.dir(), {"push", "-q", "origin", "main", "feature", "v1"});
    }

    std::string refs(const std::filesystem::path& repo) {
        return git(repo, {"for-each-ref", "--format=%(refname) %(objectname)"});
    }

    sluice::testing::TempDir tmp_;
    std::filesystem::path origin_ = tmp_ / "origin.git";
    FixtureRepo work_{tmp_ / "work"};
    std::filesystem::path state_ = tmp_ / "state";
    std::string first_;
};

TEST_F(MirrorTest, LocalPathMirrorsEveryRefAndFollowsTheRemote) {
    auto dir = mirror(state_, origin_.string());
    ASSERT_TRUE(dir.has_value()) << dir.error().message;
    EXPECT_EQ(*dir, mirror_dir(state_, origin_.string()));
    EXPECT_EQ(dir->parent_path(), state_ / "mirrors");
    EXPECT_EQ(dir->filename().string().size(), 64u);
    EXPECT_EQ(git(*dir, {"rev-parse", "--is-bare-repository"}), "true");
    EXPECT_EQ(refs(*dir), refs(origin_));
    EXPECT_EQ(git(*dir, {"symbolic-ref", "HEAD"}), "refs/heads/main");

    // The remote moves on: a new commit, a deleted branch.
    work_.write("a.txt", "two\n");
    std::string second = work_.commit("second");
    git(work_.dir(), {"push", "-q", "origin", "main", ":feature"});
    auto again = mirror(state_, origin_.string());
    ASSERT_TRUE(again.has_value()) << again.error().message;
    EXPECT_EQ(*again, *dir);
    EXPECT_EQ(refs(*dir), refs(origin_));
    EXPECT_EQ(refs(*dir).find("refs/heads/feature"), std::string::npos);

    // Revisions resolve in the mirror, and check out from it.
    auto main = resolve_revision(*dir, "main");
    ASSERT_TRUE(main.has_value()) << main.error().message;
    EXPECT_EQ(main->sha, second);
    EXPECT_EQ(main->branch, "main");
    auto tag = resolve_revision(*dir, "v1");
    ASSERT_TRUE(tag.has_value());
    EXPECT_EQ(tag->sha, first_);
    auto ws = tmp_ / "ws";
    auto stats = checkout(*dir, second, ws);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_EQ(test_support::read(ws / "a.txt"), "two\n");
    EXPECT_EQ(git(ws, {"status", "--porcelain"}), "");
}

TEST_F(MirrorTest, SpellingsOfOneLocalPathShareAMirror) {
    auto a = mirror_dir(state_, origin_.string());
    auto b = mirror_dir(state_, origin_.string() + "/");
    auto c = mirror_dir(state_, (tmp_ / "work" / ".." / "origin.git").string());
    EXPECT_EQ(a, b);
    EXPECT_EQ(a, c);
    EXPECT_EQ(normalize_remote_url("https://example.com/x.git/"), "https://example.com/x.git");
    EXPECT_EQ(normalize_remote_url("git@example.com:x.git"), "git@example.com:x.git");
}

TEST_F(MirrorTest, FileUrl) {
    std::string url = "file://" + origin_.string();
    auto dir = mirror(state_, url);
    ASSERT_TRUE(dir.has_value()) << dir.error().message;
    EXPECT_EQ(refs(*dir), refs(origin_));
    work_.write("b.txt", "b\n");
    std::string second = work_.commit("second");
    git(work_.dir(), {"push", "-q", "origin", "main"});
    ASSERT_TRUE(mirror(state_, url).has_value());
    EXPECT_EQ(git(*dir, {"rev-parse", "main"}), second);
}

TEST_F(MirrorTest, ConcurrentCallersAllSucceed) {
    constexpr int k_threads = 4;
    std::vector<util::Result<std::filesystem::path>> results(k_threads);
    std::vector<std::thread> threads;
    for (int i = 0; i < k_threads; ++i) {
        threads.emplace_back([&, i] { results[i] = mirror(state_, origin_.string()); });
    }
    for (auto& t : threads) t.join();
    for (const auto& r : results) {
        ASSERT_TRUE(r.has_value()) << r.error().message;
        EXPECT_EQ(*r, results[0].value());
    }
    EXPECT_EQ(refs(results[0].value()), refs(origin_));
}

TEST_F(MirrorTest, AMissingRemoteIsAnError) {
    auto dir = mirror(state_, (tmp_ / "no-such-repo").string());
    ASSERT_FALSE(dir.has_value());
    EXPECT_EQ(dir.error().code, util::ErrorCode::io);
    EXPECT_NE(dir.error().message.find("cannot fetch"), std::string::npos) << dir.error().message;
}

TEST_F(MirrorTest, AHalfMadeMirrorIsMadeAgain) {
    auto dir = mirror_dir(state_, origin_.string());
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "junk") << "left by a process that died";
    auto made = mirror(state_, origin_.string());
    ASSERT_TRUE(made.has_value()) << made.error().message;
    EXPECT_EQ(refs(*made), refs(origin_));
}

// Smart HTTP: git http-backend as a CGI program behind Python's http.server on loopback.
TEST_F(MirrorTest, Http) {
    const std::string python =
        std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    if (sluice::testing::run_command({python, "-c", "import http.server"}).exit_code != 0 ||
        !std::filesystem::exists("/usr/lib/git-core/git-http-backend")) {
        GTEST_SKIP() << "needs python3 and git-http-backend (/usr/lib/git-core)";
    }
    auto www = tmp_ / "www";
    std::filesystem::create_directories(www / "cgi-bin");
    auto script = www / "cgi-bin" / "git";
    std::ofstream(script) << "#!/bin/sh\nGIT_PROJECT_ROOT='" << tmp_.path().string()
                          << "' GIT_HTTP_EXPORT_ALL=1 exec /usr/lib/git-core/git-http-backend\n";
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    auto port_file = tmp_ / "port";
    std::ofstream(tmp_ / "server.py")
        << "import http.server, os, sys\n"
           "# As root, CGIHTTPRequestHandler would run the script as nobody, who cannot read\n"
           "# the test's private temporary directory.\n"
           "http.server.nobody_uid = os.getuid\n"
           "class H(http.server.CGIHTTPRequestHandler):\n"
           "    cgi_directories = ['/cgi-bin']\n"
           "    def log_message(self, *a): pass\n"
           "s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
           "open(sys.argv[1] + '.tmp', 'w').write(str(s.server_address[1]))\n"
           "os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
           "s.serve_forever()\n";
    sluice::testing::Background server({python, (tmp_ / "server.py").string(), port_file.string()},
                                       {www, {}});
    for (int i = 0; i < 100 && !std::filesystem::exists(port_file); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(std::filesystem::exists(port_file)) << "the HTTP server did not start";
    std::string url =
        "http://127.0.0.1:" + test_support::read(port_file) + "/cgi-bin/git/origin.git";
    auto dir = mirror(state_, url);
    ASSERT_TRUE(dir.has_value()) << dir.error().message;
    EXPECT_EQ(refs(*dir), refs(origin_));
    EXPECT_EQ(git(*dir, {"symbolic-ref", "HEAD"}), "refs/heads/main");
    work_.write("c.txt", "c\n");
    std::string second = work_.commit("over http");
    git(work_.dir(), {"push", "-q", "origin", "main"});
    ASSERT_TRUE(mirror(state_, url).has_value());
    EXPECT_EQ(git(*dir, {"rev-parse", "main"}), second);
    auto missing = mirror(
        state_, "http://127.0.0.1:" + test_support::read(port_file) + "/cgi-bin/git/nothing.git");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, util::ErrorCode::io);
}

}  // namespace
}  // namespace sluice::git
