// Crash safety of the run store: a child process writes stage records in a loop and
// reports each committed write through a pipe; the test SIGKILLs it mid-way and checks
// that every reported write survived and that the run is then marked `interrupted`.
// The child opens its own connection after fork (SQLite handles must not cross a fork),
// and the parent opens the database only once the child is dead.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <optional>

#include "runner/store/store.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice::store {
namespace {

constexpr int k_stages = 2000;  // more than any kill point, so the child never runs out

std::string stage_name(std::int64_t i) { return "stage-" + std::to_string(i); }

bool write_all(int fd, const void* data, std::size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

// Reads one 8-byte record; empty at end of file. Gives up (empty) after 60 s of
// silence, a guard against a hung child, not a timing assumption.
std::optional<std::int64_t> read_record(int fd) {
    std::int64_t value = 0;
    char* p = reinterpret_cast<char*>(&value);
    std::size_t got = 0;
    while (got < sizeof value) {
        pollfd pfd{fd, POLLIN, 0};
        int ready = ::poll(&pfd, 1, 60'000);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return std::nullopt;
        ssize_t n = ::read(fd, p + got, sizeof value - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return std::nullopt;
        got += static_cast<std::size_t>(n);
    }
    return value;
}

// The child: creates a run, then writes seq = 0, 1, 2, ... as the engine does, three
// per stage (stage = seq / 3): seq % 3 == 0 starts it, 1 finishes it with outputs
// {"seq": seq}, 2 adds its event with data {"seq": seq}. After a write commits, its seq
// goes to the pipe. With `pause_after` >= 0 it stops after that write and waits to be
// killed (so a stage is known to be running at the kill).
[[noreturn]] void child_main(const std::filesystem::path& db, int out, std::int64_t pause_after) {
    auto store = Store::open(db);
    if (!store) ::_exit(2);
    NewRun run;
    run.pipeline = "crash";
    for (int i = 0; i < k_stages; ++i) run.stages.push_back(stage_name(i));
    auto id = store->create_run(run);
    if (!id) ::_exit(3);
    std::int64_t run_id = *id;
    if (!write_all(out, &run_id, sizeof run_id)) ::_exit(4);
    for (std::int64_t seq = 0; seq < 3 * k_stages; ++seq) {
        auto stage = stage_name(seq / 3);
        Status done;
        if (seq % 3 == 0) {
            done = store->start_stage(*id, stage, "logs/" + stage + ".log");
        } else if (seq % 3 == 2) {
            done = store->add_event(*id, stage, "stage_finished", {{"seq", seq}});
        } else {
            StageFinish finish;
            finish.status = "passed";
            finish.exit_code = 0;
            finish.duration_ms = seq;
            finish.outputs = {{"seq", seq}};
            done = store->finish_stage(*id, stage, finish);
        }
        if (!done) ::_exit(5);
        if (!write_all(out, &seq, sizeof seq)) ::_exit(6);
        if (seq == pause_after) {
            while (true) ::pause();  // until the parent's SIGKILL
        }
    }
    ::_exit(0);
}

struct CrashResult {
    pid_t pid = 0;
    RunId run_id = 0;
    std::int64_t last_reported = -1;
};

// Runs the child and kills it once it has reported `kill_after` (or pauses there).
CrashResult crash_child(const std::filesystem::path& db, std::int64_t kill_after, bool pause) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    CrashResult result;
    result.pid = ::fork();
    if (result.pid == 0) {
        ::close(fds[0]);
        child_main(db, fds[1], pause ? kill_after : -1);
    }
    ::close(fds[1]);

    auto run_id = read_record(fds[0]);
    EXPECT_TRUE(run_id.has_value()) << "the child did not create its run";
    result.run_id = run_id.value_or(0);
    while (auto seq = read_record(fds[0])) {
        result.last_reported = *seq;
        if (*seq == kill_after) break;
    }
    EXPECT_EQ(result.last_reported, kill_after) << "the child stopped early";
    ::kill(result.pid, SIGKILL);
    // Whatever else it reported before dying is in the pipe: read to end of file.
    while (auto seq = read_record(fds[0])) {
        EXPECT_EQ(*seq, result.last_reported + 1);
        result.last_reported = *seq;
    }
    ::close(fds[0]);
    return result;
}

// Every reported write is in the database; nothing past the one possibly in flight.
void expect_reported_writes_present(Store& store, const CrashResult& crash) {
    auto stages = store.stages(crash.run_id);
    ASSERT_TRUE(stages) << stages.error().message;
    ASSERT_EQ(stages->size(), static_cast<std::size_t>(k_stages));
    for (std::int64_t i = 0; i < k_stages; ++i) {
        const auto& stage = (*stages)[static_cast<std::size_t>(i)];
        std::int64_t start_seq = 3 * i;
        std::int64_t finish_seq = 3 * i + 1;
        if (finish_seq <= crash.last_reported) {
            ASSERT_EQ(stage.status, "passed") << stage.stage;
            ASSERT_EQ(stage.outputs["seq"], finish_seq) << stage.stage;
            ASSERT_EQ(stage.attempts, 1) << stage.stage;
        } else if (start_seq <= crash.last_reported) {
            // Started for sure; finished only if the in-flight write made it.
            ASSERT_EQ(stage.attempts, 1) << stage.stage;
            ASSERT_TRUE(stage.status == "running" || stage.status == "passed") << stage.stage;
        } else if (start_seq > crash.last_reported + 1) {
            ASSERT_EQ(stage.status, "pending") << stage.stage;
        }
    }
    // Every reported event, in order; at most the one in flight after them.
    auto events = store.events(crash.run_id);
    ASSERT_TRUE(events) << events.error().message;
    std::vector<std::int64_t> seqs;
    for (const auto& e : *events) {
        if (e.type == "stage_finished") seqs.push_back(e.data["seq"].get<std::int64_t>());
    }
    std::size_t reported = static_cast<std::size_t>((crash.last_reported + 1) / 3);
    ASSERT_GE(seqs.size(), reported);
    ASSERT_LE(seqs.size(), reported + 1);
    for (std::size_t k = 0; k < seqs.size(); ++k) {
        ASSERT_EQ(seqs[k], static_cast<std::int64_t>(3 * k + 2));
    }
}

TEST(StoreCrash, KilledWriterLosesNothingItReportedAndIsMarkedInterrupted) {
    testing::TempDir dir;
    auto db = dir / "state/runs.db";
    constexpr std::int64_t k_kill_after = 451;  // mid-run, writes still flowing
    auto crash = crash_child(db, k_kill_after, /*pause=*/false);

    // Zombie, not yet reaped: already not a live owner.
    siginfo_t info{};
    ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(crash.pid), &info, WEXITED | WNOWAIT), 0);
    ASSERT_EQ(info.si_status, SIGKILL);

    auto store = Store::open(db);
    ASSERT_TRUE(store) << store.error().message;
    EXPECT_EQ(store->owner_alive(crash.run_id), false);
    ::waitpid(crash.pid, nullptr, 0);

    expect_reported_writes_present(*store, crash);

    // A run of this (live) process must be left alone.
    NewRun mine;
    mine.pipeline = "live";
    mine.stages = {"a"};
    auto live = store->create_run(mine);
    ASSERT_TRUE(live);
    ASSERT_TRUE(store->start_stage(*live, "a", ""));

    auto marked = store->mark_interrupted();
    ASSERT_TRUE(marked) << marked.error().message;
    EXPECT_EQ(*marked, std::vector<RunId>{crash.run_id});
    auto run = store->find_run(crash.run_id);
    EXPECT_EQ((*run)->status, "interrupted");
    EXPECT_EQ((*run)->reason, "runner process " + std::to_string(crash.pid) + " is gone");
    auto stages = store->stages(crash.run_id);
    for (const auto& stage : *stages) EXPECT_NE(stage.status, "running") << stage.stage;
    EXPECT_EQ((*store->find_run(*live))->status, "running");
    EXPECT_EQ((*store->find_stage(*live, "a"))->status, "running");
    EXPECT_EQ(store->owner_alive(*live), true);
}

TEST(StoreCrash, StageRunningAtTheKillIsInterrupted) {
    testing::TempDir dir;
    auto db = dir / "runs.db";
    constexpr std::int64_t k_kill_after = 39;  // 39 % 3 == 0: stage-13 has just started
    auto crash = crash_child(db, k_kill_after, /*pause=*/true);
    ::waitpid(crash.pid, nullptr, 0);
    EXPECT_EQ(crash.last_reported, k_kill_after);

    auto store = Store::open(db);
    ASSERT_TRUE(store) << store.error().message;
    expect_reported_writes_present(*store, crash);
    auto running = store->find_stage(crash.run_id, stage_name(13));
    ASSERT_TRUE(running && running->has_value());
    EXPECT_EQ((*running)->status, "running");

    auto marked = store->mark_interrupted();
    ASSERT_TRUE(marked);
    EXPECT_EQ(*marked, std::vector<RunId>{crash.run_id});
    auto stage = store->find_stage(crash.run_id, stage_name(13));
    EXPECT_EQ((*stage)->status, "interrupted");
    EXPECT_EQ((*stage)->reason, "runner process " + std::to_string(crash.pid) + " is gone");
    EXPECT_EQ((*store->find_stage(crash.run_id, stage_name(12)))->status, "passed");
    EXPECT_EQ((*store->find_stage(crash.run_id, stage_name(14)))->status, "pending");
    auto events = store->events(crash.run_id);
    ASSERT_GE(events->size(), 2u);
    EXPECT_EQ((*events)[events->size() - 2].type, "stage_interrupted");
    EXPECT_EQ((*events)[events->size() - 2].stage, stage_name(13));
    EXPECT_EQ(events->back().type, "run_interrupted");
}

// Repeated kills at different points, each reopening the same file (WAL recovery
// after a crash, again and again).
TEST(StoreCrash, RepeatedKillsOnOneFile) {
    testing::TempDir dir;
    auto db = dir / "runs.db";
    for (std::int64_t kill_after : {0, 1, 17, 150, 999}) {
        auto crash = crash_child(db, kill_after, /*pause=*/false);
        ::waitpid(crash.pid, nullptr, 0);
        auto store = Store::open(db);
        ASSERT_TRUE(store) << store.error().message;
        expect_reported_writes_present(*store, crash);
        auto marked = store->mark_interrupted();
        ASSERT_TRUE(marked);
        EXPECT_EQ(*marked, std::vector<RunId>{crash.run_id}) << "kill after " << kill_after;
    }
}

}  // namespace
}  // namespace sluice::store
