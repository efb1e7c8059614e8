// Integration tests of the stage cache through real pipelines: unchanged work is not
// redone, a changed input re-runs exactly what depends on it, corrupted objects are
// misses, concurrent runs share the cache, and a run's artifacts can be listed and
// copied out.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <thread>
#include <nlohmann/json.hpp>

#include "runner/testing/command.hpp"
#include "runner/testing/temp_dir.hpp"
#include "tests/run_json_support.hpp"

namespace sluice {
namespace {

using testing::Background;
using testing::CommandResult;
using testing::run_command;
using testing::sluice_binary;
using testing::stage_of;
using testing::TempDir;

// prep (data/**) -> train (prep's output) -> report; `other` (its own input) beside
// them. Each stage appends a line to ran.log when its command really runs.
constexpr const char* k_pipeline = R"yml(name: cached
stages:
  prep:
    run: cat data/*.csv > table.csv && echo prep >> ran.log
    inputs: ["data/**"]
    outputs: [table.csv]
  train:
    needs: [prep]
    run: |
      wc -l < table.csv > model.txt
      mkdir -p out/empty && ln -sf ../model.txt out/link
      echo "rows=$(cat model.txt)" >> "$SLUICE_OUTPUT"
      echo train >> ran.log
    inputs: [table.csv, train.sh]
    outputs: [model.txt, out]
  report:
    needs: [train]
    run: echo "rows ${{ stages.train.outputs.rows }}" > report.txt && echo report >> ran.log
    inputs: [model.txt]
    outputs: [report.txt]
  other:
    run: cp other.txt other.out && echo other >> ran.log
    inputs: [other.txt]
    outputs: [other.out]
)yml";

class CacheRun : public ::testing::Test {
protected:
    void SetUp() override {
        dir_.write("sluice.yml", k_pipeline);
        dir_.write("data/a.csv", "1,2\n");
        dir_.write("data/b.csv", "3,4\n");
        dir_.write("train.sh", "# the training code\n");
        dir_.write("other.txt", "other\n");
    }
    CommandResult sluice(std::vector<std::string> args, const std::filesystem::path& cwd = {}) {
        std::vector<std::string> argv = {sluice_binary(), "--state", (dir_ / "state").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_command(argv, {cwd.empty() ? dir_.path() : cwd, {}});
    }
    nlohmann::json show(int run) {
        auto r = sluice({"show", std::to_string(run), "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return nlohmann::json::parse(r.out);
    }
    // The stages that really ran since the last call, in order.
    std::vector<std::string> ran() {
        std::vector<std::string> out;
        std::ifstream in(dir_ / "ran.log");
        for (std::string line; std::getline(in, line);) out.push_back(line);
        std::filesystem::remove(dir_ / "ran.log");
        std::sort(out.begin(), out.end());
        return out;
    }
    std::string status(const nlohmann::json& run, const std::string& stage) {
        return stage_of(run, stage)["status"].get<std::string>();
    }
    TempDir dir_;
};

TEST_F(CacheRun, ASecondRunOfAnUnchangedPipelineRunsNothing) {
    auto first = sluice({"run", "-j", "2"});
    ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
    EXPECT_EQ(ran(), (std::vector<std::string>{"other", "prep", "report", "train"}));

    // The outputs are gone from the workspace: the cache puts them back.
    std::filesystem::remove_all(dir_ / "out");
    std::filesystem::remove(dir_ / "model.txt");
    std::filesystem::remove(dir_ / "report.txt");
    auto second = sluice({"run", "-j", "2"});
    ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
    EXPECT_EQ(ran(), std::vector<std::string>{});
    auto run = show(2);
    for (const char* stage : {"prep", "train", "report", "other"}) {
        EXPECT_EQ(status(run, stage), "cached") << stage;
        EXPECT_EQ(stage_of(run, stage)["reason"], "from the cache (run 1)");
    }
    EXPECT_EQ(run["status"], "passed");
    EXPECT_EQ(testing::read_file(dir_ / "model.txt"), "2\n");
    EXPECT_EQ(testing::read_file(dir_ / "report.txt"), "rows 2\n");
    EXPECT_TRUE(std::filesystem::is_directory(dir_ / "out/empty"));
    EXPECT_EQ(std::filesystem::read_symlink(dir_ / "out/link"), "../model.txt");
    // The cached stage's $SLUICE_OUTPUT values came back with it.
    EXPECT_EQ(stage_of(run, "train")["outputs"]["rows"], "2");
}

TEST_F(CacheRun, TouchingAFileWithoutChangingItStillHits) {
    ASSERT_EQ(sluice({"run"}).exit_code, 0);
    ran();
    // A new mtime (and ctime) but the same bytes: the digest is computed again, equal.
    dir_.write("data/a.csv", "1,2\n");
    struct timespec times[2] = {{0, UTIME_NOW}, {1'000'000'000, 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, (dir_ / "data/b.csv").c_str(), times, 0), 0);
    auto r = sluice({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(ran(), std::vector<std::string>{});
}

TEST_F(CacheRun, ChangingOneInputRerunsExactlyThatStageAndWhatNeedsIt) {
    ASSERT_EQ(sluice({"run"}).exit_code, 0);
    ran();
    dir_.write("train.sh", "# the training code, tuned\n");
    auto dry = sluice({"run", "--dry-run"});
    ASSERT_EQ(dry.exit_code, 0) << dry.err;
    EXPECT_NE(dry.out.find("prep: cached"), std::string::npos) << dry.out;
    EXPECT_NE(dry.out.find("train: runs (no `when:`, runs for every event; input train.sh changed since run 1)"),
              std::string::npos)
        << dry.out;
    EXPECT_NE(dry.out.find("other: cached"), std::string::npos) << dry.out;

    auto r = sluice({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    // train's own key changed; report's key holds train's, so it re-runs as well;
    // prep and other come from the cache.
    EXPECT_EQ(ran(), (std::vector<std::string>{"report", "train"}));
    auto run = show(2);
    EXPECT_EQ(status(run, "prep"), "cached");
    EXPECT_EQ(status(run, "other"), "cached");
    EXPECT_EQ(status(run, "train"), "passed");
    EXPECT_EQ(status(run, "report"), "passed");

    // A new data file changes prep's inputs: prep, train and report run, other does not.
    dir_.write("data/c.csv", "5,6\n");
    ASSERT_EQ(sluice({"run"}).exit_code, 0);
    EXPECT_EQ(ran(), (std::vector<std::string>{"prep", "report", "train"}));
}

TEST_F(CacheRun, NoCacheAndCacheFalseRunTheStageAnyway) {
    ASSERT_EQ(sluice({"run"}).exit_code, 0);
    ran();
    auto r = sluice({"run", "--no-cache"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(ran(), (std::vector<std::string>{"other", "prep", "report", "train"}));

    std::string yml = k_pipeline;
    yml.replace(yml.find("    outputs: [other.out]"), 24, "    outputs: [other.out]\n    cache: false");
    dir_.write("sluice.yml", yml);
    ASSERT_EQ(sluice({"run"}).exit_code, 0);
    EXPECT_EQ(ran(), std::vector<std::string>{"other"});
}

TEST_F(CacheRun, ACorruptedObjectIsAMissAndTheStageRunsAgain) {
    ASSERT_EQ(sluice({"run"}).exit_code, 0);
    ran();
    auto run = show(1);
    std::string digest = stage_of(run, "train")["artifacts"][0]["sha256"];  // model.txt
    auto object = dir_ / "state/cache/objects" / digest.substr(0, 2) / digest;
    ASSERT_TRUE(std::filesystem::exists(object));
    std::filesystem::permissions(object, std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::add);
    { std::ofstream(object) << "9\n"; }  // same size, other bytes
    std::filesystem::remove(dir_ / "model.txt");  // so the object must be read

    auto r = sluice({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("corrupted cache object " + digest), std::string::npos) << r.out;
    EXPECT_EQ(ran(), std::vector<std::string>{"train"});  // report's key is unchanged
    EXPECT_EQ(testing::read_file(dir_ / "model.txt"), "2\n");
    EXPECT_FALSE(std::filesystem::exists(object) && testing::read_file(object) == "9\n");
    EXPECT_EQ(status(show(2), "train"), "passed");
}

TEST_F(CacheRun, ADeclaredOutputThatWasNotProducedFailsTheStage) {
    std::string yml = k_pipeline;
    yml.replace(yml.find("outputs: [other.out]"), 20, "outputs: [other.out, missing.bin]");
    dir_.write("sluice.yml", yml);
    auto r = sluice({"run"});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    auto run = show(1);
    EXPECT_EQ(status(run, "other"), "failed");
    EXPECT_EQ(stage_of(run, "other")["reason"], "declared output missing.bin was not produced");
}

TEST_F(CacheRun, ArtifactsAreListedWithSizesAndHashesAndCopiedOut) {
    ASSERT_EQ(sluice({"run"}).exit_code, 0);
    auto run = show(1);
    auto artifacts = stage_of(run, "train")["artifacts"];
    ASSERT_EQ(artifacts.size(), 3u);
    EXPECT_EQ(artifacts[0]["path"], "model.txt");
    EXPECT_EQ(artifacts[0]["size"], 2);
    EXPECT_EQ(artifacts[0]["sha256"].get<std::string>().size(), 64u);
    EXPECT_EQ(artifacts[1]["path"], "out/empty");
    EXPECT_EQ(artifacts[1]["type"], "dir");
    EXPECT_EQ(artifacts[2]["type"], "symlink");
    auto text = sluice({"show", "1"});
    EXPECT_NE(text.out.find("train: model.txt  2 B  sha256:"), std::string::npos) << text.out;

    auto copied = sluice({"artifacts", "1", "train", "--to", (dir_ / "copy").string()});
    ASSERT_EQ(copied.exit_code, 0) << copied.err;
    EXPECT_EQ(testing::read_file(dir_ / "copy/model.txt"), "2\n");
    EXPECT_TRUE(std::filesystem::is_directory(dir_ / "copy/out/empty"));

    auto unknown = sluice({"artifacts", "1", "nope", "--to", (dir_ / "copy").string()});
    EXPECT_NE(unknown.exit_code, 0);
    EXPECT_NE(unknown.err.find("run 1 has no stage nope"), std::string::npos) << unknown.err;

    auto ls = sluice({"cache", "ls", "--json"});
    ASSERT_EQ(ls.exit_code, 0) << ls.err;
    EXPECT_EQ(nlohmann::json::parse(ls.out)["entries"].size(), 4u);
    auto gc = sluice({"cache", "gc", "--max-size", "0"});
    ASSERT_EQ(gc.exit_code, 0) << gc.err;
    EXPECT_EQ(nlohmann::json::parse(sluice({"cache", "ls", "--json"}).out)["entries"].size(), 0u);
    auto bad = sluice({"cache", "gc", "--max-size", "lots"});
    EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

// One stage per way a remembered result must be doubted (run_memo.hpp). Each stage
// appends its name to ran.log when it really runs.
constexpr const char* k_remembered = R"yml(name: remembered
stages:
  glob:
    run: cat g/* > g.out && echo glob >> ran.log
    inputs: ["g/*"]
    outputs: [g.out]
  edit:
    run: cp e.txt e.out && echo edit >> ran.log
    inputs: [e.txt]
    outputs: [e.out]
  after_edit:
    needs: [edit]
    run: echo after_edit >> ran.log
    inputs: [n.txt]
  output_gone:
    run: cp o.txt o.out && echo output_gone >> ran.log
    inputs: [o.txt]
    outputs: [o.out]
  same:
    run: cp s.txt s.out && echo same >> ran.log
    inputs: [s.txt]
    outputs: [s.out]
)yml";

bool remembered(const nlohmann::json& run, const std::string& stage) {
    nlohmann::json report = stage_of(run, stage)["report"];
    return report.contains("cache") && report["cache"].value("remembered", false);
}

TEST_F(CacheRun, ARememberedRunIsCheckedByStatDataAndStillSeesEveryChange) {
    dir_.write("sluice.yml", k_remembered);
    for (const char* f : {"g/a.txt", "e.txt", "n.txt", "o.txt", "s.txt"}) dir_.write(f, "1234\n");
    ASSERT_EQ(sluice({"run"}).exit_code, 0);
    ran();
    // The memo vouches only for paths whose mtime and ctime are older than the run's
    // start by FileDigests::k_timestamp_slack (2 s): let the tree get that old.
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    auto second = sluice({"run"});  // looks everything up, and remembers it
    ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
    EXPECT_EQ(ran(), std::vector<std::string>{});
    auto third = sluice({"run"});
    ASSERT_EQ(third.exit_code, 0) << third.out << third.err;
    EXPECT_EQ(ran(), std::vector<std::string>{});
    auto run = show(3);
    for (const char* stage : {"glob", "edit", "after_edit", "output_gone", "same"}) {
        EXPECT_EQ(status(run, stage), "cached") << stage;
        EXPECT_TRUE(remembered(run, stage)) << stage;
        EXPECT_EQ(stage_of(run, stage)["reason"], "from the cache (run 1)");
    }

    // A new file where a glob looks; new bytes of the same size behind the old mtime
    // (and what needs that stage); an output removed from the workspace.
    dir_.write("g/b.txt", "5678\n");
    struct stat before {};
    ASSERT_EQ(::stat((dir_ / "e.txt").c_str(), &before), 0);
    dir_.write("e.txt", "abcd\n");
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    ASSERT_EQ(utimensat(AT_FDCWD, (dir_ / "e.txt").c_str(), times, 0), 0);
    std::filesystem::remove(dir_ / "o.out");
    auto fourth = sluice({"run"});
    ASSERT_EQ(fourth.exit_code, 0) << fourth.out << fourth.err;
    EXPECT_EQ(ran(), (std::vector<std::string>{"after_edit", "edit", "glob"}));
    run = show(4);
    EXPECT_EQ(testing::read_file(dir_ / "g.out"), "1234\n5678\n");
    EXPECT_EQ(testing::read_file(dir_ / "e.out"), "abcd\n");
    EXPECT_EQ(status(run, "output_gone"), "cached");  // restored from the cache
    EXPECT_FALSE(remembered(run, "output_gone"));
    EXPECT_EQ(testing::read_file(dir_ / "o.out"), "1234\n");
    EXPECT_TRUE(remembered(run, "same"));

    // `cache gc` removes the entries a memo points at: nothing is taken from it.
    ASSERT_EQ(sluice({"cache", "gc", "--max-size", "0"}).exit_code, 0);
    auto fifth = sluice({"run"});
    ASSERT_EQ(fifth.exit_code, 0) << fifth.out << fifth.err;
    // (after_edit keeps no outputs: its entry holds no bytes, and 0 bytes fit in 0.)
    EXPECT_EQ(ran(), (std::vector<std::string>{"edit", "glob", "output_gone", "same"}));
}

// `write` always runs (no inputs) and rewrites data.txt only when control.txt changed;
// `read` needs it and reads data.txt; `keep` is cached beside them.
constexpr const char* k_written_during_run = R"yml(name: written
stages:
  keep:
    run: echo keep >> ran.log
    inputs: [keep.txt]
  write:
    run: (cmp -s control.txt data.txt || cp control.txt data.txt) && echo write >> ran.log
  read:
    needs: [write]
    run: cp data.txt read.out && echo read >> ran.log
    inputs: [data.txt]
    outputs: [read.out]
)yml";

TEST_F(CacheRun, APathAStageChangesDuringTheRunIsLookedAtAfterIt) {
    // With -j 2 the remembered run's paths are looked at ahead, on a second thread, while
    // `write` starts: what it changes must still be seen by `read` after it.
    dir_.write("sluice.yml", k_written_during_run);
    dir_.write("control.txt", "one\n");
    dir_.write("keep.txt", "keep\n");
    ASSERT_EQ(sluice({"run", "-j", "2"}).exit_code, 0);
    EXPECT_EQ(ran(), (std::vector<std::string>{"keep", "read", "write"}));
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // past the racy window
    auto second = sluice({"run", "-j", "2"});  // remembers read
    ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
    auto third = sluice({"run", "-j", "2"});
    ASSERT_EQ(third.exit_code, 0) << third.out << third.err;
    EXPECT_EQ(ran(), (std::vector<std::string>{"write", "write"}));
    EXPECT_TRUE(remembered(show(3), "read"));
    EXPECT_TRUE(remembered(show(3), "keep"));

    dir_.write("control.txt", "two\n");
    auto fourth = sluice({"run", "-j", "2"});
    ASSERT_EQ(fourth.exit_code, 0) << fourth.out << fourth.err;
    EXPECT_EQ(ran(), (std::vector<std::string>{"read", "write"}));
    EXPECT_EQ(status(show(4), "read"), "passed");
    EXPECT_EQ(testing::read_file(dir_ / "read.out"), "two\n");
}

TEST_F(CacheRun, ConcurrentRunsShareTheCache) {
    // Two projects filling one cache at the same time, then each hits what it stored.
    TempDir second;
    for (const char* f : {"sluice.yml", "data/a.csv", "data/b.csv", "train.sh", "other.txt"}) {
        second.write(f, testing::read_file(dir_ / f));
    }
    std::vector<std::string> argv = {sluice_binary(), "--state", (dir_ / "state").string(), "run"};
    Background a(argv, {dir_.path(), {}});
    Background b(argv, {second.path(), {}});
    auto ra = a.wait();
    auto rb = b.wait();
    ASSERT_EQ(ra.exit_code, 0) << ra.out << ra.err;
    ASSERT_EQ(rb.exit_code, 0) << rb.out << rb.err;
    std::filesystem::remove(second / "ran.log");
    ran();

    auto again = run_command(argv, {second.path(), {}});
    ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
    EXPECT_FALSE(std::filesystem::exists(second / "ran.log"));
    ASSERT_EQ(sluice({"run"}).exit_code, 0);
    EXPECT_EQ(ran(), std::vector<std::string>{});
}

}  // namespace
}  // namespace sluice
