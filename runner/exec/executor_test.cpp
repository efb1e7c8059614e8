// Tests of exec::Executor and the stage shim, with real processes: exit statuses, signals,
// process trees that try to escape, timeouts, cancellation, environment, output volume.
#include "runner/exec/executor.hpp"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "runner/exec/log_writer.hpp"
#include "runner/exec/shim_client.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice::exec {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using sluice::testing::TempDir;

std::filesystem::path shim_path() { return sluice::testing::build_dir() / "sluice-shim"; }

Environment base_env() { return {{"PATH", "/usr/local/bin:/usr/bin:/bin"}}; }

ProcessSpec shell(std::string script, const std::filesystem::path& cwd) {
    ProcessSpec spec;
    spec.argv = {"/bin/sh", "-c", std::move(script)};
    spec.env = base_env();
    spec.cwd = cwd;
    return spec;
}

struct Finished {
    ProcessOutcome outcome;
    std::string out;
    std::string err;
    int exits = 0;
};

// Starts spec and dispatches events until it ended (at most `limit`).
Finished run(Executor& executor, const ProcessSpec& spec, Millis limit = 20s) {
    Finished result;
    executor.start(
        spec,
        [&result](Stream stream, std::string_view data) {
            (stream == Stream::out ? result.out : result.err).append(data);
        },
        [&result](ProcessId, const ProcessOutcome& outcome) {
            result.outcome = outcome;
            ++result.exits;
        });
    const auto deadline = Clock::now() + limit;
    while (result.exits == 0 && Clock::now() < deadline) executor.wait_until(deadline);
    EXPECT_EQ(result.exits, 1) << "the process did not end within the limit";
    return result;
}

bool process_gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

pid_t read_pid(const std::filesystem::path& file) {
    return static_cast<pid_t>(std::atol(sluice::testing::read_file(file).c_str()));
}

// Dispatches events until `file` holds a pid (bounded): the command writes it when it has
// set itself up.
pid_t wait_for_pid(Executor& executor, const std::filesystem::path& file, Millis limit = 10s) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
        if (pid_t pid = read_pid(file); pid > 0) return pid;
        executor.wait_until(Clock::now() + 5ms);
    }
    return 0;
}

// Dead, though perhaps not yet reaped: when its shim was killed, the process is reparented
// to init, which may take its time (or, in some containers, never) to reap it.
bool dead(pid_t pid) {
    if (process_gone(pid)) return true;
    std::string stat = sluice::testing::read_file("/proc/" + std::to_string(pid) + "/stat");
    auto paren = stat.rfind(')');
    return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

// For processes whose end the executor's loop does not report: bounded polling.
bool wait_dead(pid_t pid, Millis limit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
        if (dead(pid)) return true;
        std::this_thread::sleep_for(5ms);
    }
    return dead(pid);
}

pid_t parent_of(pid_t pid) {
    std::string stat = sluice::testing::read_file("/proc/" + std::to_string(pid) + "/stat");
    auto paren = stat.rfind(')');
    if (paren == std::string::npos) return 0;
    return static_cast<pid_t>(std::atol(stat.c_str() + paren + 4));
}

ExecutorOptions options_for(bool fork_server) {
    ExecutorOptions options;
    options.fork_server = fork_server;
    return options;
}

// Every test runs twice: stages through the fork server (the default) and each through a shim
// started for it (the fallback).
class ExecutorTest : public ::testing::TestWithParam<bool> {
protected:
    bool fork_server() const { return GetParam(); }
    ExecutorOptions options() const { return options_for(fork_server()); }

    TempDir dir_;
    Executor executor_{shim_path(), options_for(GetParam())};
};

INSTANTIATE_TEST_SUITE_P(Modes, ExecutorTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& mode) {
                             return mode.param ? "ForkServer" : "ShimPerStage";
                         });

TEST_P(ExecutorTest, ReportsExitCodes) {
    for (int code : {0, 1, 42}) {
        auto result = run(executor_, shell("exit " + std::to_string(code), dir_.path()));
        EXPECT_EQ(result.outcome.exit_code, code);
        EXPECT_EQ(result.outcome.signal, 0);
        EXPECT_FALSE(result.outcome.start_failed);
        EXPECT_EQ(result.outcome.ok(), code == 0);
        EXPECT_EQ(result.outcome.message.empty(), code == 0) << result.outcome.message;
    }
    EXPECT_EQ(executor_.running(), 0u);
}

TEST_P(ExecutorTest, DeliversStdoutAndStderrSeparately) {
    auto result = run(executor_, shell("echo to-out; echo to-err >&2; printf tail", dir_.path()));
    EXPECT_EQ(result.out, "to-out\ntail");
    EXPECT_EQ(result.err, "to-err\n");
}

TEST_P(ExecutorTest, ReportsTheSignalThatKilledTheCommand) {
    auto killed = run(executor_, shell("kill -KILL $$", dir_.path()));
    EXPECT_EQ(killed.outcome.signal, SIGKILL);
    EXPECT_FALSE(killed.outcome.ok());
    EXPECT_NE(killed.outcome.message.find("SIGKILL"), std::string::npos) << killed.outcome.message;

    auto crashed = run(executor_, shell("ulimit -c 0; kill -SEGV $$", dir_.path()));
    EXPECT_EQ(crashed.outcome.signal, SIGSEGV);
    EXPECT_NE(crashed.outcome.message.find("SIGSEGV"), std::string::npos);
}

TEST_P(ExecutorTest, TimeoutEndsAGrandchildThatCalledSetsid) {
    auto spec = shell("setsid sh -c 'echo $$ > pidfile; exec sleep 300' & sleep 300", dir_.path());
    spec.timeout = 1000ms;
    spec.grace = 300ms;
    auto result = run(executor_, spec);
    pid_t grandchild = read_pid(dir_ / "pidfile");
    ASSERT_GT(grandchild, 0) << "the grandchild did not start before the timeout";
    EXPECT_TRUE(result.outcome.timed_out);
    EXPECT_FALSE(result.outcome.cancelled);
    EXPECT_FALSE(result.outcome.ok());
    EXPECT_NE(result.outcome.message.find("timed out"), std::string::npos);
    EXPECT_TRUE(process_gone(grandchild));
    EXPECT_LT(result.outcome.duration, 5000ms);
}

TEST_P(ExecutorTest, TimeoutKillsAGrandchildThatIgnoresSigterm) {
    auto spec = shell(
        "setsid sh -c 'trap \"\" TERM; echo $$ > pidfile; while :; do sleep 1; done' & "
        "sleep 300",
        dir_.path());
    spec.timeout = 1000ms;
    spec.grace = 200ms;
    auto result = run(executor_, spec);
    pid_t grandchild = read_pid(dir_ / "pidfile");
    ASSERT_GT(grandchild, 0);
    EXPECT_TRUE(result.outcome.timed_out);
    EXPECT_TRUE(process_gone(grandchild));
    // SIGKILL came only after the grace (a stale clock once made it come at once).
    EXPECT_GE(result.outcome.duration, spec.timeout + spec.grace);
}

TEST_P(ExecutorTest, TimeoutEndsADoubleForkedDaemon) {
    auto spec = shell("(sh -c 'echo $$ > pidfile; exec sleep 300' &); sleep 300", dir_.path());
    spec.timeout = 1000ms;
    spec.grace = 300ms;
    auto result = run(executor_, spec);
    pid_t daemon = read_pid(dir_ / "pidfile");
    ASSERT_GT(daemon, 0);
    EXPECT_TRUE(result.outcome.timed_out);
    EXPECT_TRUE(process_gone(daemon));
}

TEST_P(ExecutorTest, LeftoverProcessesAreKilledWhenTheCommandExits) {
    // A background job holding stdout open, and a setsid daemon that ignores SIGTERM.
    auto spec = shell(
        "sleep 300 & echo $! > pid1; "
        "setsid sh -c 'trap \"\" TERM; echo $$ > pid2; while :; do sleep 1; done' & "
        "while [ ! -s pid2 ]; do sleep 0.01; done; exit 3",
        dir_.path());
    spec.grace = 300ms;
    auto result = run(executor_, spec);
    EXPECT_EQ(result.outcome.exit_code, 3);
    EXPECT_FALSE(result.outcome.timed_out);
    pid_t job = read_pid(dir_ / "pid1");
    pid_t daemon = read_pid(dir_ / "pid2");
    ASSERT_GT(job, 0);
    ASSERT_GT(daemon, 0);
    EXPECT_TRUE(process_gone(job));
    EXPECT_TRUE(process_gone(daemon));
    EXPECT_LT(result.outcome.duration, 5000ms);
}

TEST_P(ExecutorTest, EnvironmentIsExactlyTheGivenOne) {
    ::setenv("SLUICE_TEST_SECRET", "leaked", 1);
    ProcessSpec spec;
    spec.argv = {"env"};
    spec.env = {{"PATH", "/usr/bin:/bin"}, {"FOO", "bar baz"}, {"EMPTY", ""}, {"FOO", "last"}};
    spec.cwd = dir_.path();
    auto result = run(executor_, spec);
    ::unsetenv("SLUICE_TEST_SECRET");
    EXPECT_EQ(result.outcome.exit_code, 0) << result.err;
    std::vector<std::string> lines;
    std::istringstream in(result.out);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::sort(lines.begin(), lines.end());
    EXPECT_EQ(lines, (std::vector<std::string>{"EMPTY=", "FOO=last", "PATH=/usr/bin:/bin"}));
    EXPECT_EQ(result.out.find("SLUICE_TEST_SECRET"), std::string::npos);
}

TEST_P(ExecutorTest, CommandIsFoundInThePathOfTheStageEnvironment) {
    auto tool = dir_.write("tools/sluice-test-hello", "#!/bin/sh\necho hello from $0\n");
    std::filesystem::permissions(tool, std::filesystem::perms::owner_all);
    ProcessSpec spec;
    spec.argv = {"sluice-test-hello"};
    spec.env = {{"PATH", (dir_ / "tools").string() + ":/usr/bin:/bin"}};
    auto result = run(executor_, spec);
    EXPECT_EQ(result.outcome.exit_code, 0) << result.outcome.message << result.err;
    EXPECT_EQ(result.out, "hello from " + tool.string() + "\n");
}

TEST_P(ExecutorTest, RunsInTheGivenDirectory) {
    ProcessSpec spec;
    spec.argv = {"pwd"};
    spec.env = base_env();
    spec.cwd = dir_.path();
    auto result = run(executor_, spec);
    EXPECT_EQ(result.out, dir_.path().string() + "\n");
}

TEST_P(ExecutorTest, EmptyOrRelativeDirectoryIsTheRunners) {
    ProcessSpec spec;
    spec.argv = {"pwd", "-P"};
    spec.env = base_env();
    auto here = run(executor_, spec);
    EXPECT_EQ(here.out,
              std::filesystem::canonical(std::filesystem::current_path()).string() + "\n");
    std::filesystem::create_directories(dir_ / "sub");
    spec.cwd = std::filesystem::relative(dir_ / "sub", std::filesystem::current_path());
    ASSERT_TRUE(spec.cwd.is_relative());
    auto sub = run(executor_, spec);
    EXPECT_EQ(sub.out, std::filesystem::canonical(dir_ / "sub").string() + "\n");
}

TEST_P(ExecutorTest, MissingDirectoryIsAStartFailure) {
    auto result = run(executor_, shell("true", dir_ / "no-such-dir"));
    EXPECT_TRUE(result.outcome.start_failed);
    EXPECT_FALSE(result.outcome.ok());
    EXPECT_NE(result.outcome.message.find("no-such-dir"), std::string::npos)
        << result.outcome.message;
}

TEST_P(ExecutorTest, CommandNotFoundIsAStartFailureWith127) {
    ProcessSpec spec;
    spec.argv = {"sluice-no-such-command", "arg"};
    spec.env = base_env();
    auto result = run(executor_, spec);
    EXPECT_TRUE(result.outcome.start_failed);
    EXPECT_EQ(result.outcome.exit_code, 127);
    EXPECT_NE(result.outcome.message.find("command not found: sluice-no-such-command"),
              std::string::npos)
        << result.outcome.message;
    EXPECT_NE(result.err.find("sluice-no-such-command: command not found"), std::string::npos)
        << result.err;
}

TEST_P(ExecutorTest, NonExecutableFileIsAStartFailureWith126) {
    auto file = dir_.write("not-executable", "echo hi\n");
    ProcessSpec spec;
    spec.argv = {file.string()};
    spec.env = base_env();
    auto result = run(executor_, spec);
    EXPECT_TRUE(result.outcome.start_failed);
    EXPECT_EQ(result.outcome.exit_code, 126);
    EXPECT_NE(result.outcome.message.find("Permission denied"), std::string::npos);
}

TEST_P(ExecutorTest, MissingShimIsAStartFailureWithoutException) {
    Executor broken(dir_ / "no-such-shim", options());
    ProcessSpec spec = shell("true", dir_.path());
    bool returned_at_once = true;
    int exits = 0;
    ProcessOutcome outcome;
    broken.start(spec, nullptr, [&](ProcessId, const ProcessOutcome& o) {
        outcome = o;
        ++exits;
    });
    returned_at_once = exits == 0;  // delivered from the loop, not from inside start()
    EXPECT_EQ(broken.running(), 1u);
    broken.wait_until(Clock::now() + 5s);
    EXPECT_TRUE(returned_at_once);
    EXPECT_EQ(exits, 1);
    EXPECT_TRUE(outcome.start_failed);
    EXPECT_NE(outcome.message.find("no-such-shim"), std::string::npos) << outcome.message;
    EXPECT_EQ(broken.running(), 0u);
    // Boost.Process leaves the forked child of a failed exec unreaped; we must not.
    int status = 0;
    EXPECT_LE(::waitpid(-1, &status, WNOHANG), 0);
}

TEST_P(ExecutorTest, EmptyCommandIsAStartFailure) {
    ProcessSpec spec;
    spec.env = base_env();
    auto result = run(executor_, spec);
    EXPECT_TRUE(result.outcome.start_failed);
}

TEST_P(ExecutorTest, StdinIsEmpty) {
    ProcessSpec spec;
    spec.argv = {"cat"};
    spec.env = base_env();
    auto result = run(executor_, spec, 5s);
    EXPECT_EQ(result.outcome.exit_code, 0);
    EXPECT_EQ(result.out, "");
}

TEST_P(ExecutorTest, NoRunnerDescriptorLeaksIntoTheStage) {
    int leaky = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC on purpose
    ASSERT_GE(leaky, 0);
    ProcessSpec spec;
    spec.argv = {"ls", "/proc/self/fd"};
    spec.env = base_env();
    auto result = run(executor_, spec);
    ::close(leaky);
    // 0-2, and 3 is ls's own handle on the directory.
    EXPECT_EQ(result.out, "0\n1\n2\n3\n");
}

TEST_P(ExecutorTest, StageStartsWithDefaultSignalHandling) {
    auto previous = ::signal(SIGPIPE, SIG_IGN);
    auto result = run(executor_, shell("grep -E '^Sig(Ign|Blk)' /proc/self/status", dir_.path()));
    ::signal(SIGPIPE, previous);
    EXPECT_EQ(result.out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

// The "se.slice" line of a /proc/.../sched file (the EEVDF slice, ns); 0 when there is none.
long slice_in(const std::string& sched_text) {
    auto at = sched_text.find("se.slice");
    if (at == std::string::npos) return 0;
    auto colon = sched_text.find(':', at);
    return colon == std::string::npos ? 0 : std::atol(sched_text.c_str() + colon + 1);
}

// Short scheduler slices are for sluice's own processes (the loop's thread, the lanes); a
// command runs with the default one.
TEST_P(ExecutorTest, CommandsRunWithTheDefaultSchedulerSlice) {
    long own = slice_in(sluice::testing::read_file("/proc/thread-self/sched"));
    if (own != 100'000) GTEST_SKIP() << "no custom scheduler slices here (Linux 6.12+)";
    auto result = run(executor_, shell("grep '^se.slice' /proc/$$/sched", dir_.path()));
    EXPECT_EQ(result.outcome.exit_code, 0) << result.outcome.message << result.err;
    EXPECT_GT(slice_in(result.out), own) << result.out;
}

TEST_P(ExecutorTest, HundredMegabytesOfOutputArriveWholeThroughTheLog) {
    if (!fork_server()) GTEST_SKIP() << "output is read the same way in both modes";
    // Each stream's bytes are copied to a file by tee as they are produced, so the file is the
    // reference the log must reproduce byte for byte, unterminated last line included.
    auto spec = shell(
        "( head -c 37500000 /dev/urandom | base64 | tee out.txt; printf 'no newline' | tee -a "
        "out.txt ) & "
        "( head -c 37500000 /dev/urandom | base64 | tee err.txt >&2; printf 'cr\\r\\000end' | "
        "tee -a err.txt >&2 ) & wait",
        dir_.path());
    auto log = LogWriter::open(dir_ / "stage.log", false);
    ASSERT_TRUE(log.has_value());
    int exits = 0;
    bool log_ok = true;
    std::size_t delivered = 0;
    std::size_t delivered_at_exit = 0;
    ProcessOutcome outcome;
    const auto started = Clock::now();
    executor_.start(
        spec,
        [&](Stream stream, std::string_view data) {
            delivered += data.size();
            log_ok = log_ok && log->write(stream, data).has_value();
        },
        [&](ProcessId, const ProcessOutcome& o) {
            outcome = o;
            delivered_at_exit = delivered;
            ++exits;
        });
    const auto deadline = Clock::now() + 60s;
    while (exits == 0 && Clock::now() < deadline) executor_.wait_until(deadline);
    ASSERT_EQ(exits, 1);
    ASSERT_TRUE(log->close().has_value());
    const auto took = Clock::now() - started;
    EXPECT_TRUE(log_ok);
    EXPECT_EQ(outcome.exit_code, 0) << outcome.message;

    std::string out_reference = sluice::testing::read_file(dir_ / "out.txt");
    std::string err_reference = sluice::testing::read_file(dir_ / "err.txt");
    EXPECT_GT(out_reference.size() + err_reference.size(), 100'000'000u);
    EXPECT_EQ(delivered_at_exit, out_reference.size() + err_reference.size());

    LogReadOptions only_out;
    only_out.stream = Stream::out;
    LogReadOptions only_err;
    only_err.stream = Stream::err;
    auto out = read_log(dir_ / "stage.log", only_out);
    auto err = read_log(dir_ / "stage.log", only_err);
    ASSERT_TRUE(out.has_value());
    ASSERT_TRUE(err.has_value());
    EXPECT_EQ(out->size(), out_reference.size());
    EXPECT_EQ(err->size(), err_reference.size());
    EXPECT_TRUE(*out == out_reference);
    EXPECT_TRUE(*err == err_reference);
    std::cout << "100 MB through executor and log: "
              << std::chrono::duration_cast<Millis>(took).count() << " ms\n";
}

TEST_P(ExecutorTest, ManyProcessesInParallelAreEachReportedOnce) {
    constexpr int k_total = 200;
    constexpr std::size_t k_parallel = 8;
    std::map<ProcessId, int> expected;  // id -> exit code
    std::map<ProcessId, int> reported;
    std::map<ProcessId, int> exits;
    int started = 0;
    std::size_t most_running = 0;
    const auto deadline = Clock::now() + 60s;
    while ((started < k_total || executor_.running() > 0) && Clock::now() < deadline) {
        while (started < k_total && executor_.running() < k_parallel) {
            int code = started % 7;
            ProcessSpec spec;
            spec.argv = {"/bin/sh", "-c", "exit " + std::to_string(code)};
            spec.env = base_env();
            ProcessId id =
                executor_.start(spec, nullptr, [&](ProcessId done, const ProcessOutcome& o) {
                    reported[done] = o.exit_code;
                    ++exits[done];
                });
            EXPECT_TRUE(expected.emplace(id, code).second) << "id reused: " << id;
            ++started;
            most_running = std::max(most_running, executor_.running());
        }
        executor_.wait_until(deadline);
    }
    EXPECT_EQ(started, k_total);
    EXPECT_EQ(most_running, k_parallel);
    EXPECT_EQ(reported, expected);
    for (const auto& [id, count] : exits) EXPECT_EQ(count, 1) << "id " << id;
}

TEST_P(ExecutorTest, RecordsPeakMemoryOfTheTree) {
    // A grandchild (perl under sh) builds a 110 MB string: the peak must reach the report.
    auto result = run(
        executor_,
        shell("perl -e '$x = \"x\" x 110_000_000; print length($x), \"\\n\"'; true", dir_.path()));
    EXPECT_EQ(result.outcome.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "110000000\n");
    EXPECT_GE(result.outcome.max_rss_kb, 100000);
    EXPECT_GT(result.outcome.user_seconds + result.outcome.system_seconds, 0.0);
}

TEST_P(ExecutorTest, CancelEndsTheProcessTree) {
    auto spec = shell("sleep 300 & echo $! > pidfile; wait", dir_.path());
    spec.grace = 300ms;
    int exits = 0;
    ProcessOutcome outcome;
    ProcessId id = executor_.start(spec, nullptr, [&](ProcessId, const ProcessOutcome& o) {
        outcome = o;
        ++exits;
    });
    pid_t job = wait_for_pid(executor_, dir_ / "pidfile");
    ASSERT_GT(job, 0);
    executor_.cancel(id);
    executor_.cancel(id);       // twice is harmless
    executor_.cancel(id + 99);  // unknown ids are ignored
    const auto deadline = Clock::now() + 10s;
    while (exits == 0 && Clock::now() < deadline) executor_.wait_until(deadline);
    ASSERT_EQ(exits, 1);
    EXPECT_TRUE(outcome.cancelled);
    EXPECT_FALSE(outcome.timed_out);
    EXPECT_FALSE(outcome.ok());
    EXPECT_EQ(outcome.signal, SIGTERM);
    EXPECT_TRUE(process_gone(job));
}

TEST_P(ExecutorTest, CancelKillsWhatIgnoresSigtermAfterTheGrace) {
    auto spec = shell("trap '' TERM; echo $$ > pidfile; while :; do sleep 1; done", dir_.path());
    spec.grace = 200ms;
    int exits = 0;
    ProcessOutcome outcome;
    ProcessId id = executor_.start(spec, nullptr, [&](ProcessId, const ProcessOutcome& o) {
        outcome = o;
        ++exits;
    });
    pid_t command = wait_for_pid(executor_, dir_ / "pidfile");
    ASSERT_GT(command, 0);
    executor_.cancel(id);
    const auto deadline = Clock::now() + 10s;
    while (exits == 0 && Clock::now() < deadline) executor_.wait_until(deadline);
    ASSERT_EQ(exits, 1);
    EXPECT_TRUE(outcome.cancelled);
    EXPECT_EQ(outcome.signal, SIGKILL);
    EXPECT_GE(outcome.duration, spec.grace);
    EXPECT_TRUE(process_gone(command));
}

TEST_P(ExecutorTest, AStuckShimIsKilledWithItsGroupAsALastResort) {
    ExecutorOptions options = this->options();
    options.kill_margin = 200ms;
    Executor executor(shim_path(), options);
    auto spec = shell("echo $$ > pidfile; exec sleep 300", dir_.path());
    spec.grace = 100ms;
    int exits = 0;
    ProcessOutcome outcome;
    ProcessId id = executor.start(spec, nullptr, [&](ProcessId, const ProcessOutcome& o) {
        outcome = o;
        ++exits;
    });
    pid_t command = wait_for_pid(executor, dir_ / "pidfile");
    ASSERT_GT(command, 0);
    pid_t shim = parent_of(command);
    ASSERT_GT(shim, 1);
    ::kill(shim, SIGSTOP);  // a shim that cannot act on SIGTERM
    executor.cancel(id);
    const auto deadline = Clock::now() + 10s;
    while (exits == 0 && Clock::now() < deadline) executor.wait_until(deadline);
    ASSERT_EQ(exits, 1);
    EXPECT_TRUE(outcome.cancelled);
    EXPECT_EQ(outcome.signal, SIGKILL);
    EXPECT_NE(outcome.message.find("shim"), std::string::npos) << outcome.message;
    EXPECT_TRUE(wait_dead(command, 5s));
}

TEST_P(ExecutorTest, DestroyingTheExecutorEndsWhatStillRuns) {
    pid_t command = 0;
    {
        Executor executor(shim_path(), options());
        auto spec = shell("echo $$ > pidfile; exec sleep 300", dir_.path());
        spec.grace = 200ms;
        executor.start(spec, nullptr, nullptr);
        command = wait_for_pid(executor, dir_ / "pidfile");
        ASSERT_GT(command, 0);
    }
    EXPECT_TRUE(process_gone(command));
}

TEST_P(ExecutorTest, StagesDieWithARunnerKilledBySigkill) {
    pid_t runner = ::fork();
    ASSERT_GE(runner, 0);
    if (runner == 0) {
        // The "runner": starts a stage and loops until it is killed (status files inside the
        // test's directory, since nobody is left to remove them).
        ExecutorOptions options = this->options();
        options.status_dir = dir_ / "status";
        Executor executor(shim_path(), options);
        auto spec = shell("echo $$ > pidfile; exec sleep 300", dir_.path());
        spec.grace = 200ms;
        executor.start(spec, nullptr, nullptr);
        for (;;) executor.wait_until(Clock::now() + 1s);
    }
    pid_t command = 0;
    const auto deadline = Clock::now() + 10s;
    while (command <= 0 && Clock::now() < deadline) {
        command = read_pid(dir_ / "pidfile");
        if (command <= 0) std::this_thread::sleep_for(5ms);
    }
    ::kill(runner, SIGKILL);
    int status = 0;
    ::waitpid(runner, &status, 0);
    ASSERT_GT(command, 0);
    EXPECT_TRUE(wait_dead(command, 5s));
}

TEST_P(ExecutorTest, SigintToTheRunnerRequestsAStop) {
    EXPECT_FALSE(executor_.stop_requested());
    auto spec = shell("sleep 300", dir_.path());
    spec.grace = 200ms;
    int exits = 0;
    executor_.start(spec, nullptr, [&](ProcessId, const ProcessOutcome&) { ++exits; });
    ::raise(SIGINT);
    const auto before = Clock::now();
    executor_.wait_until(before + 10s);
    EXPECT_TRUE(executor_.stop_requested());
    EXPECT_LT(Clock::now() - before, 5s);
    EXPECT_EQ(exits, 0);  // the stage keeps running until the engine cancels it
    executor_.cancel_all();
    const auto deadline = Clock::now() + 10s;
    while (exits == 0 && Clock::now() < deadline) executor_.wait_until(deadline);
    EXPECT_EQ(exits, 1);
}

TEST_P(ExecutorTest, WaitUntilReturnsWhenIdle) {
    const auto before = Clock::now();
    executor_.wait_until(std::nullopt);
    EXPECT_LT(Clock::now() - before, 100ms);
    executor_.wait_until(Clock::now() + 50ms);
    EXPECT_GE(Clock::now() - before, 50ms);
}

TEST_P(ExecutorTest, HandlersMayStartTheNextProcess) {
    std::vector<int> codes;
    std::function<void(int)> start_next = [&](int code) {
        executor_.start(shell("exit " + std::to_string(code), dir_.path()), nullptr,
                        [&, code](ProcessId, const ProcessOutcome& o) {
                            codes.push_back(o.exit_code);
                            if (code < 3) start_next(code + 1);
                        });
    };
    start_next(0);
    const auto deadline = Clock::now() + 10s;
    while (executor_.running() > 0 && Clock::now() < deadline) executor_.wait_until(deadline);
    EXPECT_EQ(codes, (std::vector<int>{0, 1, 2, 3}));
}

TEST_P(ExecutorTest, HugeEnvironmentsStillRun) {
    // More than the fork server takes in one request: such a stage gets a shim of its own.
    ProcessSpec spec = shell("echo $V0 | wc -c; echo $V149 | wc -c", dir_.path());
    for (int i = 0; i < 150; ++i)
        spec.env.emplace_back("V" + std::to_string(i), std::string(8000, 'v'));
    auto result = run(executor_, spec);
    EXPECT_EQ(result.outcome.exit_code, 0) << result.outcome.message << result.err;
    EXPECT_EQ(result.out, "8001\n8001\n");
}

// A stage that sleeps for 300 s, started on `executor`: its command's pid (once it wrote
// it), and its outcome once it ends.
struct Sleeper {
    pid_t command = -1;
    int exits = 0;
    ProcessOutcome outcome;
};

void start_sleeper(Executor& executor, const TempDir& dir, Sleeper& sleeper) {
    auto spec = shell("echo $$ > pidfile; exec sleep 300", dir.path());
    spec.grace = 200ms;
    executor.start(spec, nullptr, [&sleeper](ProcessId, const ProcessOutcome& o) {
        sleeper.outcome = o;
        ++sleeper.exits;
    });
    sleeper.command = wait_for_pid(executor, dir / "pidfile");
}

// Waits (at most 10 s) for the sleeper's stage to end, then checks that a next stage runs.
void expect_end_and_next_stage_runs(Executor& executor, const TempDir& dir, Sleeper& sleeper) {
    const auto deadline = Clock::now() + 10s;
    while (sleeper.exits == 0 && Clock::now() < deadline) executor.wait_until(deadline);
    ASSERT_EQ(sleeper.exits, 1);
    EXPECT_FALSE(sleeper.outcome.ok());
    auto next = run(executor, shell("echo still here", dir.path()));
    EXPECT_EQ(next.out, "still here\n");
    EXPECT_EQ(next.outcome.exit_code, 0) << next.outcome.message;
}

TEST(ForkServerTest, StagesEndAndLaterOnesStillRunWhenTheServerDies) {
    TempDir dir;
    Executor executor(shim_path());
    Sleeper sleeper;
    start_sleeper(executor, dir, sleeper);
    ASSERT_GT(sleeper.command, 0);
    pid_t stage_shim = parent_of(sleeper.command);
    pid_t server = parent_of(stage_shim);
    ASSERT_GT(server, 1);
    ASSERT_NE(server, ::getpid());  // the stage really went through the server
    ::kill(server, SIGKILL);
    // The next stage takes the classic way.
    expect_end_and_next_stage_runs(executor, dir, sleeper);
    EXPECT_EQ(sleeper.outcome.signal, SIGTERM) << sleeper.outcome.message;
    EXPECT_TRUE(process_gone(sleeper.command));
}

// Lanes (shim_protocol.hpp): stages run one after another in a long-lived process, which must
// not carry anything of one stage over to the next.
TEST(LaneTest, ConsecutiveStagesShareALaneButNothingElse) {
    TempDir dir;
    std::filesystem::create_directories(dir / "sub");
    Executor executor(shim_path());
    auto first =
        shell("echo $PPID; cut -d' ' -f5 /proc/$$/stat; echo $$; pwd; echo ${SLUICE_A-unset}",
              dir / "sub");
    first.env.emplace_back("SLUICE_A", "1");
    auto a = run(executor, first);
    auto b = run(executor, shell("echo $PPID; cut -d' ' -f5 /proc/$$/stat; echo $$; pwd; "
                                 "echo ${SLUICE_A-unset}",
                                 dir.path()));
    ASSERT_EQ(a.outcome.exit_code, 0) << a.outcome.message << a.err;
    ASSERT_EQ(b.outcome.exit_code, 0) << b.outcome.message << b.err;
    std::istringstream a_lines(a.out);
    std::istringstream b_lines(b.out);
    std::string a_lane, a_group, a_pid, a_dir, a_var, b_lane, b_group, b_pid, b_dir, b_var;
    a_lines >> a_lane >> a_group >> a_pid >> a_dir >> a_var;
    b_lines >> b_lane >> b_group >> b_pid >> b_dir >> b_var;
    EXPECT_EQ(a_lane, b_lane) << "the second stage did not reuse the lane";
    EXPECT_NE(std::atoi(a_lane.c_str()), ::getpid());
    // Each command leads a process group of its own.
    EXPECT_EQ(a_group, a_pid);
    EXPECT_EQ(b_group, b_pid);
    EXPECT_EQ(a_dir, (dir / "sub").string());
    EXPECT_EQ(b_dir, dir.path().string());
    EXPECT_EQ(a_var, "1");
    EXPECT_EQ(b_var, "unset");
}

TEST(LaneTest, UsageIsPerStage) {
    TempDir dir;
    Executor executor(shim_path());
    auto big = run(executor, shell("perl -e '$x = \"x\" x 110_000_000; $y = 0; "
                                   "$y++ for 1..3_000_000'; echo $PPID",
                                   dir.path()));
    auto small = run(executor, shell("echo $PPID", dir.path()));
    ASSERT_EQ(big.outcome.exit_code, 0) << big.err;
    ASSERT_EQ(small.outcome.exit_code, 0) << small.err;
    EXPECT_EQ(big.out, small.out) << "the second stage did not reuse the lane";
    EXPECT_GE(big.outcome.max_rss_kb, 100000);
    EXPECT_GT(small.outcome.max_rss_kb, 0);
    EXPECT_LT(small.outcome.max_rss_kb, 50000);
    EXPECT_LT(small.outcome.user_seconds + small.outcome.system_seconds,
              big.outcome.user_seconds + big.outcome.system_seconds);
}

TEST(LaneTest, ALaneKilledMidStageFailsOnlyThatStage) {
    TempDir dir;
    Executor executor(shim_path());
    Sleeper sleeper;
    start_sleeper(executor, dir, sleeper);
    ASSERT_GT(sleeper.command, 0);
    pid_t lane = parent_of(sleeper.command);
    ASSERT_GT(lane, 1);
    ASSERT_NE(lane, ::getpid());
    ::kill(lane, SIGKILL);
    expect_end_and_next_stage_runs(executor, dir, sleeper);
    EXPECT_NE(sleeper.outcome.message.find("shim"), std::string::npos) << sleeper.outcome.message;
    EXPECT_TRUE(wait_dead(sleeper.command, 5s));
}

TEST(ShimStatusTest, ParsesCompleteFilesOnly) {
    auto status = parse_shim_status(
        "sluice-shim-status 1\nsignal 9\nterminated_by 15\nmax_rss_kb 1234\nuser_us 5\n"
        "system_us 6\nfuture_key 1\nend\n");
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->signal, 9);
    EXPECT_FALSE(status->exit_code.has_value());
    EXPECT_EQ(status->terminated_by, 15);
    EXPECT_EQ(status->max_rss_kb, 1234);
    EXPECT_EQ(status->user_us, 5);
    EXPECT_EQ(status->system_us, 6);
    EXPECT_FALSE(parse_shim_status("sluice-shim-status 1\nexit 0\n").has_value());
    EXPECT_FALSE(parse_shim_status("something else\nend\n").has_value());
    EXPECT_FALSE(parse_shim_status("").has_value());
}

TEST(ShimLocationTest, EnvironmentOverrideWins) {
    TempDir dir;
    auto fake = dir.write("my-shim", "#!/bin/sh\n");
    std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
    ::setenv("SLUICE_SHIM", fake.c_str(), 1);
    auto found = find_shim();
    ::setenv("SLUICE_SHIM", (dir / "missing").c_str(), 1);
    auto missing = find_shim();
    ::unsetenv("SLUICE_SHIM");
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(*found, fake);
    EXPECT_FALSE(missing.has_value());
    // Without the override: next to the running executable (the test binary, in the build dir).
    auto beside = find_shim();
    ASSERT_TRUE(beside.has_value()) << beside.error().message;
    EXPECT_EQ(beside->filename(), "sluice-shim");
}

}  // namespace
}  // namespace sluice::exec
