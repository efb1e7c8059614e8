// Integration tests of `sluice run --dry-run`: its prediction of the stage cache matches
// what the real run then does (a chain of cached stages after an unrelated commit), and
// with --json it prints one JSON object.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "runner/git/repo_fixture_test_support.hpp"
#include "runner/testing/command.hpp"
#include "runner/testing/temp_dir.hpp"
#include "tests/run_json_support.hpp"

namespace sluice {
namespace {

using git::test_support::FixtureRepo;
using git::test_support::git_env;
using testing::CommandResult;
using testing::run_command;
using testing::sluice_binary;
using testing::stage_of;
using testing::TempDir;

// prep -> train -> report, each reading what the one before wrote; README.md is read
// by none of them. Each appends its name to ran.log (outside the workspace) when it
// really runs.
std::string chain_pipeline(const std::filesystem::path& ran_log) {
    std::string log = ran_log.string();
    return "name: chain\nstages:\n"
           "  prep:\n    run: cp data.csv table.csv && echo prep >> " + log + "\n"
           "    inputs: [data.csv]\n    outputs: [table.csv]\n"
           "  train:\n    needs: [prep]\n    run: wc -l < table.csv > model.txt && echo train >> " + log + "\n"
           "    inputs: [table.csv]\n    outputs: [model.txt]\n"
           "  report:\n    needs: [train]\n    run: cp model.txt report.txt && echo report >> " + log + "\n"
           "    inputs: [model.txt]\n    outputs: [report.txt]\n";
}

class DryRun : public ::testing::Test {
protected:
    DryRun() : repo_(dir_ / "project") {}
    void SetUp() override {
        repo_.write("sluice.yml", chain_pipeline(ran_log()));
        repo_.write("data.csv", "1,2\n3,4\n");
        repo_.write("README.md", "the project\n");
        repo_.commit("first");
    }
    CommandResult sluice(std::vector<std::string> args) {
        std::vector<std::string> argv = {sluice_binary(), "--state", (dir_ / "state").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_command(argv, {repo_.dir(), git_env()});
    }
    nlohmann::json show(int run) {
        auto r = sluice({"show", std::to_string(run), "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json{};
    }
    std::filesystem::path ran_log() const { return dir_ / "ran.log"; }
    // The stages that really ran since the last call.
    std::vector<std::string> ran() {
        std::vector<std::string> out;
        std::ifstream in(ran_log());
        for (std::string line; std::getline(in, line);) out.push_back(line);
        std::filesystem::remove(ran_log());
        return out;
    }

    TempDir dir_;
    FixtureRepo repo_;
};

TEST_F(DryRun, ChainOfCachedStagesIsPredictedAsTheRunTakesIt) {
    auto first = sluice({"run"});
    ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
    ASSERT_EQ(ran(), (std::vector<std::string>{"prep", "train", "report"}));

    repo_.write("README.md", "the project, described better\n");
    repo_.commit("docs only");

    auto dry = sluice({"run", "--dry-run"});
    ASSERT_EQ(dry.exit_code, 0) << dry.out << dry.err;
    for (const char* stage : {"prep", "train", "report"}) {
        EXPECT_NE(dry.out.find(std::string("  ") + stage + ": cached ("), std::string::npos)
            << stage << ":\n" << dry.out;
    }
    EXPECT_EQ(ran(), std::vector<std::string>{}) << "--dry-run runs nothing";

    auto r = sluice({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(ran(), std::vector<std::string>{});
    auto run = show(2);
    for (const char* stage : {"prep", "train", "report"}) {
        EXPECT_EQ(stage_of(run, stage)["status"], "cached") << stage;
    }

    // A change prep reads: the prediction and the run agree that all three run.
    repo_.write("data.csv", "1,2\n3,4\n5,6\n");
    repo_.commit("more data");
    auto again = sluice({"run", "--dry-run"});
    ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
    EXPECT_NE(again.out.find("  prep: runs ("), std::string::npos) << again.out;
    EXPECT_NE(again.out.find("  train: runs ("), std::string::npos) << again.out;
    EXPECT_NE(again.out.find("  report: runs ("), std::string::npos) << again.out;
    ASSERT_EQ(sluice({"run"}).exit_code, 0);
    EXPECT_EQ(ran(), (std::vector<std::string>{"prep", "train", "report"}));
}

TEST_F(DryRun, JsonIsOneObjectWithEachStagesPrediction) {
    ASSERT_EQ(sluice({"run"}).exit_code, 0);
    ran();
    repo_.write("sluice.yml", chain_pipeline(ran_log()) +
                                  "  publish:\n    needs: [report]\n    run: echo publish\n"
                                  "    when: {event: push}\n");
    repo_.commit("publish on push");

    auto dry = sluice({"run", "--dry-run", "--json", "--event", "manual"});
    ASSERT_EQ(dry.exit_code, 0) << dry.out << dry.err;
    auto j = nlohmann::json::parse(dry.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON:\n" << dry.out;
    ASSERT_TRUE(j.is_object()) << dry.out;
    EXPECT_EQ(j["runs"], true) << dry.out;
    EXPECT_TRUE(j["why"].is_string()) << dry.out;
    EXPECT_EQ(j["event"], "manual") << dry.out;
    ASSERT_TRUE(j["stages"].is_array()) << dry.out;
    ASSERT_EQ(j["stages"].size(), 4u) << dry.out;
    std::map<std::string, nlohmann::json> by_name;
    for (const auto& s : j["stages"]) by_name[s["stage"].get<std::string>()] = s;
    EXPECT_EQ(by_name["prep"]["action"], "cached") << dry.out;
    EXPECT_EQ(by_name["train"]["action"], "cached") << dry.out;
    EXPECT_EQ(by_name["report"]["action"], "cached") << dry.out;
    EXPECT_EQ(by_name["publish"]["action"], "skipped") << dry.out;
    for (const auto& [name, s] : by_name) EXPECT_TRUE(s["why"].is_string()) << name;
    EXPECT_EQ(ran(), std::vector<std::string>{});
}

}  // namespace
}  // namespace sluice
