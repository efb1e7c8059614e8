// Installing and uninstalling sluice's hooks: chaining an existing hook and putting it
// back byte for byte with its mode, idempotence, conflicts, core.hooksPath, linked
// worktrees, and scripts that sh accepts.
#include "runner/hooks/install.hpp"

#include <gtest/gtest.h>

#include "runner/hooks/hooks_test_support.hpp"
#include "runner/hooks/scripts.hpp"

namespace sluice::hooks {
namespace {

using test::Git;
using testing::read_file;

// A hook someone wrote before sluice: odd bytes (no final newline, a CR, a tab, UTF-8)
// so "the same" means byte for byte.
constexpr std::string_view k_custom_hook =
    "#!/bin/sh\n# my team's hook\r\necho \"custom $1\"\t>&2\nprintf 'caf\xc3\xa9'\nexit 0";

class InstallTest : public ::testing::Test {
  protected:
    void SetUp() override {
        test::clean_process_env();
        git_.ok(tmp_.path(), {"init", "-q", "-b", "main", "repo"});
        git_.ok(repo(), {"commit", "-q", "--allow-empty", "-m", "first"});
    }
    fs::path repo() const { return tmp_ / "repo"; }
    fs::path hooks() const { return repo() / ".git" / "hooks"; }

    InstallOptions options(bool post = false, bool async = false) const {
        return {
            .sluice_path = fake_.path(), .post_commit = post, .post_merge = post, .async = async};
    }

    // Writes a custom hook with this mode, and a reference copy outside the repository.
    fs::path custom_hook(const std::string& name, fs::perms mode) {
        auto path = tmp_.write(".git-hooks-ref/" + name, std::string(k_custom_hook));
        fs::permissions(path, mode);
        fs::create_directories(hooks());
        fs::copy_file(path, hooks() / name);
        fs::permissions(hooks() / name, mode);
        return path;
    }

    testing::TempDir tmp_;
    Git git_{tmp_ / "home"};
    test::FakeSluice fake_{tmp_.path()};
};

TEST_F(InstallTest, FreshRepositoryGetsAPrePushHook) {
    auto report = install(repo(), options());
    ASSERT_TRUE(report.has_value()) << report.error().message;
    EXPECT_EQ(report->dir.path, hooks());
    ASSERT_EQ(report->hooks.size(), 1u);
    EXPECT_EQ(report->hooks[0].name, "pre-push");
    EXPECT_EQ(report->hooks[0].action, HookAction::created);
    EXPECT_FALSE(report->hooks[0].chains);
    auto text = read_file(hooks() / "pre-push");
    EXPECT_TRUE(is_sluice_hook(text));
    EXPECT_NE(text.find("SLUICE='" + fake_.path().string() + "'"), std::string::npos);
    EXPECT_EQ(test::mode_of(hooks() / "pre-push"), 0755u);
    EXPECT_FALSE(fs::exists(hooks() / "post-commit"));
    EXPECT_EQ(describe(*report),
              std::vector<std::string>{"pre-push: installed " + (hooks() / "pre-push").string()});
}

TEST_F(InstallTest, PostHooksWhenAsked) {
    auto report = install(repo(), options(true));
    ASSERT_TRUE(report.has_value());
    ASSERT_EQ(report->hooks.size(), 3u);
    EXPECT_EQ(report->hooks[1].name, "post-commit");
    EXPECT_EQ(report->hooks[2].name, "post-merge");
    EXPECT_TRUE(is_sluice_hook(read_file(hooks() / "post-commit")));
    EXPECT_TRUE(is_sluice_hook(read_file(hooks() / "post-merge")));
    EXPECT_EQ(test::mode_of(hooks() / "post-merge"), 0755u);
}

TEST_F(InstallTest, ScriptsAreValidPosixSh) {
    const std::string quoted_path = "/opt/it's here/sluice";
    tmp_.write("scripts/pre-push", pre_push_script(quoted_path));
    tmp_.write("scripts/post-commit", post_script(k_post_commit, quoted_path, false));
    tmp_.write("scripts/post-merge", post_script(k_post_merge, quoted_path, true));
    for (const char* name : {"pre-push", "post-commit", "post-merge"}) {
        const auto path = (tmp_ / "scripts" / name).string();
        EXPECT_EQ(test::sh("sh -n '" + path + "'"), 0) << name;
        // The quoted path comes back as written.
        EXPECT_EQ(test::sh(". /dev/stdin <<'X'\n" +
                           read_file(path).substr(0, read_file(path).find("\nhook_dir=")) +
                           "\n[ \"$SLUICE\" = \"" + quoted_path + "\" ]\nX"),
                  0)
            << name;
    }
}

TEST_F(InstallTest, ExistingHookIsChainedAndUninstallRestoresItByteForByte) {
    auto reference = custom_hook("pre-push", fs::perms(0750));
    auto before_ino = fs::hard_link_count(hooks() / "pre-push");
    (void)before_ino;
    struct stat original {};
    ASSERT_EQ(lstat((hooks() / "pre-push").c_str(), &original), 0);

    auto report = install(repo(), options());
    ASSERT_TRUE(report.has_value()) << report.error().message;
    EXPECT_EQ(report->hooks[0].action, HookAction::chained);
    EXPECT_TRUE(report->hooks[0].chains);
    EXPECT_TRUE(is_sluice_hook(read_file(hooks() / "pre-push")));
    EXPECT_EQ(test::sh("cmp '" + reference.string() + "' '" +
                       (hooks() / "pre-push.sluice-chained").string() + "'"),
              0);
    EXPECT_EQ(test::mode_of(hooks() / "pre-push.sluice-chained"), 0750u);

    auto removed = uninstall(repo());
    ASSERT_TRUE(removed.has_value()) << removed.error().message;
    ASSERT_EQ(removed->hooks.size(), 1u);
    EXPECT_TRUE(removed->hooks[0].removed);
    EXPECT_TRUE(removed->hooks[0].restored);
    EXPECT_EQ(describe(*removed), std::vector<std::string>{
                                      "pre-push: removed sluice's hook and put back the original"});
    EXPECT_FALSE(fs::exists(hooks() / "pre-push.sluice-chained"));
    EXPECT_EQ(
        test::sh("cmp '" + reference.string() + "' '" + (hooks() / "pre-push").string() + "'"), 0);
    EXPECT_EQ(test::mode_of(hooks() / "pre-push"), 0750u);
    // The very same file: inode and modification time kept.
    struct stat restored {};
    ASSERT_EQ(lstat((hooks() / "pre-push").c_str(), &restored), 0);
    EXPECT_EQ(restored.st_ino, original.st_ino);
    EXPECT_EQ(restored.st_mtim.tv_sec, original.st_mtim.tv_sec);
    EXPECT_EQ(restored.st_mtim.tv_nsec, original.st_mtim.tv_nsec);
    // stat(1) agrees on the mode.
    EXPECT_EQ(testing::run_command({"stat", "-c", "%a", (hooks() / "pre-push").string()}).out,
              "750\n");
}

TEST_F(InstallTest, EveryKindOfHookIsChainedAndRestored) {
    auto pre = custom_hook("pre-push", fs::perms(0755));
    auto post_commit = custom_hook("post-commit", fs::perms(0700));
    auto post_merge = custom_hook("post-merge", fs::perms(0644));  // not executable
    auto report = install(repo(), options(true, true));
    ASSERT_TRUE(report.has_value()) << report.error().message;
    for (const auto& h : report->hooks) EXPECT_EQ(h.action, HookAction::chained) << h.name;
    ASSERT_TRUE(uninstall(repo()).has_value());
    for (const auto& [name, ref, mode] :
         {std::tuple{"pre-push", pre, 0755u}, std::tuple{"post-commit", post_commit, 0700u},
          std::tuple{"post-merge", post_merge, 0644u}}) {
        EXPECT_EQ(test::sh("cmp '" + ref.string() + "' '" + (hooks() / name).string() + "'"), 0)
            << name;
        EXPECT_EQ(test::mode_of(hooks() / name), mode) << name;
    }
    EXPECT_EQ(
        std::distance(fs::directory_iterator(hooks()), fs::directory_iterator()),
        std::distance(fs::directory_iterator(tmp_ / ".git-hooks-ref"), fs::directory_iterator()) +
            // git init's *.sample files
            std::count_if(fs::directory_iterator(hooks()), fs::directory_iterator(),
                          [](const auto& e) { return e.path().extension() == ".sample"; }));
}

TEST_F(InstallTest, InstallingTwiceChangesNothing) {
    auto reference = custom_hook("pre-push", fs::perms(0755));
    ASSERT_TRUE(install(repo(), options(true)).has_value());
    const auto first = read_file(hooks() / "pre-push");
    auto again = install(repo(), options(true));
    ASSERT_TRUE(again.has_value()) << again.error().message;
    for (const auto& h : again->hooks) EXPECT_EQ(h.action, HookAction::unchanged) << h.name;
    EXPECT_TRUE(again->hooks[0].chains);
    EXPECT_EQ(read_file(hooks() / "pre-push"), first);
    // sluice's hook was not chained onto itself: the chained file is still the original.
    EXPECT_EQ(test::sh("cmp '" + reference.string() + "' '" +
                       (hooks() / "pre-push.sluice-chained").string() + "'"),
              0);
    EXPECT_FALSE(fs::exists(hooks() / "pre-push.sluice-chained.sluice-chained"));
    EXPECT_EQ(describe(*again)[0], "pre-push: already installed at " +
                                       (hooks() / "pre-push").string() +
                                       " (runs pre-push.sluice-chained first)");
    ASSERT_TRUE(uninstall(repo()).has_value());
    EXPECT_EQ(
        test::sh("cmp '" + reference.string() + "' '" + (hooks() / "pre-push").string() + "'"), 0);
}

TEST_F(InstallTest, InstallingWithAnotherSluiceUpdatesTheHook) {
    ASSERT_TRUE(install(repo(), options()).has_value());
    test::FakeSluice other(tmp_ / "other");
    auto report = install(repo(), {.sluice_path = other.path()});
    ASSERT_TRUE(report.has_value());
    EXPECT_EQ(report->hooks[0].action, HookAction::updated);
    EXPECT_NE(read_file(hooks() / "pre-push").find(other.path().string()), std::string::npos);
    EXPECT_FALSE(fs::exists(hooks() / "pre-push.sluice-chained"));
}

TEST_F(InstallTest, SymlinkedHookIsChainedAndRestoredAsTheSameLink) {
    tmp_.write("repo/tools/pre-push.sh", "#!/bin/sh\nexit 0\n");
    fs::create_directories(hooks());
    fs::create_symlink("../../tools/pre-push.sh", hooks() / "pre-push");
    ASSERT_TRUE(install(repo(), options()).has_value());
    EXPECT_TRUE(fs::is_symlink(hooks() / "pre-push.sluice-chained"));
    ASSERT_TRUE(uninstall(repo()).has_value());
    ASSERT_TRUE(fs::is_symlink(hooks() / "pre-push"));
    EXPECT_EQ(fs::read_symlink(hooks() / "pre-push"), "../../tools/pre-push.sh");
}

TEST_F(InstallTest, UninstallWithoutSluiceHooksTouchesNothing) {
    auto reference = custom_hook("pre-push", fs::perms(0755));
    auto removed = uninstall(repo());
    ASSERT_TRUE(removed.has_value());
    EXPECT_TRUE(removed->hooks.empty());
    EXPECT_EQ(describe(*removed),
              std::vector<std::string>{"no sluice hooks in " + hooks().string()});
    EXPECT_EQ(read_file(hooks() / "pre-push"), read_file(reference));
}

TEST_F(InstallTest, UninstallLeavesAHookThatReplacedSluicesAlone) {
    custom_hook("pre-push", fs::perms(0755));
    ASSERT_TRUE(install(repo(), options()).has_value());
    tmp_.write("repo/.git/hooks/pre-push", "#!/bin/sh\necho someone else's\n");
    auto removed = uninstall(repo());
    ASSERT_TRUE(removed.has_value());
    ASSERT_EQ(removed->hooks.size(), 1u);
    EXPECT_FALSE(removed->hooks[0].removed);
    EXPECT_FALSE(removed->hooks[0].restored);
    EXPECT_NE(removed->hooks[0].note.find("not sluice's hook"), std::string::npos);
    EXPECT_EQ(read_file(hooks() / "pre-push"), "#!/bin/sh\necho someone else's\n");
    EXPECT_EQ(read_file(hooks() / "pre-push.sluice-chained"), k_custom_hook);
}

TEST_F(InstallTest, UninstallRestoresAChainedHookWhoseSluiceHookWasDeleted) {
    custom_hook("pre-push", fs::perms(0755));
    ASSERT_TRUE(install(repo(), options()).has_value());
    fs::remove(hooks() / "pre-push");
    auto removed = uninstall(repo());
    ASSERT_TRUE(removed.has_value());
    ASSERT_EQ(removed->hooks.size(), 1u);
    EXPECT_TRUE(removed->hooks[0].restored);
    EXPECT_EQ(read_file(hooks() / "pre-push"), k_custom_hook);
}

TEST_F(InstallTest, ForeignHookBesideAChainedOneIsAConflictAndNothingChanges) {
    custom_hook("pre-push", fs::perms(0755));
    tmp_.write("repo/.git/hooks/pre-push.sluice-chained", "#!/bin/sh\nexit 0\n");
    auto report = install(repo(), options(true));
    ASSERT_FALSE(report.has_value());
    EXPECT_EQ(report.error().code, util::ErrorCode::conflict);
    EXPECT_EQ(read_file(hooks() / "pre-push"), k_custom_hook);
    EXPECT_EQ(read_file(hooks() / "pre-push.sluice-chained"), "#!/bin/sh\nexit 0\n");
    EXPECT_FALSE(fs::exists(hooks() / "post-commit"));
    EXPECT_FALSE(fs::exists(hooks() / "pre-push.sluice-new"));
}

TEST_F(InstallTest, BadOptions) {
    auto r = install(repo(), {.sluice_path = "sluice"});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, util::ErrorCode::bad_input);
    r = install(repo(), {.sluice_path = tmp_ / "no-such-sluice"});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, util::ErrorCode::bad_input);
    r = install(repo(), {.sluice_path = fake_.path(), .async = true});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, util::ErrorCode::bad_input);
    EXPECT_FALSE(fs::exists(hooks() / "pre-push"));
    r = install(tmp_ / "home", options());
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, util::ErrorCode::not_found);
}

TEST_F(InstallTest, BareRepositoryIsRefused) {
    // git runs a bare repository's pre-push hook only for pushes from it, with no work
    // tree and no sluice.yml checked out: such a hook could never run the pipeline.
    git_.ok(tmp_.path(), {"init", "-q", "--bare", "-b", "main", "remote.git"});
    auto r = install(tmp_ / "remote.git", options(true));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, util::ErrorCode::bad_input);
    EXPECT_NE(r.error().message.find("is a bare repository"), std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find("install the hooks in a clone"), std::string::npos)
        << r.error().message;
    EXPECT_FALSE(fs::exists(tmp_ / "remote.git" / "hooks" / "pre-push"));
    EXPECT_FALSE(fs::exists(tmp_ / "remote.git" / "hooks" / "post-commit"));
}

TEST_F(InstallTest, CoreHooksPathIsWhereTheHooksGo) {
    git_.ok(repo(), {"config", "core.hooksPath", ".githooks"});
    tmp_.write("repo/.githooks/pre-push", std::string(k_custom_hook));
    fs::permissions(repo() / ".githooks" / "pre-push", fs::perms(0755));
    auto report = install(repo(), options());
    ASSERT_TRUE(report.has_value());
    EXPECT_EQ(report->hooks[0].path, repo() / ".githooks" / "pre-push");
    EXPECT_EQ(report->hooks[0].action, HookAction::chained);
    EXPECT_FALSE(fs::exists(hooks() / "pre-push"));
    EXPECT_EQ(describe(*report).back(), "the hooks directory comes from core.hooksPath (" +
                                            (repo() / ".githooks").string() + ")");
    ASSERT_TRUE(uninstall(repo()).has_value());
    EXPECT_EQ(read_file(repo() / ".githooks" / "pre-push"), k_custom_hook);
}

TEST_F(InstallTest, SharedCoreHooksPathIsCreatedAndWarnedAbout) {
    git_.ok(repo(), {"config", "core.hooksPath", (tmp_ / "shared" / "hooks").string()});
    auto report = install(repo(), options());
    ASSERT_TRUE(report.has_value());
    EXPECT_TRUE(fs::exists(tmp_ / "shared" / "hooks" / "pre-push"));
    EXPECT_NE(describe(*report).back().find("warning: core.hooksPath points outside"),
              std::string::npos);
}

TEST_F(InstallTest, LinkedWorktreeInstallsIntoTheCommonHooks) {
    git_.ok(repo(), {"worktree", "add", "-q", (tmp_ / "wt").string()});
    auto report = install(tmp_ / "wt", options());
    ASSERT_TRUE(report.has_value()) << report.error().message;
    EXPECT_EQ(report->hooks[0].path, hooks() / "pre-push");
    EXPECT_TRUE(is_sluice_hook(read_file(hooks() / "pre-push")));
    ASSERT_TRUE(uninstall(tmp_ / "wt").has_value());
    EXPECT_FALSE(fs::exists(hooks() / "pre-push"));
}

}  // namespace
}  // namespace sluice::hooks
