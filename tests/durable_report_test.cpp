// Integration tests of what `sluice run` promises about its output: a stage reported
// passed (or cached) is in the run store, even when the runner is killed (kill -9) the
// instant the line is read; plain output to a pipe comes line by line while the run
// goes on; a reader that goes away (`| head -3`) stops the printing, not the run.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "runner/store/store.hpp"
#include "runner/testing/command.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice {
namespace {

using testing::PipedCommand;
using testing::sluice_binary;
using testing::TempDir;

constexpr int k_trials = 50;

// Four trivial stages, two of them at once, then two after them.
constexpr const char* k_trivial = R"yml(name: durable
stages:
  a: { run: "true" }
  b: { run: "true" }
  c: { needs: [a, b], run: "true" }
  d: { needs: [a], run: "true" }
)yml";

// Four stages the cache remembers (inputs and outputs).
constexpr const char* k_cacheable = R"yml(name: durable-cache
stages:
  a: { run: cp in.txt a.out, inputs: [in.txt], outputs: [a.out] }
  b: { run: cp in.txt b.out, inputs: [in.txt], outputs: [b.out] }
  c: { needs: [a, b], run: cp a.out c.out, inputs: [a.out], outputs: [c.out] }
  d: { needs: [a], run: cp a.out d.out, inputs: [a.out], outputs: [d.out] }
)yml";

// What one reported line says: the run it belongs to, or a stage that ended.
struct Reported {
    std::optional<store::RunId> run;
    std::string stage;
    std::string status;
};

Reported parse_json_line(const std::string& line) {
    Reported r;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return r;
    if (j.value("event", "") == "run_started") r.run = j["run"].get<store::RunId>();
    if (j.value("event", "") == "stage_finished") {
        r.stage = j["stage"].get<std::string>();
        r.status = j["status"].get<std::string>();
    }
    return r;
}

// "starting run 7 of durable (...)" and "==> a passed in 3ms".
Reported parse_plain_line(const std::string& line) {
    Reported r;
    const std::string start = "starting run ";
    if (line.rfind(start, 0) == 0) r.run = std::stoll(line.substr(start.size()));
    const std::string arrow = "==> ";
    if (line.rfind(arrow, 0) == 0) {
        auto rest = line.substr(arrow.size());
        auto space = rest.find(' ');
        if (space != std::string::npos) {
            std::string status = rest.substr(space + 1, rest.find(' ', space + 1) - space - 1);
            if (status == "passed" || status == "cached") {
                r.stage = rest.substr(0, space);
                r.status = status;
            }
        }
    }
    return r;
}

class DurableReport : public ::testing::Test {
protected:
    std::vector<std::string> argv(std::vector<std::string> args) const {
        std::vector<std::string> out = {sluice_binary(), "--state", (dir_ / "state").string()};
        out.insert(out.end(), args.begin(), args.end());
        return out;
    }
    testing::CommandResult sluice(std::vector<std::string> args) {
        return testing::run_command(argv(std::move(args)), {dir_.path(), {}});
    }
    // The stages' statuses as the store has them now (the runner may be dead).
    std::map<std::string, std::string> recorded(store::RunId run) {
        std::map<std::string, std::string> out;
        auto store = store::Store::open(dir_ / "state" / "sluice.db");
        EXPECT_TRUE(store) << store.error().message;
        if (!store) return out;
        auto stages = store->stages(run);
        EXPECT_TRUE(stages) << stages.error().message;
        if (!stages) return out;
        for (const auto& s : *stages) out[s.stage] = s.status;
        return out;
    }
    std::string run_status(store::RunId run) {
        auto store = store::Store::open(dir_ / "state" / "sluice.db");
        if (!store) return "no store: " + store.error().message;
        auto found = store->find_run(run);
        if (!found || !*found) return "no run";
        return (*found)->status;
    }

    // Starts `sluice run ARGS` k_trials times, SIGKILLs it the instant the line that
    // reports the n-th stage `status` is read (n cycles through 1..kill_after_max),
    // then checks every stage the runner reported with that status, read before the
    // kill or still in the pipe, is recorded so. At least `min_mid_run` trials must
    // have been killed before their run was recorded ended, else the kills came too late
    // to test anything.
    void kill_on_report(const std::vector<std::string>& args, bool json, const std::string& status,
                        int kill_after_max, int min_mid_run,
                        const std::function<void(int)>& before_trial = {}) {
        int killed_mid_run = 0;
        for (int trial = 0; trial < k_trials; ++trial) {
            if (before_trial) before_trial(trial);
            PipedCommand runner(argv(args), {dir_.path(), {}});
            int kill_after = 1 + trial % kill_after_max;
            std::optional<store::RunId> run;
            std::set<std::string> reported;
            auto note = [&](const std::string& line) {
                Reported r = json ? parse_json_line(line) : parse_plain_line(line);
                if (r.run) run = r.run;
                if (r.status == status) reported.insert(r.stage);
                return r.status == status;
            };
            int seen = 0;
            bool killed = false;
            while (auto line = runner.read_line()) {
                if (note(*line) && ++seen == kill_after) {
                    ::kill(runner.pid(), SIGKILL);
                    killed = true;
                    break;
                }
            }
            auto end = runner.wait();
            // Whatever else it had written before it died was reported too.
            std::istringstream rest(end.out);
            for (std::string line; std::getline(rest, line);) note(line);
            ASSERT_TRUE(killed) << "trial " << trial << ": no " << kill_after << "th `" << status
                                << "` line; stderr: " << end.err;
            EXPECT_TRUE(run) << "trial " << trial << ": the run's id was not reported";
            if (!run) return;
            if (run_status(*run) != "passed") ++killed_mid_run;
            auto stored = recorded(*run);
            for (const auto& stage : reported) {
                EXPECT_EQ(stored[stage], status)
                    << "trial " << trial << " (run " << *run << "): " << stage
                    << " was reported " << status << " before the runner was killed";
            }
            if (::testing::Test::HasFailure()) return;  // one trial's story is enough
        }
        EXPECT_GE(killed_mid_run, min_mid_run) << "runs ended before their runner was killed";
    }

    TempDir dir_;
};

TEST_F(DurableReport, KillNineRightAfterAPassedJsonEventLosesNothing) {
    dir_.write("sluice.yml", k_trivial);
    kill_on_report({"run", "--json", "-j", "2"}, true, "passed", 4, k_trials / 2);
}

TEST_F(DurableReport, KillNineRightAfterAPassedPlainLineLosesNothing) {
    dir_.write("sluice.yml", k_trivial);
    kill_on_report({"run", "-j", "2"}, false, "passed", 4, k_trials / 2);
}

TEST_F(DurableReport, KillNineRightAfterACachedStageIsReportedLosesNothing) {
    dir_.write("sluice.yml", k_cacheable);
    dir_.write("in.txt", "data\n");
    ASSERT_EQ(sluice({"run"}).exit_code, 0);  // fills the cache
    // The remembered run vouches only for paths older than the run's start by 2 s
    // (FileDigests::k_timestamp_slack): wait until every file is that old.
    auto newest = [&] {
        std::int64_t ns = 0;
        for (const char* f : {"in.txt", "a.out", "b.out", "c.out", "d.out"}) {
            struct stat st {};
            if (::stat((dir_ / f).c_str(), &st) != 0) continue;
            for (const auto& t : {st.st_mtim, st.st_ctim}) {
                ns = std::max<std::int64_t>(ns, t.tv_sec * 1'000'000'000LL + t.tv_nsec);
            }
        }
        return ns;
    };
    auto old_enough = [&] {
        auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
        return now - newest() > 2'200'000'000LL;
    };
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!old_enough() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(old_enough());
    ASSERT_EQ(sluice({"run"}).exit_code, 0);  // looks every stage up, and remembers them
    auto memo_dir = dir_ / "state" / "cache" / "runs";
    // Even trials: the stages come from the remembered run (recorded 64 at a time);
    // odd trials: without the memo, each is looked up in the index and recorded alone.
    // A run of cached stages starts no process: its stages are committed, then reported,
    // at its end, just before the run's own end is recorded, so fewer kills land before
    // that.
    kill_on_report({"run", "--json"}, true, "cached", 4, 1, [&](int trial) {
        if (trial % 2 == 0) return;
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(memo_dir, ec)) {
            if (e.path().extension() == ".memo") std::filesystem::remove(e.path(), ec);
        }
    });
}

TEST_F(DurableReport, PlainOutputToAPipeComesLineByLineWhileTheRunGoesOn) {
    // b goes on only once the test has read a's `passed` line from the pipe.
    dir_.write("sluice.yml", R"yml(name: live
stages:
  a: { run: "true" }
  b:
    needs: [a]
    run: |
      i=0
      while [ ! -f go ]; do i=$((i+1)); [ $i -lt 300 ] || exit 1; sleep 0.05; done
)yml");
    PipedCommand runner(argv({"run"}), {dir_.path(), {}});
    bool a_passed = false;
    while (auto line = runner.read_line(std::chrono::seconds(10))) {
        if (line->rfind("==> a passed", 0) == 0) {
            a_passed = true;
            break;
        }
    }
    EXPECT_TRUE(a_passed) << "a's `passed` line did not come while b waited";
    dir_.write("go", "");
    auto end = runner.wait();
    EXPECT_EQ(end.exit_code, 0) << end.out << end.err;
    EXPECT_NE(end.out.find("==> b passed"), std::string::npos) << end.out;
}

TEST_F(DurableReport, AReaderThatStopsReadingDoesNotStopTheRun) {
    // As `sluice run --json | head -3`: the reading end closes after three lines, and b
    // (which waits for it) ends after that, so the runner's next lines meet a closed pipe.
    dir_.write("sluice.yml", R"yml(name: head
stages:
  a: { run: "true" }
  b:
    needs: [a]
    run: |
      i=0
      while [ ! -f go ]; do i=$((i+1)); [ $i -lt 300 ] || exit 1; sleep 0.05; done
  c: { needs: [b], run: echo done > c.done }
)yml");
    PipedCommand runner(argv({"run", "--json"}), {dir_.path(), {}});
    std::optional<store::RunId> run;
    for (int i = 0; i < 3; ++i) {
        auto line = runner.read_line();
        ASSERT_TRUE(line) << "line " << i + 1;
        if (auto r = parse_json_line(*line); r.run) run = r.run;
    }
    ASSERT_TRUE(run);
    runner.close_output();
    dir_.write("go", "");
    auto end = runner.wait();
    EXPECT_EQ(end.signal, 0) << "the runner died of signal " << end.signal;
    EXPECT_EQ(end.exit_code, 0) << "the run's own status; stderr: " << end.err;
    EXPECT_EQ(run_status(*run), "passed");
    auto stages = recorded(*run);
    EXPECT_EQ(stages["b"], "passed");
    EXPECT_EQ(stages["c"], "passed");
    EXPECT_EQ(testing::read_file(dir_ / "c.done"), "done\n");
}

}  // namespace
}  // namespace sluice
