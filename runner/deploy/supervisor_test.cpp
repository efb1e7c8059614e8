// Tests of the deploy supervisor, driven in-process on a thread and talked to over its
// real socket: candidates, promotion (the previous service is stopped), a client that
// goes away, restarts of a crashing service, and stopping everything.
#include "runner/deploy/supervisor.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "runner/deploy/supervisor_protocol.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice::deploy {
namespace {

using namespace std::chrono_literals;

bool alive(int pid) { return pid > 0 && ::kill(pid, 0) == 0; }

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds within = 5s) {
    auto end = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < end) {
        if (condition()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return condition();
}

nlohmann::json read_json(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return nlohmann::json::parse(text.str(), nullptr, false);
}

class SupervisorTest : public ::testing::Test {
  protected:
    void start(SupervisorOptions options = {}) {
        options.state_dir = dir_.path();
        auto listener = listen_on(supervisor_address(dir_.path()));
        ASSERT_TRUE(listener) << listener.error().message;
        supervisor_ = std::make_unique<Supervisor>(options, std::move(*listener));
        thread_ = std::thread([this] {
            while (!stop_ && supervisor_->step(20ms)) {
            }
            supervisor_->stop_all();
            ended_ = true;
        });
    }
    void TearDown() override {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    SupervisorClient client() {
        auto c = SupervisorClient::connect(dir_.path());
        EXPECT_TRUE(c) << c.error().message;
        return std::move(*c);
    }
    nlohmann::json start_request(const std::string& id, const std::string& script) {
        return {{"op", "start"},
                {"environment", "staging"},
                {"id", id},
                {"argv", {"/bin/sh", "-c", script}},
                {"env", nlohmann::json::array({nlohmann::json::array({"PATH", "/usr/bin:/bin"})})},
                {"cwd", dir_.path().string()},
                {"log", (dir_ / (id + ".log")).string()},
                {"port", 1234},
                {"stop_grace_ms", 2000}};
    }

    testing::TempDir dir_;
    std::unique_ptr<Supervisor> supervisor_;
    std::thread thread_;
    std::atomic<bool> stop_ = false;
    std::atomic<bool> ended_ = false;
};

TEST_F(SupervisorTest, APromotedServiceReplacesThePreviousOne) {
    start();
    auto c = client();
    auto first = c.call(start_request("one", "exec sleep 30"));
    ASSERT_TRUE(first) << first.error().message;
    int one = (*first)["pid"];
    EXPECT_TRUE(alive(one));
    auto status = c.call({{"op", "status"}, {"environment", "staging"}, {"id", "one"}});
    ASSERT_TRUE(status);
    EXPECT_EQ((*status)["running"], true);
    auto promoted = c.call({{"op", "promote"}, {"environment", "staging"}, {"id", "one"}});
    ASSERT_TRUE(promoted) << promoted.error().message;
    EXPECT_TRUE((*promoted)["previous"].is_null());
    auto current = read_json(dir_ / "deploy/staging/current.json");
    EXPECT_EQ(current["deployment"], "one");
    EXPECT_EQ(current["pid"], one);
    EXPECT_EQ(current["state"], "running");

    auto second = c.call(start_request("two", "trap 'exit 0' TERM; while :; do sleep 0.05; done"));
    ASSERT_TRUE(second);
    int two = (*second)["pid"];
    promoted = c.call({{"op", "promote"}, {"environment", "staging"}, {"id", "two"}});
    ASSERT_TRUE(promoted);
    EXPECT_EQ((*promoted)["previous"]["id"], "one");
    EXPECT_FALSE(alive(one));  // stopped and reaped before the answer
    EXPECT_TRUE(alive(two));
    EXPECT_EQ(read_json(dir_ / "deploy/staging/current.json")["deployment"], "two");

    auto stopped = c.call({{"op", "stop"}, {"environment", "staging"}});
    ASSERT_TRUE(stopped);
    EXPECT_EQ((*stopped)["stopped"], nlohmann::json::array({"two"}));
    EXPECT_EQ((*stopped)["remaining"], 0);
    EXPECT_FALSE(alive(two));
    EXPECT_FALSE(std::filesystem::exists(dir_ / "deploy/staging/current.json"));
    ASSERT_TRUE(c.call({{"op", "shutdown"}}));
    EXPECT_TRUE(eventually([&] { return ended_.load(); }));
}

TEST_F(SupervisorTest, ACandidateWhoseDeployWentAwayIsStopped) {
    start();
    int pid = 0;
    {
        auto c = client();
        auto started = c.call(start_request("lost", "exec sleep 30"));
        ASSERT_TRUE(started);
        pid = (*started)["pid"];
        EXPECT_TRUE(alive(pid));
    }
    EXPECT_TRUE(eventually([&] { return !alive(pid); }));
    auto c = client();
    auto list = c.call({{"op", "list"}});
    ASSERT_TRUE(list);
    EXPECT_TRUE((*list)["services"].empty());
}

TEST_F(SupervisorTest, ACommandThatCannotStartIsAnError) {
    start();
    auto c = client();
    auto request = start_request("bad", "");
    request["argv"] = {"no-such-command-here"};
    auto started = c.call(request);
    ASSERT_FALSE(started);
    EXPECT_NE(started.error().message.find("no-such-command-here is not in its PATH"),
              std::string::npos)
        << started.error().message;
}

TEST_F(SupervisorTest, ACrashingCurrentServiceIsRestartedThenGivenUp) {
    SupervisorOptions options;
    options.max_restarts = 2;
    options.first_backoff = 20ms;
    start(options);
    auto c = client();
    auto marks = dir_ / "starts";
    auto started =
        c.call(start_request("crashy", "echo x >> " + marks.string() + "; sleep 0.3; exit 3"));
    ASSERT_TRUE(started);
    ASSERT_TRUE(c.call({{"op", "promote"}, {"environment", "staging"}, {"id", "crashy"}}));
    EXPECT_TRUE(eventually([&] {
        return read_json(dir_ / "deploy/staging/current.json").value("state", "") == "failed";
    }));
    EXPECT_EQ(testing::read_file(marks), "x\nx\nx\n");  // the first start and two restarts
    auto current = read_json(dir_ / "deploy/staging/current.json");
    EXPECT_EQ(current["restarts"], 2);
    EXPECT_EQ(current["last_exit"], "exited with status 3");
}

}  // namespace
}  // namespace sluice::deploy
