// Integration tests of the run store as a file a user keeps: the main database file
// holds the history once a run ends (a copy of sluice.db alone, a lost or damaged WAL),
// `sluice backup`, and a full disk (a small tmpfs in a private mount namespace) being
// told the truth while the read-only commands keep working.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runner/testing/command.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::sluice_binary;
using testing::TempDir;

// Opens a database file as a user with the sqlite3 tool would, and lists its runs
// (id and status, oldest first); an error message instead when it cannot.
struct RunsInFile {
    std::vector<std::pair<long, std::string>> runs;
    std::string error;
};

RunsInFile runs_in_file(const std::filesystem::path& file) {
    RunsInFile out;
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        out.error = db ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close_v2(db);
        return out;
    }
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT id, status FROM runs ORDER BY id", -1, &stmt, nullptr) !=
        SQLITE_OK) {
        out.error = sqlite3_errmsg(db);
    } else {
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            out.runs.emplace_back(sqlite3_column_int64(stmt, 0),
                                  reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)));
        }
    }
    sqlite3_finalize(stmt);
    sqlite3_close_v2(db);
    return out;
}

class StoreFile : public ::testing::Test {
protected:
    void SetUp() override {
        dir_.write("sluice.yml", "name: kept\nstages:\n  hello:\n    run: echo hello\n");
    }
    CommandResult sluice(const std::filesystem::path& state, std::vector<std::string> args) {
        std::vector<std::string> argv = {sluice_binary(), "--state", state.string()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_command(argv, {dir_.path(), {}});
    }
    CommandResult sluice(std::vector<std::string> args) { return sluice(state(), std::move(args)); }
    std::filesystem::path state() const { return dir_ / "state"; }
    std::filesystem::path db() const { return state() / "sluice.db"; }
    // Copies the main database file alone (no -wal, no -shm) to a file of its own.
    std::filesystem::path copy_main_file(const std::string& name) {
        auto copy = dir_ / name;
        std::filesystem::copy_file(db(), copy);
        return copy;
    }
    TempDir dir_;
};

TEST_F(StoreFile, ACopyOfTheMainFileAloneHoldsTheRunOnceItEnds) {
    auto r = sluice({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    ASSERT_TRUE(std::filesystem::exists(state() / "sluice.db-wal"));  // WAL mode, kept

    auto first = runs_in_file(copy_main_file("first.db"));
    ASSERT_EQ(first.error, "");
    ASSERT_EQ(first.runs.size(), 1u);
    EXPECT_EQ(first.runs[0].first, 1);
    EXPECT_EQ(first.runs[0].second, "passed");

    r = sluice({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto second = runs_in_file(copy_main_file("second.db"));
    ASSERT_EQ(second.error, "");
    ASSERT_EQ(second.runs.size(), 2u);
    EXPECT_EQ(second.runs[1].first, 2);
    EXPECT_EQ(second.runs[1].second, "passed");
}

TEST_F(StoreFile, ADeletedOrDamagedWalLosesNoHistoryAndNoIdIsHandedOutTwice) {
    for (int i = 0; i < 2; ++i) {
        auto r = sluice({"run"});
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    }
    // Damage the WAL's header (its magic number, page size and salts).
    {
        std::fstream wal(state() / "sluice.db-wal", std::ios::in | std::ios::out | std::ios::binary);
        ASSERT_TRUE(wal.is_open());
        std::string garbage(32, '\x5a');
        wal.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    }
    auto runs = sluice({"runs", "--json"});
    ASSERT_EQ(runs.exit_code, 0) << runs.err;
    EXPECT_NE(runs.out.find("\"id\":1"), std::string::npos) << runs.out;
    EXPECT_NE(runs.out.find("\"id\":2"), std::string::npos) << runs.out;
    auto r = sluice({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("run 3 passed"), std::string::npos) << r.out;

    // Delete it (and its index) outright.
    std::filesystem::remove(state() / "sluice.db-wal");
    std::filesystem::remove(state() / "sluice.db-shm");
    runs = sluice({"runs", "--json"});
    ASSERT_EQ(runs.exit_code, 0) << runs.err;
    for (int id : {1, 2, 3}) {
        EXPECT_NE(runs.out.find("\"id\":" + std::to_string(id)), std::string::npos) << runs.out;
    }
    r = sluice({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("run 4 passed"), std::string::npos) << r.out;
    auto show = sluice({"show", "3", "--json"});
    ASSERT_EQ(show.exit_code, 0) << show.err;
    EXPECT_EQ(nlohmann::json::parse(show.out)["status"], "passed");
}

TEST_F(StoreFile, BackupWritesAConsistentCopyThatSluiceReadsAsItsStore) {
    for (int i = 0; i < 2; ++i) {
        auto r = sluice({"run"});
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    }
    std::filesystem::create_directories(dir_ / "backups");
    auto target = dir_ / "backups" / "sluice-backup.db";
    auto b = sluice({"backup", target.string()});
    ASSERT_EQ(b.exit_code, 0) << b.out << b.err;
    EXPECT_NE(b.out.find(target.string()), std::string::npos) << b.out;
    // Nothing but the backup itself in its directory (no temp file, no -wal).
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_ / "backups")) {
        names.push_back(e.path().filename().string());
    }
    EXPECT_EQ(names, std::vector<std::string>{"sluice-backup.db"});
    auto in_backup = runs_in_file(target);
    ASSERT_EQ(in_backup.error, "");
    ASSERT_EQ(in_backup.runs.size(), 2u);
    EXPECT_EQ(in_backup.runs[1].second, "passed");

    // An existing file is refused (exit 2, saying how), and replaced with --force.
    auto again = sluice({"backup", target.string()});
    EXPECT_EQ(again.exit_code, 2) << again.out << again.err;
    EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
    EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
    auto r = sluice({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto forced = sluice({"backup", "--force", target.string()});
    ASSERT_EQ(forced.exit_code, 0) << forced.out << forced.err;
    EXPECT_EQ(runs_in_file(target).runs.size(), 3u);

    // A directory that does not exist is the user's mistake, and leaves nothing.
    auto nowhere = sluice({"backup", (dir_ / "missing" / "b.db").string()});
    EXPECT_EQ(nowhere.exit_code, 2) << nowhere.out << nowhere.err;
    EXPECT_NE(nowhere.err.find("missing"), std::string::npos) << nowhere.err;

    // Restoring: the backup as sluice.db of a state directory is that history.
    auto restored = dir_ / "restored";
    std::filesystem::create_directories(restored);
    std::filesystem::copy_file(target, restored / "sluice.db");
    auto runs = sluice(restored, {"runs", "--json"});
    ASSERT_EQ(runs.exit_code, 0) << runs.err;
    for (int id : {1, 2, 3}) {
        EXPECT_NE(runs.out.find("\"id\":" + std::to_string(id)), std::string::npos) << runs.out;
    }
    r = sluice(restored, {"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("run 4 passed"), std::string::npos) << r.out;
}

// A real full disk: a 4 MiB tmpfs mounted in a private mount namespace (`unshare -m`),
// holding the state directory. The second stage writes a large $SLUICE_OUTPUT value and
// then fills the file system, so recording its end needs pages the disk no longer has.
TEST_F(StoreFile, AFullDiskIsToldTheTruthAndTheReadOnlyCommandsStillWork) {
    if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
    auto probe = run_command({"unshare", "-m", "--propagation", "private", "true"});
    if (probe.exit_code != 0) {
        GTEST_SKIP() << "cannot make a private mount namespace (unshare -m): " << probe.err;
    }
    auto mnt = dir_ / "small";
    std::filesystem::create_directories(mnt);
    auto out = dir_ / "out";
    std::filesystem::create_directories(out);
    dir_.write("sluice.yml", "name: full\nvariables:\n  FILL: " + (mnt / "fill").string() +
                                 R"(
stages:
  hello:
    run: echo hello
  fill:
    needs: [hello]
    run: |
      { printf 'big='; head -c 1500000 /dev/zero | tr '\0' x; echo; } > "$SLUICE_OUTPUT"
      cat /dev/zero > "$FILL" 2>/dev/null || true
)");
    std::string sluice_cmd = "'" + sluice_binary() + "' --state '" + (mnt / "state").string() + "'";
    // Each command's stdout, stderr and exit status go to files outside the tmpfs.
    auto step = [&](const std::string& name, const std::string& args) {
        std::string o = "'" + (out / name).string() + "'";
        return sluice_cmd + " " + args + " >" + o + ".out 2>" + o + ".err; echo $? >" + o +
               ".rc\n";
    };
    std::string script = "set -u\nmount -t tmpfs -o size=4m tmpfs '" + mnt.string() +
                         "' || exit 77\n" + step("run", "run") + step("runs", "runs") +
                         step("show", "show 1 --json") + step("logs", "logs 1 hello") +
                         step("backup", "backup '" + (mnt / "b.db").string() + "'") +
                         "ls -A '" + mnt.string() + "' >'" + (out / "ls").string() + "'\n";
    auto r = run_command({"unshare", "-m", "--propagation", "private", "sh", "-c", script},
                         {dir_.path(), {}});
    if (r.exit_code == 77) GTEST_SKIP() << "cannot mount a tmpfs: " << r.err;
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto read = [&](const std::string& name) { return testing::read_file(out / name); };
    auto rc = [&](const std::string& name) { return std::stoi(read(name + ".rc")); };

    // The run: exit 1, no line claims an end as if recorded, and the status it says the
    // store holds is the one the store holds.
    std::string run_out = read("run.out") + read("run.err");
    EXPECT_EQ(rc("run"), 1) << run_out;
    EXPECT_EQ(run_out.find("run 1 failed"), std::string::npos) << run_out;
    EXPECT_EQ(run_out.find("run 1 passed"), std::string::npos) << run_out;
    EXPECT_NE(run_out.find("could not be recorded"), std::string::npos) << run_out;
    const std::string says = "; the store says ";
    auto at = run_out.find(says);
    ASSERT_NE(at, std::string::npos) << run_out;
    std::string claimed = run_out.substr(at + says.size());
    claimed = claimed.substr(0, claimed.find_first_of("\n;"));

    // The read-only commands work on the full disk, and say what the store holds.
    EXPECT_EQ(rc("runs"), 0) << read("runs.err");
    EXPECT_NE(read("runs.out").find("full"), std::string::npos) << read("runs.out");
    ASSERT_EQ(rc("show"), 0) << read("show.err");
    auto shown = nlohmann::json::parse(read("show.out"));
    std::string status = shown["status"];
    // A run the store still says is running may have been marked interrupted since.
    EXPECT_TRUE(status == claimed || (claimed == "running" && status == "interrupted"))
        << "the runner said the store says " << claimed << "; sluice show says " << status;
    EXPECT_EQ(rc("logs"), 0) << read("logs.err");
    EXPECT_NE(read("logs.out").find("hello"), std::string::npos) << read("logs.out");

    // A backup that cannot be written fails and leaves no half file behind.
    EXPECT_EQ(rc("backup"), 1) << read("backup.out") << read("backup.err");
    EXPECT_NE(read("backup.err").find("b.db"), std::string::npos) << read("backup.err");
    std::string listing = read("ls");
    EXPECT_EQ(listing.find("b.db"), std::string::npos) << listing;
    EXPECT_EQ(listing.find(".tmp"), std::string::npos) << listing;
}

}  // namespace
}  // namespace sluice
