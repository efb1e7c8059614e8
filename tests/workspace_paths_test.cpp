// Integration tests of the promise that nothing outside the workspace is read or
// written through symbolic links: outputs and inputs behind a link that leaves the
// workspace, a cache restore into a committed link, an image context that is a link
// out, and `sluice artifacts --to DIR` where DIR holds a link. Each keeps a file in an
// "outside" directory and checks it is neither copied nor changed.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "runner/git/repo_fixture_test_support.hpp"
#include "runner/testing/command.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice {
namespace {

using git::test_support::FixtureRepo;
using git::test_support::git_env;
using git::test_support::identity;
using git::test_support::path_exists;
using testing::CommandResult;
using testing::read_file;
using testing::run_command;
using testing::sluice_binary;

class WorkspacePaths : public ::testing::Test {
protected:
    WorkspacePaths() : repo_(dir_ / "project") {
        std::filesystem::create_directories(outside());
        dir_.write("outside/f.txt", "precious\n");
    }

    CommandResult sluice(std::vector<std::string> args) {
        std::vector<std::string> argv = {sluice_binary(), "--state", (dir_ / "state").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_command(argv, {repo_.dir(), git_env()});
    }
    nlohmann::json stage(int run, const std::string& name) {
        auto r = sluice({"show", std::to_string(run), "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        if (r.exit_code != 0) return {};
        auto run_json = nlohmann::json::parse(r.out);
        for (const auto& s : run_json["stages"]) {
            if (s["stage"] == name) return s;
        }
        ADD_FAILURE() << "no stage " << name;
        return {};
    }
    std::string reason(int run, const std::string& name) {
        auto s = stage(run, name);
        return s.contains("reason") ? s["reason"].get<std::string>() : std::string();
    }
    std::filesystem::path outside() const { return dir_ / "outside"; }
    void link(const std::filesystem::path& target, const std::string& name) const {
        std::filesystem::create_symlink(target, repo_.dir() / name);
    }

    testing::TempDir dir_;
    FixtureRepo repo_;
};

TEST_F(WorkspacePaths, AnOutputBehindALinkOutOfTheWorkspaceFailsTheStageAndIsNeverCopied) {
    repo_.write("sluice.yml", "name: leak\nstages:\n  leak:\n    run: ln -s " + outside().string() +
                                  " etcdir\n    outputs: [etcdir/f.txt]\n");
    repo_.commit("a stage that links out");

    auto r = sluice({"run"});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_EQ(stage(1, "leak")["status"], "failed");
    EXPECT_EQ(reason(1, "leak"), "outputs: etcdir/f.txt resolves outside the workspace (through "
                                 "etcdir -> " + outside().string() + ")");
    EXPECT_TRUE(stage(1, "leak")["artifacts"].empty()) << stage(1, "leak").dump();

    auto copied = sluice({"artifacts", "1", "leak", "--to", (dir_ / "copy").string()});
    EXPECT_NE(copied.exit_code, 0) << copied.out;
    EXPECT_FALSE(path_exists(dir_ / "copy/etcdir/f.txt"));
}

TEST_F(WorkspacePaths, AnInputBehindALinkOutOfTheWorkspaceIsNeverHashed) {
    repo_.write("sluice.yml",
                "name: leak\nstages:\n  train:\n    run: echo trained\n    inputs: [\"data/**\"]\n");
    link(outside(), "data");
    repo_.commit("inputs behind a committed link out");

    auto r = sluice({"run"});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_EQ(stage(1, "train")["status"], "failed");
    EXPECT_NE(reason(1, "train").find("inputs: data/** resolves outside the workspace (through "
                                      "data -> " + outside().string() + ")"),
              std::string::npos)
        << reason(1, "train");
}

TEST_F(WorkspacePaths, ALinkThatStaysInsideTheWorkspaceIsFollowed) {
    repo_.write("sluice.yml", "name: inside\nstages:\n  make:\n    run: mkdir -p real && echo made "
                              "> real/f.txt && ln -s real alias\n    outputs: [alias/f.txt]\n");
    repo_.commit("a link inside");

    auto r = sluice({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto copied = sluice({"artifacts", "1", "make", "--to", (dir_ / "copy").string()});
    ASSERT_EQ(copied.exit_code, 0) << copied.err;
    EXPECT_EQ(read_file(dir_ / "copy/alias/f.txt"), "made\n");
}

TEST_F(WorkspacePaths, ACacheRestoreNeverWritesThroughACommittedLinkOutOfTheWorkspace) {
    // Run 1: `out` is a directory the stage fills, and the result is cached. Then `out`
    // becomes a committed link to the outside directory; the stage's key is unchanged.
    repo_.write("sluice.yml", "name: restore\nstages:\n  make:\n    run: mkdir -p out && echo "
                              "fresh > out/f.txt\n    inputs: [src.txt]\n    outputs: [out/f.txt]\n");
    repo_.write("src.txt", "source\n");
    repo_.commit("out is a directory");
    auto first = sluice({"run"});
    ASSERT_EQ(first.exit_code, 0) << first.out << first.err;

    link(outside(), "out");
    repo_.commit("out is a link out of the workspace");
    auto before = identity(outside() / "f.txt");
    auto second = sluice({"run"});
    EXPECT_EQ(second.exit_code, 1) << second.out << second.err;
    EXPECT_EQ(read_file(outside() / "f.txt"), "precious\n");
    EXPECT_EQ(identity(outside() / "f.txt"), before);
    EXPECT_EQ(stage(2, "make")["status"], "failed");
    EXPECT_EQ(reason(2, "make"), "outputs: out/f.txt resolves outside the workspace (through out "
                                 "-> " + outside().string() + ")");
}

TEST_F(WorkspacePaths, AnImageContextThatIsALinkOutOfTheWorkspaceIsRefused) {
    repo_.write("sluice.yml", "name: image\nstages:\n  image:\n    kind: image\n    context: ctx\n");
    link(outside(), "ctx");
    repo_.commit("the context is a link out");

    auto r = sluice({"run"});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    auto s = stage(1, "image");
    EXPECT_EQ(s["status"], "failed");
    EXPECT_EQ(reason(1, "image"), "`context`: ctx resolves outside the workspace (through ctx -> " +
                                      outside().string() + ")");
    EXPECT_FALSE(s.contains("outputs") && s["outputs"].contains("image")) << s.dump();
}

TEST_F(WorkspacePaths, ArtifactsNeverWriteThroughALinkInTheTargetDirectory) {
    repo_.write("sluice.yml", "name: copy\nstages:\n  make:\n    run: mkdir -p out && echo fresh "
                              "> out/f.txt\n    outputs: [out/f.txt]\n");
    repo_.commit("a stage with an output in a directory");
    auto r = sluice({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;

    std::filesystem::create_directories(dir_ / "copy");
    std::filesystem::create_symlink(outside(), dir_ / "copy/out");
    auto before = identity(outside() / "f.txt");
    auto copied = sluice({"artifacts", "1", "make", "--to", (dir_ / "copy").string()});
    EXPECT_EQ(copied.exit_code, 2) << copied.out << copied.err;
    EXPECT_NE(copied.err.find("out/f.txt resolves outside " + (dir_ / "copy").string() +
                              " (through out -> " + outside().string() + ")"),
              std::string::npos)
        << copied.err;
    EXPECT_EQ(read_file(outside() / "f.txt"), "precious\n");
    EXPECT_EQ(identity(outside() / "f.txt"), before);
}

}  // namespace
}  // namespace sluice
