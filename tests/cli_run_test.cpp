// Integration tests of `sluice run`, `show`, `runs`, `logs`, `resume` and `cancel`: the
// real binary on real pipelines in temporary directories, checked as a user would.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "runner/testing/command.hpp"
#include "runner/testing/temp_dir.hpp"
#include "tests/run_json_support.hpp"

namespace sluice {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::sluice_binary;
using testing::stage_of;
using testing::TempDir;

class CliRun : public ::testing::Test {
protected:
    CommandResult sluice(std::vector<std::string> args) {
        std::vector<std::string> argv = {sluice_binary(), "--state", state().string()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_command(argv, {dir_.path(), {}});
    }
    std::filesystem::path state() const { return dir_ / "state"; }
    nlohmann::json show(int run) {
        auto r = sluice({"show", std::to_string(run), "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return nlohmann::json::parse(r.out);
    }
    // Waits (bounded) until a file exists: the test's sign that a stage got that far.
    static bool wait_for_file(const std::filesystem::path& file) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (std::chrono::steady_clock::now() < deadline) {
            if (std::filesystem::exists(file)) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    }
    TempDir dir_;
};

TEST_F(CliRun, FiftyStageDiamondRunsEveryStageAfterItsNeeds) {
    // top -> 48 middle stages in 4 layers of 12 -> bottom
    std::ostringstream yml;
    yml << "name: diamond\nstages:\n  top:\n    run: echo top\n";
    for (int layer = 0; layer < 4; ++layer) {
        for (int i = 0; i < 12; ++i) {
            yml << "  m" << layer << "_" << i << ":\n    needs: [";
            if (layer == 0) {
                yml << "top";
            } else {
                yml << "m" << layer - 1 << "_" << i << ", m" << layer - 1 << "_" << (i + 1) % 12;
            }
            yml << "]\n    run: echo layer " << layer << " stage " << i << "\n";
        }
    }
    yml << "  bottom:\n    needs: [";
    for (int i = 0; i < 12; ++i) yml << (i ? ", " : "") << "m3_" << i;
    yml << "]\n    run: echo bottom\n";
    dir_.write("sluice.yml", yml.str());

    auto r = sluice({"run", "-j", "4"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto run = show(1);
    EXPECT_EQ(run["status"], "passed");
    ASSERT_EQ(run["stages"].size(), 50u);
    std::map<std::string, nlohmann::json> by_name;
    for (const auto& s : run["stages"]) by_name[s["stage"]] = s;
    for (const auto& [name, s] : by_name) {
        EXPECT_EQ(s["status"], "passed") << name;
        EXPECT_EQ(s["attempt"], 1) << name;
        EXPECT_EQ(s["exit_code"], 0) << name;
        std::string log = testing::read_file(s["log"].get<std::string>());
        EXPECT_NE(log.find(name == "top" ? "top" : name == "bottom" ? "bottom" : "layer"),
                  std::string::npos)
            << name << " log: " << log;
    }
    // Every stage started after each of its needs finished.
    auto check = [&](const std::string& stage, const std::string& need) {
        EXPECT_GE(by_name[stage]["started_ms"].get<long>(), by_name[need]["finished_ms"].get<long>())
            << stage << " started before " << need << " finished";
    };
    for (int i = 0; i < 12; ++i) {
        check("m0_" + std::to_string(i), "top");
        for (int layer = 1; layer < 4; ++layer) {
            check("m" + std::to_string(layer) + "_" + std::to_string(i),
                  "m" + std::to_string(layer - 1) + "_" + std::to_string(i));
            check("m" + std::to_string(layer) + "_" + std::to_string(i),
                  "m" + std::to_string(layer - 1) + "_" + std::to_string((i + 1) % 12));
        }
        check("bottom", "m3_" + std::to_string(i));
    }
}

TEST_F(CliRun, AFailureSkipsDependentsAndExitsOne) {
    dir_.write("sluice.yml", R"(name: fail
stages:
  build:
    run: "echo building; exit 3"
  test:
    needs: [build]
    run: echo testing
  lint:
    run: echo linting
)");
    auto r = sluice({"run", "-j", "2"});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    auto run = show(1);
    EXPECT_EQ(run["status"], "failed");
    EXPECT_EQ(stage_of(run, "build")["status"], "failed");
    EXPECT_EQ(stage_of(run, "build")["exit_code"], 3);
    EXPECT_EQ(stage_of(run, "test")["status"], "skipped");
    EXPECT_EQ(stage_of(run, "test")["reason"], "needs build, which failed");
    EXPECT_EQ(stage_of(run, "lint")["status"], "passed");
    EXPECT_NE(r.out.find("exit 3"), std::string::npos) << r.out;
}

TEST_F(CliRun, AllowFailureAndRetries) {
    dir_.write("sluice.yml", R"(name: retry
stages:
  flaky:
    retry: { max: 2, delay: 10ms }
    run: |
      n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count
      test $n -ge 2
  style:
    allow_failure: true
    run: "false"
  after:
    needs: [flaky, style]
    run: echo after
)");
    auto r = sluice({"run"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    auto run = show(1);
    EXPECT_EQ(stage_of(run, "flaky")["status"], "passed");
    EXPECT_EQ(stage_of(run, "flaky")["attempt"], 2);
    EXPECT_EQ(stage_of(run, "style")["status"], "failed");
    EXPECT_EQ(stage_of(run, "after")["status"], "passed");
    EXPECT_EQ(testing::read_file(dir_ / "count"), "2\n");
}

TEST_F(CliRun, StagesGetACleanEnvironmentWithVariablesAndOutputs) {
    dir_.write("sluice.yml", R"(name: env
variables: { MODEL_NAME: churn }
stages:
  first:
    env: { GREETING: hello }
    run: |
      env | sort > first.env
      echo "model_sha=abc123" >> "$SLUICE_OUTPUT"
  second:
    needs: [first]
    run: echo "${{ stages.first.outputs.model_sha }} ${{ vars.MODEL_NAME }}" > second.txt
)");
    auto argv = std::vector<std::string>{sluice_binary(), "--state", state().string(), "run"};
    auto r = run_command(argv, {dir_.path(), {{"SLUICE_TEST_SECRET", "leak"}}});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    std::string env = testing::read_file(dir_ / "first.env");
    EXPECT_EQ(env.find("SLUICE_TEST_SECRET"), std::string::npos) << env;
    EXPECT_NE(env.find("MODEL_NAME=churn\n"), std::string::npos) << env;
    EXPECT_NE(env.find("GREETING=hello\n"), std::string::npos) << env;
    EXPECT_NE(env.find("SLUICE_RUN_ID=1\n"), std::string::npos) << env;
    EXPECT_NE(env.find("SLUICE_STAGE=first\n"), std::string::npos) << env;
    EXPECT_NE(env.find("\nPATH="), std::string::npos) << env;
    EXPECT_EQ(testing::read_file(dir_ / "second.txt"), "abc123 churn\n");
    EXPECT_EQ(stage_of(show(1), "first")["outputs"]["model_sha"], "abc123");
}

TEST_F(CliRun, OnlyRunsTheStageAndWhatItNeeds) {
    dir_.write("sluice.yml", R"(name: only
stages:
  a: { run: echo a }
  b: { needs: [a], run: echo b }
  c: { run: echo c }
)");
    auto r = sluice({"run", "--only", "b"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto run = show(1);
    ASSERT_EQ(run["stages"].size(), 2u);
    EXPECT_EQ(run["stages"][0]["stage"], "a");
    EXPECT_EQ(run["stages"][1]["stage"], "b");
    auto bad = sluice({"run", "--only", "nope"});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.err.find("nope"), std::string::npos) << bad.err;
}

TEST_F(CliRun, JsonPrintsOneEventPerLine) {
    dir_.write("sluice.yml", "name: j\nstages:\n  a: { run: echo hi }\n  b: { needs: [a], run: 'false' }\n");
    auto r = sluice({"run", "--json"});
    EXPECT_EQ(r.exit_code, 1);
    std::vector<std::string> events;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        auto j = nlohmann::json::parse(line);  // every line is JSON
        events.push_back(j["event"].get<std::string>() +
                         (j.contains("stage") ? ":" + j["stage"].get<std::string>() : "") +
                         (j.contains("status") ? ":" + j["status"].get<std::string>() : ""));
    }
    EXPECT_EQ(events, (std::vector<std::string>{"run_started", "stage_started:a",
                                                "stage_finished:a:passed", "stage_started:b",
                                                "stage_finished:b:failed", "run_finished:failed"}));
}

TEST_F(CliRun, BadPipelineIsExitTwoWithFileLineColumn) {
    dir_.write("sluice.yml", "name: bad\nstages:\n  a:\n    runn: echo\n");
    auto r = sluice({"run"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("sluice.yml:4:5:"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(state() / "sluice.db")) << "no run may be recorded";
    auto v = sluice({"validate"});
    EXPECT_EQ(v.exit_code, 2);
    EXPECT_NE(v.err.find("sluice.yml:4:5:"), std::string::npos) << v.err;
}

TEST_F(CliRun, UsageErrorsAreExitTwo) {
    EXPECT_EQ(sluice({"run", "--jobs", "zero"}).exit_code, 2);
    EXPECT_EQ(sluice({"frobnicate"}).exit_code, 2);
    EXPECT_EQ(sluice({"show", "abc"}).exit_code, 2);
    EXPECT_EQ(sluice({"show", "99"}).exit_code, 2);
}

TEST_F(CliRun, LogsShowAStagesOutput) {
    dir_.write("sluice.yml", "name: l\nstages:\n  a: { run: 'echo out-line; echo err-line >&2' }\n");
    ASSERT_EQ(sluice({"run"}).exit_code, 0);
    auto r = sluice({"logs", "1", "a"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("out-line"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("err-line"), std::string::npos) << r.out;
}

TEST_F(CliRun, KilledRunnerIsInterruptedAndResumeFinishesOnlyWhatWasLeft) {
    dir_.write("sluice.yml", R"(name: crash
stages:
  first:
    run: echo once >> first.count
  second:
    needs: [first]
    run: |
      if [ ! -f go ]; then echo $$ > second.pid; touch second.started; sleep 300; fi
      echo resumed > second.done
  third:
    needs: [second]
    run: echo third > third.done
)");
    testing::Background runner({sluice_binary(), "--state", state().string(), "run"},
                               {dir_.path(), {}});
    ASSERT_TRUE(wait_for_file(dir_ / "second.started"));
    int stage_pid = std::stoi(testing::read_file(dir_ / "second.pid"));
    kill(runner.pid(), SIGKILL);
    runner.wait();

    // The stage's tree dies with its runner (the shim is told by the kernel).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (kill(stage_pid, 0) == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_NE(kill(stage_pid, 0), 0) << "the stage outlived its runner";

    auto runs = sluice({"runs", "--json"});
    ASSERT_EQ(runs.exit_code, 0) << runs.err;
    EXPECT_EQ(nlohmann::json::parse(runs.out)["status"], "interrupted");
    auto before = show(1);
    EXPECT_EQ(stage_of(before, "first")["status"], "passed");
    EXPECT_EQ(stage_of(before, "second")["status"], "interrupted");

    dir_.write("go", "");
    auto r = sluice({"resume", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto after = show(1);
    EXPECT_EQ(after["status"], "passed");
    EXPECT_EQ(stage_of(after, "first")["attempt"], 1);
    EXPECT_EQ(testing::read_file(dir_ / "first.count"), "once\n") << "first ran again";
    EXPECT_EQ(testing::read_file(dir_ / "second.done"), "resumed\n");
    EXPECT_EQ(testing::read_file(dir_ / "third.done"), "third\n");
    EXPECT_EQ(sluice({"resume", "1"}).exit_code, 2) << "a passed run has nothing to resume";
}

TEST_F(CliRun, InterruptCancelsTheRunAndItsProcesses) {
    dir_.write("sluice.yml", R"(name: cancel
stages:
  long:
    run: |
      sleep 300 &
      echo $! > child.pid
      touch started
      wait
  after:
    needs: [long]
    run: echo never > after.done
)");
    testing::Background runner({sluice_binary(), "--state", state().string(), "run"},
                               {dir_.path(), {}});
    ASSERT_TRUE(wait_for_file(dir_ / "started"));
    int child = std::stoi(testing::read_file(dir_ / "child.pid"));
    kill(runner.pid(), SIGINT);
    auto r = runner.wait();
    EXPECT_EQ(r.exit_code, 130) << r.out << r.err;
    EXPECT_NE(kill(child, 0), 0) << "the stage's child survived the cancel";
    auto run = show(1);
    EXPECT_EQ(run["status"], "cancelled");
    EXPECT_EQ(stage_of(run, "long")["status"], "cancelled");
    EXPECT_EQ(stage_of(run, "after")["status"], "cancelled");
    EXPECT_FALSE(std::filesystem::exists(dir_ / "after.done"));
}

TEST_F(CliRun, CancelFromAnotherProcess) {
    dir_.write("sluice.yml", "name: c\nstages:\n  long: { run: 'touch started; sleep 300' }\n");
    testing::Background runner({sluice_binary(), "--state", state().string(), "run"},
                               {dir_.path(), {}});
    ASSERT_TRUE(wait_for_file(dir_ / "started"));
    auto c = sluice({"cancel", "1"});
    EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
    EXPECT_NE(c.out.find("cancelled"), std::string::npos);
    EXPECT_EQ(runner.wait().exit_code, 130);
    EXPECT_EQ(show(1)["status"], "cancelled");
    EXPECT_EQ(sluice({"cancel", "1"}).exit_code, 2) << "cancelling a finished run is refused";
}

}  // namespace
}  // namespace sluice
