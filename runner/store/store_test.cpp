// Run store tests against real SQLite files: runs, stage lifecycles, events, reopening,
// schema versions, owners and liveness, and several connections writing at once.
#include "runner/store/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <map>
#include <thread>

#include "runner/store/process_identity.hpp"
#include "runner/store/schema.hpp"
#include "runner/testing/fake_clock.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice::store {
namespace {

using namespace std::chrono_literals;

NewRun sample_run(std::vector<std::string> stages = {"unit-tests", "train", "f1-gate"}) {
    NewRun run;
    run.pipeline = "churn-model";
    run.file = "sluice.yml";
    run.yaml = "name: churn-model\n";
    run.workdir = "/tmp/ws";
    run.trigger = "hook";
    run.event = "push";
    run.branch = "main";
    run.commit = "0123456789abcdef0123456789abcdef01234567";
    run.options = {{"jobs", 4}, {"only", {"train"}}};
    run.stages = std::move(stages);
    return run;
}

Store open_store(const std::filesystem::path& path, const StoreOptions& options = {}) {
    auto store = Store::open(path, options);
    if (!store) ADD_FAILURE() << store.error().message;
    return std::move(*store);
}

// Raw SQL on the file, as another program (or an older/newer sluice) would do it.
void raw_sql(const std::filesystem::path& path, const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char* message = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
    std::string text = message != nullptr ? message : "";
    sqlite3_free(message);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << text;
}

std::string raw_text(const std::filesystem::path& path, const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
        out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
}

std::vector<std::string> types(const std::vector<EventRecord>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.type);
    return out;
}

// A child process that only waits (on a pipe) until the test lets it go.
class SleepingChild {
public:
    SleepingChild() {
        int fds[2];
        EXPECT_EQ(::pipe(fds), 0);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::close(fds[1]);
            char c;
            while (::read(fds[0], &c, 1) < 0 && errno == EINTR) {
            }
            ::_exit(0);
        }
        ::close(fds[0]);
        release_fd_ = fds[1];
    }
    ~SleepingChild() { kill(); }
    int pid() const { return pid_; }
    // Kills and reaps the child (its pid stays readable, for messages about it).
    void kill() {
        if (pid_ <= 0 || reaped_) return;
        ::kill(pid_, SIGKILL);
        ::close(release_fd_);
        ::waitpid(pid_, nullptr, 0);
        reaped_ = true;
    }

private:
    int pid_ = 0;
    int release_fd_ = -1;
    bool reaped_ = false;
};

// Makes `pid` the owner of run `id`, as if that process had created it.
void set_owner(const std::filesystem::path& db, RunId id, int pid) {
    auto stat = read_process_stat(pid);
    ASSERT_TRUE(stat.has_value());
    raw_sql(db, "UPDATE runs SET owner_pid = " + std::to_string(pid) + ", owner_start_ticks = " +
                    std::to_string(stat->start_ticks) + " WHERE id = " + std::to_string(id));
}

TEST(Store, OpenCreatesParentDirectoriesWalAndSchemaVersion) {
    testing::TempDir dir;
    auto path = dir / "state/deep/runs.db";
    {
        auto store = Store::open(path);
        ASSERT_TRUE(store) << store.error().message;
    }
    EXPECT_TRUE(std::filesystem::exists(path));
    EXPECT_EQ(raw_text(path, "PRAGMA user_version"), std::to_string(k_schema_version));
    EXPECT_EQ(raw_text(path, "PRAGMA journal_mode"), "wal");
}

TEST(Store, CreateFindAndList) {
    testing::TempDir dir;
    testing::FakeClock clock;
    auto store = open_store(dir / "runs.db", {.clock = &clock});

    auto first = store.create_run(sample_run());
    ASSERT_TRUE(first) << first.error().message;
    clock.advance(5ms);
    auto other = sample_run({"a"});
    other.pipeline = "second";
    auto second = store.create_run(other);
    ASSERT_TRUE(second);
    clock.advance(5ms);
    auto third = store.create_run(sample_run());
    ASSERT_TRUE(third);
    EXPECT_LT(*first, *second);
    EXPECT_LT(*second, *third);

    auto found = store.find_run(*first);
    ASSERT_TRUE(found);
    ASSERT_TRUE(found->has_value());
    const RunRecord& run = **found;
    EXPECT_EQ(run.id, *first);
    EXPECT_EQ(run.pipeline, "churn-model");
    EXPECT_EQ(run.file, "sluice.yml");
    EXPECT_EQ(run.yaml, "name: churn-model\n");
    EXPECT_EQ(run.workdir, "/tmp/ws");
    EXPECT_EQ(run.trigger, "hook");
    EXPECT_EQ(run.event, "push");
    EXPECT_EQ(run.branch, "main");
    EXPECT_EQ(run.commit, "0123456789abcdef0123456789abcdef01234567");
    EXPECT_EQ(run.status, "running");
    EXPECT_EQ(run.reason, "");
    EXPECT_EQ(run.created_ms, clock.epoch_ms() - 10);
    EXPECT_EQ(run.finished_ms, 0);
    EXPECT_EQ(run.runner_pid, ::getpid());
    EXPECT_EQ(run.options, (nlohmann::json{{"jobs", 4}, {"only", {"train"}}}));

    auto missing = store.find_run(9999);
    ASSERT_TRUE(missing) << "not found is not an error";
    EXPECT_FALSE(missing->has_value());

    auto all = store.list_runs(0);
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 3u);
    EXPECT_EQ((*all)[0].id, *third);
    EXPECT_EQ((*all)[1].id, *second);
    EXPECT_EQ((*all)[1].pipeline, "second");
    EXPECT_EQ((*all)[2].id, *first);

    auto two = store.list_runs(2);
    ASSERT_TRUE(two);
    ASSERT_EQ(two->size(), 2u);
    EXPECT_EQ((*two)[0].id, *third);
    EXPECT_EQ((*two)[1].id, *second);
}

TEST(Store, FinishRunSetsStatusReasonAndTime) {
    testing::TempDir dir;
    testing::FakeClock clock;
    auto store = open_store(dir / "runs.db", {.clock = &clock});
    auto id = store.create_run(sample_run());
    ASSERT_TRUE(id);

    clock.advance(1s);
    ASSERT_TRUE(store.finish_run(*id, "waiting", "deploy-production needs an approval"));
    auto run = store.find_run(*id);
    EXPECT_EQ((*run)->status, "waiting");
    EXPECT_EQ((*run)->finished_ms, 0) << "waiting is not an end";

    clock.advance(1s);
    ASSERT_TRUE(store.finish_run(*id, "failed", "train failed"));
    run = store.find_run(*id);
    EXPECT_EQ((*run)->status, "failed");
    EXPECT_EQ((*run)->reason, "train failed");
    EXPECT_EQ((*run)->finished_ms, clock.epoch_ms());

    auto bad = store.finish_run(*id, "done");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, util::ErrorCode::internal);
    auto unknown = store.finish_run(777, "passed");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, util::ErrorCode::not_found);
}

TEST(Store, StagesArePendingInPipelineOrder) {
    testing::TempDir dir;
    auto store = open_store(dir / "runs.db");
    // Not alphabetical, so an ORDER BY stage would show.
    auto id = store.create_run(sample_run({"zeta", "alpha", "mid", "beta"}));
    ASSERT_TRUE(id);
    auto stages = store.stages(*id);
    ASSERT_TRUE(stages);
    ASSERT_EQ(stages->size(), 4u);
    std::vector<std::string> names;
    for (const auto& s : *stages) {
        names.push_back(s.stage);
        EXPECT_EQ(s.status, "pending");
        EXPECT_EQ(s.attempts, 0);
        EXPECT_FALSE(s.exit_code.has_value());
        EXPECT_EQ(s.run_id, *id);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"zeta", "alpha", "mid", "beta"}));

    auto none = store.stages(12345);
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
}

TEST(Store, DuplicateStageNamesAreRefused) {
    testing::TempDir dir;
    auto store = open_store(dir / "runs.db");
    auto id = store.create_run(sample_run({"a", "b", "a"}));
    ASSERT_FALSE(id);
    EXPECT_NE(id.error().message.find("'a' twice"), std::string::npos) << id.error().message;
    auto runs = store.list_runs(0);
    EXPECT_TRUE(runs->empty());
}

TEST(Store, StageLifecycleCountsAttempts) {
    testing::TempDir dir;
    testing::FakeClock clock;
    auto store = open_store(dir / "runs.db", {.clock = &clock});
    auto id = store.create_run(sample_run());
    ASSERT_TRUE(id);

    clock.advance(1s);
    ASSERT_TRUE(store.start_stage(*id, "train", "logs/1/train.log"));
    auto train = store.find_stage(*id, "train");
    ASSERT_TRUE(train && train->has_value());
    EXPECT_EQ((*train)->status, "running");
    EXPECT_EQ((*train)->attempts, 1);
    EXPECT_EQ((*train)->started_ms, clock.epoch_ms());
    EXPECT_EQ((*train)->log_path, "logs/1/train.log");

    clock.advance(2s);
    StageFinish failed;
    failed.status = "failed";
    failed.reason = "exit status 3";
    failed.exit_code = 3;
    failed.duration_ms = 2000;
    failed.max_rss_kb = 1234;
    failed.outputs = {{"partial", "yes"}};
    ASSERT_TRUE(store.finish_stage(*id, "train", failed));
    train = store.find_stage(*id, "train");
    EXPECT_EQ((*train)->status, "failed");
    EXPECT_EQ((*train)->reason, "exit status 3");
    EXPECT_EQ((*train)->exit_code, 3);
    EXPECT_EQ((*train)->duration_ms, 2000);
    EXPECT_EQ((*train)->max_rss_kb, 1234);
    EXPECT_EQ((*train)->finished_ms, clock.epoch_ms());

    // A retry: a new attempt starts clean.
    clock.advance(1s);
    ASSERT_TRUE(store.start_stage(*id, "train", "logs/1/train.2.log"));
    train = store.find_stage(*id, "train");
    EXPECT_EQ((*train)->status, "running");
    EXPECT_EQ((*train)->attempts, 2);
    EXPECT_FALSE((*train)->exit_code.has_value());
    EXPECT_EQ((*train)->reason, "");
    EXPECT_EQ((*train)->finished_ms, 0);
    EXPECT_EQ((*train)->outputs, nlohmann::json::object());
    EXPECT_EQ((*train)->log_path, "logs/1/train.2.log");

    StageFinish passed;
    passed.status = "passed";
    passed.exit_code = 0;
    passed.duration_ms = 900;
    passed.allow_failure = true;
    passed.outputs = {{"run_id", "abc"}, {"note", "caf\xc3\xa9"}};
    passed.report = {{"junit", {{"tests", 12}, {"failures", 0}}}};
    ASSERT_TRUE(store.finish_stage(*id, "train", passed));
    train = store.find_stage(*id, "train");
    EXPECT_EQ((*train)->status, "passed");
    EXPECT_EQ((*train)->exit_code, 0);
    EXPECT_EQ((*train)->attempts, 2);
    EXPECT_TRUE((*train)->allow_failure);
    EXPECT_EQ((*train)->outputs, passed.outputs);
    EXPECT_EQ((*train)->report, passed.report);

    ASSERT_TRUE(store.set_stage_status(*id, "f1-gate", "skipped", "train did not pass"));
    auto gate = store.find_stage(*id, "f1-gate");
    EXPECT_EQ((*gate)->status, "skipped");
    EXPECT_EQ((*gate)->reason, "train did not pass");
    EXPECT_EQ((*gate)->attempts, 0);

    // Killed by a signal: no exit code.
    ASSERT_TRUE(store.start_stage(*id, "unit-tests", ""));
    StageFinish killed;
    killed.status = "cancelled";
    killed.signal = SIGTERM;
    ASSERT_TRUE(store.finish_stage(*id, "unit-tests", killed));
    auto unit = store.find_stage(*id, "unit-tests");
    EXPECT_FALSE((*unit)->exit_code.has_value());
    EXPECT_EQ((*unit)->signal, SIGTERM);
}

TEST(Store, InvalidOutputTextDoesNotThrow) {
    testing::TempDir dir;
    auto store = open_store(dir / "runs.db");
    auto id = store.create_run(sample_run());
    ASSERT_TRUE(id);
    StageFinish finish;
    finish.status = "passed";
    finish.outputs = {{"bytes", std::string("\xff\xfe not utf-8")}};
    ASSERT_TRUE(store.finish_stage(*id, "train", finish));
    auto train = store.find_stage(*id, "train");
    ASSERT_TRUE(train && train->has_value());
    EXPECT_TRUE((*train)->outputs.contains("bytes"));
}

TEST(Store, UnknownRunsAndStagesAreNotFound) {
    testing::TempDir dir;
    auto store = open_store(dir / "runs.db");
    auto id = store.create_run(sample_run());
    ASSERT_TRUE(id);

    auto no_stage = store.start_stage(*id, "nope", "");
    ASSERT_FALSE(no_stage);
    EXPECT_EQ(no_stage.error().code, util::ErrorCode::not_found);
    EXPECT_NE(no_stage.error().message.find("no stage 'nope'"), std::string::npos);

    auto no_run = store.start_stage(*id + 100, "train", "");
    ASSERT_FALSE(no_run);
    EXPECT_EQ(no_run.error().code, util::ErrorCode::not_found);
    EXPECT_NE(no_run.error().message.find("no run"), std::string::npos);

    StageFinish finish;
    finish.status = "passed";
    EXPECT_EQ(store.finish_stage(*id, "nope", finish).error().code, util::ErrorCode::not_found);
    EXPECT_EQ(store.set_stage_status(*id, "nope", "skipped", "").error().code,
              util::ErrorCode::not_found);
    EXPECT_EQ(store.add_event(*id + 100, "", "note", {}).error().code, util::ErrorCode::not_found);
    EXPECT_EQ(store.claim_run(*id + 100).error().code, util::ErrorCode::not_found);
    EXPECT_EQ(store.owner_alive(*id + 100).error().code, util::ErrorCode::not_found);
    auto no_such = store.find_stage(*id, "nope");
    ASSERT_TRUE(no_such);
    EXPECT_FALSE(no_such->has_value());

    finish.status = "great";
    EXPECT_EQ(store.finish_stage(*id, "train", finish).error().code, util::ErrorCode::internal);
    EXPECT_EQ(store.set_stage_status(*id, "train", "meh", "").error().code,
              util::ErrorCode::internal);
}

TEST(Store, EventsAreOrderedAndFollowable) {
    testing::TempDir dir;
    testing::FakeClock clock;
    auto store = open_store(dir / "runs.db", {.clock = &clock});
    auto id = store.create_run(sample_run());
    auto other = store.create_run(sample_run());
    ASSERT_TRUE(id && other);
    EXPECT_TRUE(store.events(*id)->empty()) << "the caller writes the lifecycle events";

    ASSERT_TRUE(store.add_event(*id, "", "run_started", {{"stages", 3}}));
    ASSERT_TRUE(store.add_event(*id, "unit-tests", "stage_started", {{"attempt", 1}}));
    ASSERT_TRUE(store.add_event(*other, "train", "stage_started", {}));  // interleaved
    clock.advance(5ms);
    ASSERT_TRUE(store.add_event(*id, "unit-tests", "stage_finished", {{"status", "passed"}}));
    ASSERT_TRUE(store.add_event(*id, "f1-gate", "gate_evaluated", {{"f1", 0.83}}));
    ASSERT_TRUE(store.add_event(*id, "", "run_finished", {{"status", "passed"}}));

    auto events = store.events(*id);
    ASSERT_TRUE(events);
    EXPECT_EQ(types(*events),
              (std::vector<std::string>{"run_started", "stage_started", "stage_finished",
                                        "gate_evaluated", "run_finished"}));
    for (std::size_t i = 1; i < events->size(); ++i) {
        EXPECT_LT((*events)[i - 1].id, (*events)[i].id);
    }
    for (const auto& e : *events) EXPECT_EQ(e.run_id, *id);
    EXPECT_EQ((*events)[0].stage, "");
    EXPECT_EQ((*events)[1].stage, "unit-tests");
    EXPECT_EQ((*events)[1].data["attempt"], 1);
    EXPECT_EQ((*events)[1].at_ms + 5, (*events)[2].at_ms);
    EXPECT_EQ((*events)[2].data["status"], "passed");
    EXPECT_EQ((*events)[3].stage, "f1-gate");
    EXPECT_EQ((*events)[3].data["f1"], 0.83);

    // A follower passes the last id it saw and gets only what came after.
    auto later = store.events(*id, (*events)[2].id);
    ASSERT_TRUE(later);
    EXPECT_EQ(types(*later), (std::vector<std::string>{"gate_evaluated", "run_finished"}));
    auto nothing = store.events(*id, events->back().id);
    ASSERT_TRUE(nothing);
    EXPECT_TRUE(nothing->empty());

    auto others = store.events(*other);
    EXPECT_EQ(types(*others), (std::vector<std::string>{"stage_started"}));
}

TEST(Store, StateChangesCarryTheirEventInTheSameTransaction) {
    testing::TempDir dir;
    auto store = open_store(dir / "runs.db");
    auto id = store.create_run(sample_run());
    ASSERT_TRUE(id);
    ASSERT_TRUE(store.start_stage(*id, "unit-tests", "u.log", EventNote{"stage_started", {{"attempt", 1}}}));
    StageFinish finish;
    finish.status = "failed";
    finish.exit_code = 2;
    ASSERT_TRUE(store.finish_stage(*id, "unit-tests", finish,
                                   EventNote{"stage_finished", {{"status", "failed"}}}));
    ASSERT_TRUE(store.set_stage_status(*id, "train", "skipped", "needs unit-tests, which failed",
                                       EventNote{"stage_finished", {{"status", "skipped"}}}));
    // A change that fails writes no event either.
    EXPECT_FALSE(store.set_stage_status(*id, "nope", "skipped", "", EventNote{"stage_finished", {}}));
    auto events = store.events(*id);
    ASSERT_TRUE(events);
    EXPECT_EQ(types(*events),
              (std::vector<std::string>{"stage_started", "stage_finished", "stage_finished"}));
    EXPECT_EQ((*events)[0].stage, "unit-tests");
    EXPECT_EQ((*events)[2].stage, "train");
    EXPECT_EQ((*events)[2].data["status"], "skipped");
}

TEST(Store, CachedStagesAreRecordedTogetherOrNotAtAll) {
    testing::TempDir dir;
    auto store = open_store(dir / "runs.db");
    auto id = store.create_run(sample_run());
    ASSERT_TRUE(id);
    auto cached = [](const std::string& stage, std::vector<Artifact> artifacts) {
        CachedStage c;
        c.stage = stage;
        c.finish.status = "cached";
        c.finish.reason = "from the cache (run 7)";
        c.finish.outputs = {{"rows", "2"}};
        c.finish.report = {{"cache", {{"from_run", 7}, {"remembered", true}}}};
        c.artifacts = std::move(artifacts);
        return c;
    };
    Artifact model{"train", "model.pkl", "file", 12, std::string(64, 'a'), 0644, ""};
    Artifact link{"train", "latest", "symlink", 0, "", 0, "model.pkl"};
    EventNote remembered{"stages_remembered", {{"stages", {"unit-tests", "train"}}}};
    ASSERT_TRUE(store.finish_cached_stages(
        *id, {cached("unit-tests", {}), cached("train", {model, link})}, remembered));

    auto train = store.find_stage(*id, "train");
    ASSERT_TRUE(train && *train);
    EXPECT_EQ((*train)->status, "cached");
    EXPECT_EQ((*train)->reason, "from the cache (run 7)");
    auto artifacts = store.artifacts(*id);
    ASSERT_TRUE(artifacts);
    ASSERT_EQ(artifacts->size(), 2u);
    EXPECT_EQ((*artifacts)[0].path, "latest");
    EXPECT_EQ((*artifacts)[0].target, "model.pkl");
    EXPECT_EQ((*artifacts)[1].digest, std::string(64, 'a'));
    auto events = store.events(*id);
    ASSERT_TRUE(events);
    EXPECT_EQ(types(*events), (std::vector<std::string>{"stages_remembered"}));
    EXPECT_EQ((*events)[0].stage, "");
    EXPECT_EQ((*events)[0].data, remembered.data);

    // One stage that cannot be recorded (not in the run): none of them is.
    auto again = store.create_run(sample_run());
    ASSERT_TRUE(again);
    EXPECT_FALSE(store.finish_cached_stages(*again, {cached("train", {model}), cached("nope", {})},
                                            remembered));
    auto untouched = store.find_stage(*again, "train");
    ASSERT_TRUE(untouched && *untouched);
    EXPECT_EQ((*untouched)->status, "pending");
    EXPECT_TRUE(store.artifacts(*again).value().empty());
    EXPECT_TRUE(store.events(*again).value().empty());
}

TEST(Store, ReopeningKeepsEverything) {
    testing::TempDir dir;
    auto path = dir / "runs.db";
    RunId id = 0;
    {
        auto store = open_store(path);
        auto created = store.create_run(sample_run());
        ASSERT_TRUE(created);
        id = *created;
        ASSERT_TRUE(store.start_stage(id, "train", "train.log"));
        StageFinish finish;
        finish.status = "passed";
        finish.exit_code = 0;
        finish.outputs = {{"model", "model.pkl"}};
        ASSERT_TRUE(store.finish_stage(id, "train", finish));
        ASSERT_TRUE(store.add_event(id, "", "note", {{"k", "v"}}));
        ASSERT_TRUE(store.finish_run(id, "passed"));
    }
    auto store = open_store(path);
    auto run = store.find_run(id);
    ASSERT_TRUE(run && run->has_value());
    EXPECT_EQ((*run)->status, "passed");
    EXPECT_EQ((*run)->options["jobs"], 4);
    auto train = store.find_stage(id, "train");
    EXPECT_EQ((*train)->outputs["model"], "model.pkl");
    EXPECT_EQ((*train)->attempts, 1);
    auto events = store.events(id);
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ(events->front().data["k"], "v");
    EXPECT_EQ(raw_text(path, "PRAGMA user_version"), std::to_string(k_schema_version));

    // Ids keep growing after a reopen.
    auto next = store.create_run(sample_run());
    ASSERT_TRUE(next);
    EXPECT_GT(*next, id);
}

TEST(Store, TooNewDatabaseIsRefused) {
    testing::TempDir dir;
    auto path = dir / "runs.db";
    { open_store(path); }
    raw_sql(path, "PRAGMA user_version = " + std::to_string(k_schema_version + 1));
    auto store = Store::open(path);
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().code, util::ErrorCode::store);
    EXPECT_NE(store.error().message.find("newer sluice"), std::string::npos)
        << store.error().message;
    // Refused without being touched.
    EXPECT_EQ(raw_text(path, "PRAGMA user_version"), std::to_string(k_schema_version + 1));
}

// A database as sluice with schema `version` left it: one passed run (its pipeline's text
// `yaml` in its row), then `more` SQL.
void write_old_database(const std::filesystem::path& path, int version, const std::string& yaml,
                        const std::string& more) {
    std::string sql;
    for (const auto& m : migrations()) {
        if (m.version <= version) sql += m.sql;
    }
    raw_sql(path, sql + "PRAGMA user_version = " + std::to_string(version) + ";"
                  "INSERT INTO runs (pipeline, file, yaml, workdir, trigger_name, event_name, "
                  "branch, commit_sha, status, created_ms) VALUES ('p', 'sluice.yml', '" + yaml +
                  "', '/w', 'local', 'manual', 'main', 'abc', 'passed', 1);" + more);
}

TEST(Schema, AVersion4DatabaseMigratesAndKeepsItsDeployments) {
    testing::TempDir dir;
    auto path = dir / "runs.db";
    // A database as sluice with schema version 4 left it, with one deployment.
    write_old_database(path, 4, "",
                       "INSERT INTO deployments (environment, run_id, stage, status, at_ms) "
                       "VALUES ('staging', 1, 'deploy', 'passed', 2);");
    auto store = open_store(path);
    EXPECT_EQ(raw_text(path, "PRAGMA user_version"), std::to_string(k_schema_version));
    auto old = store.deployments("staging", 0);
    ASSERT_TRUE(old);
    ASSERT_EQ(old->size(), 1u);
    EXPECT_EQ((*old)[0].image, "");
    EXPECT_EQ((*old)[0].stage, "deploy");

    Deployment next;
    next.environment = "staging";
    next.run_id = 1;
    next.stage = "deploy";
    next.status = "passed";
    next.image = "sha256:" + std::string(64, 'b');
    ASSERT_TRUE(store.add_deployment(next));
    auto all = store.deployments("staging", 0);
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].image, next.image);  // newest first
    auto events = store.events(1);
    ASSERT_TRUE(events);
    EXPECT_EQ(events->back().data["image"], next.image);
}

TEST(Schema, AVersion5DatabaseKeepsTheTextsOfItsRuns) {
    testing::TempDir dir;
    auto path = dir / "runs.db";
    write_old_database(path, 5, "name: old\n", "");
    auto store = open_store(path);
    auto old = store.find_run(1);
    ASSERT_TRUE(old && *old);
    EXPECT_EQ((*old)->yaml, "name: old\n");
    auto next = store.create_run(sample_run());
    ASSERT_TRUE(next);
    EXPECT_EQ(store.find_run(*next).value()->yaml, sample_run().yaml);
    EXPECT_EQ(store.find_run(1).value()->yaml, "name: old\n");
}

TEST(Store, APipelineTextIsKeptOnceForAllItsRuns) {
    testing::TempDir dir;
    auto path = dir / "runs.db";
    auto store = open_store(path);
    NewRun other = sample_run();
    other.yaml = "name: other\n";
    auto a = store.create_run(sample_run());
    auto b = store.create_run(sample_run());
    auto c = store.create_run(other);
    ASSERT_TRUE(a && b && c);
    ASSERT_TRUE(store.finish_run(*a, "passed"));
    EXPECT_EQ(raw_text(path, "SELECT count(*) FROM pipeline_texts"), "2");
    EXPECT_EQ(raw_text(path, "SELECT count(*) FROM runs WHERE yaml <> ''"), "0");
    EXPECT_EQ(store.find_run(*a).value()->yaml, sample_run().yaml);
    EXPECT_EQ(store.find_run(*b).value()->yaml, sample_run().yaml);
    EXPECT_EQ(store.find_run(*c).value()->yaml, other.yaml);
    auto listed = store.list_runs(10);
    ASSERT_TRUE(listed);
    ASSERT_EQ(listed->size(), 3u);
    EXPECT_EQ((*listed)[0].yaml, other.yaml);  // newest first
}

TEST(Schema, MigrationsAreNumberedOneByOneUpToTheCurrentVersion) {
    auto all = migrations();
    ASSERT_FALSE(all.empty());
    for (std::size_t i = 0; i < all.size(); ++i) {
        EXPECT_EQ(all[i].version, static_cast<int>(i) + 1);
        EXPECT_NE(all[i].sql, nullptr);
    }
    EXPECT_EQ(all.back().version, k_schema_version);
}

TEST(Store, FileThatIsNotADatabaseIsAnError) {
    testing::TempDir dir;
    auto path = dir.write("runs.db", std::string(4096, 'x'));
    auto store = Store::open(path);
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().code, util::ErrorCode::store);
    EXPECT_NE(store.error().message.find(path.string()), std::string::npos)
        << store.error().message;
}

TEST(Store, UnwritableDirectoryIsAnError) {
    testing::TempDir dir;
    dir.write("file", "x");
    auto store = Store::open(dir / "file/sub/runs.db");  // a parent is a regular file
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().code, util::ErrorCode::io);
}

TEST(Store, MovedFromStoreAnswersWithAnError) {
    testing::TempDir dir;
    auto store = open_store(dir / "runs.db");
    Store moved = std::move(store);
    EXPECT_TRUE(moved.list_runs(1));
    auto runs = store.list_runs(1);  // NOLINT(bugprone-use-after-move): that is the test
    ASSERT_FALSE(runs);
    EXPECT_EQ(runs.error().code, util::ErrorCode::internal);
}

TEST(Store, ABatchIsSeenByOthersOnlyOnceFlushedAndAFailedWriteLeavesTheRestOfIt) {
    testing::TempDir dir;
    auto path = dir / "runs.db";
    auto runner = open_store(path);
    auto reader = open_store(path);
    auto run = runner.create_run(sample_run());
    ASSERT_TRUE(run);

    runner.begin_batch();
    ASSERT_TRUE(runner.start_stage(*run, "unit-tests", "", EventNote{"stage_started", {}}));
    // A write that fails (an unknown stage) takes back only itself.
    auto missing = runner.start_stage(*run, "no-such-stage", "");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, util::ErrorCode::not_found);
    StageFinish passed;
    passed.status = "passed";
    ASSERT_TRUE(runner.finish_stage(*run, "unit-tests", passed));
    // The writer sees its own batch; another connection sees nothing yet.
    EXPECT_EQ((*runner.find_stage(*run, "unit-tests"))->status, "passed");
    EXPECT_EQ((*reader.find_stage(*run, "unit-tests"))->status, "pending");

    ASSERT_TRUE(runner.flush_batch());
    EXPECT_EQ((*reader.find_stage(*run, "unit-tests"))->status, "passed");
    EXPECT_EQ(types(*reader.events(*run)), (std::vector<std::string>{"stage_started"}));

    // Still batching after a flush; end_batch commits and goes back to one
    // transaction per write.
    ASSERT_TRUE(runner.start_stage(*run, "train", ""));
    EXPECT_EQ((*reader.find_stage(*run, "train"))->status, "pending");
    ASSERT_TRUE(runner.end_batch());
    EXPECT_EQ((*reader.find_stage(*run, "train"))->status, "running");
    StageFinish failed;
    failed.status = "failed";
    ASSERT_TRUE(runner.finish_stage(*run, "train", failed));
    EXPECT_EQ((*reader.find_stage(*run, "train"))->status, "failed");
}

TEST(Store, TwoConnectionsWriteInterleaved) {
    testing::TempDir dir;
    auto path = dir / "runs.db";
    auto a = open_store(path);
    auto b = open_store(path);
    auto run_a = a.create_run(sample_run());
    auto run_b = b.create_run(sample_run());
    ASSERT_TRUE(run_a && run_b);
    // Strictly alternating writes through two connections.
    for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(a.add_event(*run_b, "", "from_a", {{"i", i}}));
        ASSERT_TRUE(b.add_event(*run_a, "", "from_b", {{"i", i}}));
        ASSERT_TRUE(a.start_stage(*run_b, "train", ""));
        ASSERT_TRUE(b.start_stage(*run_a, "train", ""));
    }
    EXPECT_EQ(a.events(*run_a)->size(), 50u);
    EXPECT_EQ(b.events(*run_b)->size(), 50u);
    EXPECT_EQ((*a.find_stage(*run_a, "train"))->attempts, 50);
    EXPECT_EQ((*b.find_stage(*run_b, "train"))->attempts, 50);
}

TEST(Store, ConnectionsInThreadsWriteConcurrentlyWithoutBusyErrors) {
    testing::TempDir dir;
    auto path = dir / "runs.db";
    constexpr int k_threads = 4;
    constexpr int k_writes = 250;
    std::vector<std::string> stages;
    for (int i = 0; i < k_writes; ++i) stages.push_back("s" + std::to_string(i));
    std::vector<RunId> ids(k_threads);
    std::vector<std::string> errors(k_threads);
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
        threads.emplace_back([&, t] {
            auto store = Store::open(path);  // each thread its own connection
            if (!store) {
                errors[t] = store.error().message;
                return;
            }
            auto id = store->create_run(sample_run(stages));
            if (!id) {
                errors[t] = id.error().message;
                return;
            }
            ids[t] = *id;
            for (int i = 0; i < k_writes; ++i) {
                auto done = store->start_stage(*id, stages[i], "");
                if (done) done = store->add_event(*id, stages[i], "stage_started", {});
                if (!done) {
                    errors[t] = done.error().message;
                    return;
                }
                // Readers alongside writers, as `sluice runs` next to a runner.
                if (i % 25 == 0 && !store->list_runs(10)) {
                    errors[t] = "list_runs failed";
                    return;
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    auto store = open_store(path);
    for (int t = 0; t < k_threads; ++t) {
        EXPECT_EQ(errors[t], "") << "thread " << t;
        auto stages_of = store.stages(ids[t]);
        ASSERT_TRUE(stages_of);
        for (const auto& s : *stages_of) EXPECT_EQ(s.status, "running") << s.stage;
        EXPECT_EQ(store.events(ids[t])->size(), static_cast<std::size_t>(k_writes));
    }
}

TEST(Store, ProcessesWriteConcurrentlyWithoutBusyErrors) {
    testing::TempDir dir;
    auto path = dir / "runs.db";
    RunId shared = 0;
    {
        auto store = open_store(path);
        auto id = store.create_run(sample_run());
        ASSERT_TRUE(id);
        shared = *id;
    }  // closed before fork: an SQLite handle must not cross a fork
    constexpr int k_children = 3;
    constexpr int k_writes = 300;
    std::vector<pid_t> children;
    for (int c = 0; c < k_children; ++c) {
        pid_t pid = ::fork();
        if (pid == 0) {
            auto store = Store::open(path);
            if (!store) ::_exit(2);
            for (int i = 0; i < k_writes; ++i) {
                if (!store->add_event(shared, "", "child", {{"c", c}, {"i", i}})) ::_exit(3);
                if (i % 50 == 0 && !store->mark_interrupted()) ::_exit(4);
            }
            ::_exit(0);
        }
        children.push_back(pid);
    }
    auto store = open_store(path);
    for (int i = 0; i < k_writes; ++i) {
        ASSERT_TRUE(store.add_event(shared, "", "parent", {{"i", i}}));
    }
    for (pid_t pid : children) {
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
    }
    auto events = store.events(shared);
    ASSERT_TRUE(events);
    EXPECT_EQ(events->size(), static_cast<std::size_t>((k_children + 1) * k_writes));
    // Each writer's own events are in the order it wrote them.
    std::map<std::string, int> next;
    for (const auto& e : *events) {
        std::string who = e.type + (e.data.contains("c") ? e.data["c"].dump() : "");
        EXPECT_EQ(e.data["i"], next[who]++) << who;
    }
}

TEST(Store, ManyOpenANewDatabaseAtOnce) {
    // The first `sluice run` and a `sluice runs` beside it: both create the file, set
    // WAL and migrate. Repeated, since the collision depends on timing.
    for (int round = 0; round < 20; ++round) {
        testing::TempDir dir;
        auto path = dir / "runs.db";
        constexpr int k_openers = 6;
        std::atomic<int> waiting{k_openers};
        std::vector<std::string> errors(k_openers);
        std::vector<std::thread> threads;
        for (int t = 0; t < k_openers; ++t) {
            threads.emplace_back([&, t] {
                --waiting;
                while (waiting.load() > 0) std::this_thread::yield();  // start together
                auto store = Store::open(path);
                if (!store) {
                    errors[t] = store.error().message;
                    return;
                }
                if (auto id = store->create_run(sample_run()); !id) errors[t] = id.error().message;
            });
        }
        for (auto& t : threads) t.join();
        for (int t = 0; t < k_openers; ++t) ASSERT_EQ(errors[t], "") << "round " << round;
        auto store = open_store(path);
        EXPECT_EQ(store.list_runs(0)->size(), static_cast<std::size_t>(k_openers));
        EXPECT_EQ(raw_text(path, "PRAGMA journal_mode"), "wal");
    }
}

TEST(Store, OneStoreSharedByThreads) {
    testing::TempDir dir;
    auto store = open_store(dir / "runs.db");
    auto id = store.create_run(sample_run());
    ASSERT_TRUE(id);
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 100; ++i) {
                if (!store.add_event(*id, "", "tick", {{"t", t}, {"i", i}})) ++failures;
                if (!store.events(*id)) ++failures;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(store.events(*id)->size(), 400u);
}

// ---- Owners and liveness -------------------------------------------------------

TEST(Store, OwnRunIsAliveAndNotInterrupted) {
    testing::TempDir dir;
    auto store = open_store(dir / "runs.db");
    auto id = store.create_run(sample_run());
    ASSERT_TRUE(id);
    ASSERT_TRUE(store.start_stage(*id, "train", ""));
    EXPECT_EQ(store.owner_alive(*id), true);
    auto marked = store.mark_interrupted();
    ASSERT_TRUE(marked);
    EXPECT_TRUE(marked->empty());
    EXPECT_EQ((*store.find_run(*id))->status, "running");
}

TEST(Store, DeadOwnerIsInterruptedWithReasonAndEvents) {
    testing::TempDir dir;
    auto path = dir / "runs.db";
    auto store = open_store(path);
    auto id = store.create_run(sample_run());
    ASSERT_TRUE(id);
    ASSERT_TRUE(store.start_stage(*id, "train", ""));
    StageFinish passed;
    passed.status = "passed";
    ASSERT_TRUE(store.start_stage(*id, "unit-tests", ""));
    ASSERT_TRUE(store.finish_stage(*id, "unit-tests", passed));

    SleepingChild child;
    set_owner(path, *id, child.pid());
    EXPECT_EQ(store.owner_alive(*id), true);
    EXPECT_TRUE(store.mark_interrupted()->empty()) << "a live owner is left alone";

    child.kill();
    EXPECT_EQ(store.owner_alive(*id), false);
    auto marked = store.mark_interrupted();
    ASSERT_TRUE(marked) << marked.error().message;
    EXPECT_EQ(*marked, std::vector<RunId>{*id});

    std::string reason = "runner process " + std::to_string(child.pid()) + " is gone";
    auto run = store.find_run(*id);
    EXPECT_EQ((*run)->status, "interrupted");
    EXPECT_EQ((*run)->reason, reason);
    EXPECT_GT((*run)->finished_ms, 0);
    auto train = store.find_stage(*id, "train");
    EXPECT_EQ((*train)->status, "interrupted");
    EXPECT_EQ((*train)->reason, reason);
    EXPECT_EQ((*store.find_stage(*id, "unit-tests"))->status, "passed");
    EXPECT_EQ((*store.find_stage(*id, "f1-gate"))->status, "pending");

    auto events = store.events(*id);
    EXPECT_EQ(types(*events), (std::vector<std::string>{"stage_interrupted", "run_interrupted"}));
    EXPECT_EQ(events->front().stage, "train");
    EXPECT_EQ(events->back().data["reason"], reason);
    EXPECT_EQ(events->back().data["pid"], child.pid());
    EXPECT_EQ(events->back().data["stages"], nlohmann::json::array({"train"}));

    // Done once: a second call finds nothing.
    EXPECT_TRUE(store.mark_interrupted()->empty());
}

TEST(Store, ReusedPidOrOtherBootIsNotALiveOwner) {
    testing::TempDir dir;
    auto path = dir / "runs.db";
    auto store = open_store(path);
    auto reused = store.create_run(sample_run());
    auto rebooted = store.create_run(sample_run());
    auto mine = store.create_run(sample_run());
    ASSERT_TRUE(reused && rebooted && mine);
    // Our own pid, but a different start time: the pid was reused by this process.
    raw_sql(path, "UPDATE runs SET owner_start_ticks = owner_start_ticks + 1 WHERE id = " +
                      std::to_string(*reused));
    // Our own pid and start time, but recorded during another boot.
    raw_sql(path, "UPDATE runs SET owner_boot_id = 'another-boot' WHERE id = " +
                      std::to_string(*rebooted));
    EXPECT_EQ(store.owner_alive(*reused), false);
    EXPECT_EQ(store.owner_alive(*rebooted), false);
    EXPECT_EQ(store.owner_alive(*mine), true);
    auto marked = store.mark_interrupted();
    ASSERT_TRUE(marked);
    EXPECT_EQ(*marked, (std::vector<RunId>{*reused, *rebooted}));
    EXPECT_EQ((*store.find_run(*mine))->status, "running");
}

TEST(Store, WaitingRunKeepsWaitingButLosesItsRunningStages) {
    testing::TempDir dir;
    auto path = dir / "runs.db";
    auto store = open_store(path);
    auto id = store.create_run(sample_run());
    ASSERT_TRUE(id);
    ASSERT_TRUE(store.start_stage(*id, "train", ""));
    ASSERT_TRUE(store.finish_run(*id, "waiting", "needs approval"));
    auto other = store.create_run(sample_run());  // waiting, nothing running
    ASSERT_TRUE(other);
    ASSERT_TRUE(store.finish_run(*other, "waiting", "needs approval"));
    {
        SleepingChild child;
        set_owner(path, *id, child.pid());
        set_owner(path, *other, child.pid());
    }
    auto marked = store.mark_interrupted();
    ASSERT_TRUE(marked);
    EXPECT_EQ(*marked, std::vector<RunId>{*id});
    EXPECT_EQ((*store.find_run(*id))->status, "waiting");
    EXPECT_EQ((*store.find_stage(*id, "train"))->status, "interrupted");
    EXPECT_EQ((*store.find_run(*other))->status, "waiting");
}

TEST(Store, ClaimRunRefusesALiveOwnerAndTakesOverADeadOne) {
    testing::TempDir dir;
    auto path = dir / "runs.db";
    auto store = open_store(path);
    auto id = store.create_run(sample_run());
    ASSERT_TRUE(id);
    EXPECT_TRUE(store.claim_run(*id)) << "claiming one's own run is fine";

    SleepingChild child;
    set_owner(path, *id, child.pid());
    auto refused = store.claim_run(*id);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, util::ErrorCode::conflict);
    EXPECT_NE(refused.error().message.find(std::to_string(child.pid())), std::string::npos);

    child.kill();
    ASSERT_TRUE(store.mark_interrupted());
    EXPECT_EQ((*store.find_run(*id))->status, "interrupted");
    auto claimed = store.claim_run(*id);
    ASSERT_TRUE(claimed) << claimed.error().message;
    auto run = store.find_run(*id);
    EXPECT_EQ((*run)->status, "running");
    EXPECT_EQ((*run)->reason, "");
    EXPECT_EQ((*run)->finished_ms, 0);
    EXPECT_EQ((*run)->runner_pid, ::getpid());
    EXPECT_EQ(store.owner_alive(*id), true);
}

TEST(ProcessIdentity, ReadsThisProcessAndNoticesZombies) {
    auto self = current_process(read_boot_id());
    EXPECT_EQ(self.pid, ::getpid());
    EXPECT_GT(self.start_ticks, 0);
    EXPECT_FALSE(self.boot_id.empty());
    EXPECT_TRUE(process_alive(self, self.boot_id));

    pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    siginfo_t info{};
    // Wait until it is a zombie, without reaping it.
    ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT), 0);
    auto stat = read_process_stat(pid);
    ASSERT_TRUE(stat.has_value());
    EXPECT_EQ(stat->state, 'Z');
    ProcessIdentity zombie{pid, stat->start_ticks, self.boot_id};
    EXPECT_FALSE(process_alive(zombie, self.boot_id));
    ::waitpid(pid, nullptr, 0);
    EXPECT_FALSE(read_process_stat(pid).has_value());
    EXPECT_FALSE(process_alive(zombie, self.boot_id));
    EXPECT_FALSE(process_alive(ProcessIdentity{}, self.boot_id));
}

}  // namespace
}  // namespace sluice::store
