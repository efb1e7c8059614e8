// Integration tests of the deploy targets, driving the real sluice binary on real git
// repositories:
// - target: local with the churn example's real FastAPI service (uvicorn): a first
//   deployment answers; a second one replaces it (the old process is gone); a third that
//   exits, and a fourth that never gets healthy, fail their stage while the previous
//   service keeps answering, as the history says; `sluice env rollback` brings the first
//   deployment back;
// - target: local from an OCI image layout the test builds (a python http.server script);
// - target: kubernetes with a fake kubectl that records what it was asked, and one whose
//   rollout fails.
// Every test ends with `sluice env stop --all` and checks that no process is left.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "runner/deploy/oci_layout_test_support.hpp"
#include "runner/git/repo_fixture_test_support.hpp"
#include "runner/http/curl_http_client.hpp"
#include "runner/testing/command.hpp"
#include "tests/run_json_support.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice {
namespace {

using git::test_support::FixtureRepo;
using testing::CommandResult;
using namespace std::chrono_literals;

constexpr const char* k_python = "/usr/bin/python3";

std::filesystem::path source_dir() {
    std::filesystem::path file(__FILE__);  // tests/deploy_targets_test.cpp
    if (file.is_relative()) file = testing::build_dir() / file;
    return file.parent_path().parent_path();
}

bool alive(int pid) { return pid > 0 && ::kill(pid, 0) == 0; }

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds within = 5s) {
    auto end = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < end) {
        if (condition()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return condition();
}

// Processes whose command line or working directory mentions dir (sluice's daemon, the
// services): none may be left when a test ends.
std::vector<int> processes_under(const std::filesystem::path& dir) {
    std::vector<int> found;
    std::string needle = dir.string();
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        int pid = std::stoi(name);
        if (pid == ::getpid()) continue;
        std::ifstream in(entry.path() / "cmdline", std::ios::binary);
        std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::error_code ec;
        auto cwd = std::filesystem::read_symlink(entry.path() / "cwd", ec).string();
        std::ifstream stat(entry.path() / "stat");
        std::string stat_text;
        std::getline(stat, stat_text);
        bool zombie = stat_text.find(") Z ") != std::string::npos;
        if (!zombie && (cmdline.find(needle) != std::string::npos || cwd.rfind(needle, 0) == 0)) {
            found.push_back(pid);
        }
    }
    return found;
}

class DeployTargets : public ::testing::Test {
  protected:
    DeployTargets() : repo_(dir_ / "project") {}
    void TearDown() override {
        sluice({"env", "stop", "--all"});
        EXPECT_TRUE(eventually([&] { return processes_under(dir_.path()).empty(); }))
            << "left behind: " << processes_under(dir_.path()).size() << " process(es)";
    }
    CommandResult sluice(std::vector<std::string> args) {
        std::vector<std::string> argv = {testing::sluice_binary(), "--state",
                                         (dir_ / "state").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        auto e = git::test_support::git_env();
        return testing::run_command(argv, {repo_.dir(), e});
    }
    nlohmann::json stage(int run, const std::string& name) {
        return testing::stage_in_show(sluice({"show", std::to_string(run), "--json"}).out, name);
    }
    nlohmann::json history(const std::string& environment) {
        auto r = sluice({"env", "history", environment, "--json"});
        return nlohmann::json::parse(r.out, nullptr, false);
    }
    // The answer to GET url, or "" when none came.
    std::string get(const std::string& url) {
        http::Request request;
        request.url = url;
        request.total_timeout = 5s;
        auto r = client_.send(request);
        if (!r || r->status != 200) return "";
        return r->body;
    }
    int supervisor_pid() {
        auto text = testing::read_file(dir_ / "state/deploy/supervisor.pid");
        return text.empty() ? 0 : std::stoi(text);
    }

    testing::TempDir dir_;
    FixtureRepo repo_;
    http::CurlHttpClient client_;
};

// ---- target: local, the churn service --------------------------------------------------

std::string churn_pipeline(const std::string& run, const std::string& timeout) {
    return "name: churn\nstages:\n  deploy:\n    kind: deploy\n    environment: staging\n"
           "    target: local\n    run: " +
           run +
           "\n"
           "    health_url: http://127.0.0.1:$PORT/health\n    health_timeout: " +
           timeout + "\nenvironments:\n  staging: {}\n";
}

const std::string k_uvicorn = std::string("MODEL_PATH=model.pkl exec ") + k_python +
                              " -m uvicorn --app-dir service app:app --host 127.0.0.1 --port $PORT "
                              "--log-level warning";

TEST_F(DeployTargets, LocalServiceSwitchesOnlyToAHealthyDeployment) {
    if (::access(k_python, X_OK) != 0 ||
        testing::run_command({k_python, "-c", "import fastapi, uvicorn, sklearn"}).exit_code != 0) {
        GTEST_SKIP() << k_python << " lacks fastapi, uvicorn or scikit-learn";
    }
    auto churn = source_dir() / "examples" / "churn";
    // A real model, trained by the example's own code (about two seconds).
    auto trained = testing::run_command(
        {k_python, "-m", "churn.train", "--data", "data/churn.csv", "--out",
         (dir_ / "model.pkl").string(), "--metrics", (dir_ / "metrics.json").string()},
        {churn, {}});
    ASSERT_EQ(trained.exit_code, 0) << trained.err;
    repo_.write("service/app.py", testing::read_file(churn / "service" / "app.py"));
    repo_.write("model.pkl", testing::read_file(dir_ / "model.pkl"));
    repo_.write("sluice.yml", churn_pipeline(k_uvicorn, "30s"));
    repo_.commit("first");

    auto first = sluice({"run"});
    ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
    auto out1 = stage(1, "deploy")["outputs"];
    std::string url1 = out1.value("url", "");
    int pid1 = std::stoi(out1.value("pid", "0"));
    EXPECT_NE(get(url1 + "/health").find("\"status\":\"ok\""), std::string::npos);
    int daemon = supervisor_pid();
    EXPECT_TRUE(alive(daemon));

    repo_.write("VERSION", "2\n");
    repo_.commit("second");
    auto second = sluice({"run"});
    ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
    auto out2 = stage(2, "deploy")["outputs"];
    std::string url2 = out2.value("url", "");
    int pid2 = std::stoi(out2.value("pid", "0"));
    EXPECT_NE(url2, url1);
    EXPECT_NE(get(url2 + "/health").find("\"status\":\"ok\""), std::string::npos);
    EXPECT_FALSE(alive(pid1));  // switched: the old service is gone
    EXPECT_EQ(get(url1 + "/health"), "");
    EXPECT_EQ(stage(2, "deploy")["report"]["service"]["previous"]["id"], "r1-deploy");

    // A service that exits at once: the stage fails, run 2's service keeps answering.
    repo_.write("sluice.yml",
                churn_pipeline(std::string(k_python) + " -c 'raise SystemExit(3)'", "30s"));
    repo_.commit("broken");
    auto third = sluice({"run"});
    EXPECT_EQ(third.exit_code, 1) << third.out << third.err;
    std::string reason = stage(3, "deploy")["reason"];
    EXPECT_EQ(reason,
              "not switched: the service exited with status 3 before it was healthy; "
              "staging still runs r2-deploy at " +
                  url2);
    EXPECT_TRUE(alive(pid2));
    EXPECT_NE(get(url2 + "/health").find("\"status\":\"ok\""), std::string::npos);

    // A service that runs but never gets healthy (no model: /health answers 503).
    repo_.write("sluice.yml", churn_pipeline(k_uvicorn, "2s"));
    repo_.remove("model.pkl");
    repo_.commit("no model");
    auto fourth = sluice({"run"});
    EXPECT_EQ(fourth.exit_code, 1) << fourth.out << fourth.err;
    reason = stage(4, "deploy")["reason"];
    EXPECT_NE(reason.find("not switched: not healthy within 2.0s (GET http://127.0.0.1:"),
              std::string::npos)
        << reason;
    EXPECT_NE(reason.find("the last answer was HTTP 503"), std::string::npos) << reason;
    EXPECT_NE(get(url2 + "/health").find("\"status\":\"ok\""), std::string::npos);
    EXPECT_TRUE(alive(pid2));

    auto h = history("staging");
    ASSERT_EQ(h.size(), 4u) << h;
    EXPECT_EQ(h[0]["status"], "failed");
    EXPECT_EQ(h[1]["status"], "failed");
    EXPECT_EQ(h[2]["status"], "passed");
    EXPECT_EQ(h[2]["run"], 2);
    auto list = nlohmann::json::parse(sluice({"env", "list", "--json"}).out, nullptr, false);
    ASSERT_TRUE(list.is_array());
    EXPECT_EQ(list[0]["service"]["deployment"], "r2-deploy");
    EXPECT_EQ(list[0]["service"]["pid"], pid2);

    // Rollback: run 1's deployment again (its commit, in a new run), switched to once healthy.
    auto back = sluice({"env", "rollback", "staging"});
    ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
    auto out5 = stage(5, "deploy")["outputs"];
    int pid5 = std::stoi(out5.value("pid", "0"));
    EXPECT_NE(get(out5.value("url", "") + "/health").find("\"status\":\"ok\""), std::string::npos);
    EXPECT_FALSE(alive(pid2));
    h = history("staging");
    EXPECT_EQ(h[0]["reason"], "rollback to the deployment of run 1");
    ASSERT_EQ(h.size(), 5u);
    EXPECT_EQ(h[0]["commit"], h[4]["commit"]);  // run 1's

    auto stop = sluice({"env", "stop", "staging"});
    EXPECT_EQ(stop.exit_code, 0) << stop.err;
    EXPECT_EQ(stop.out, "staging: stopped r5-deploy\n");
    EXPECT_TRUE(eventually([&] { return !alive(pid5) && !alive(daemon); }));
}

// ---- target: local, an OCI image layout ------------------------------------------------

constexpr const char* k_server_py = R"py(import http.server, os
MESSAGE = open(os.environ["MESSAGE_FILE"]).read().strip() + " / " + os.environ["GREETING"]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = MESSAGE.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
)py";

TEST_F(DeployTargets, LocalServiceFromAnOciImageLayout) {
    if (::access(k_python, X_OK) != 0) GTEST_SKIP() << "no " << k_python;
    auto layout = dir_ / "layout";
    std::string digest = deploy::test_support::write_layout(
        layout,
        {{{"app/", "", 0755, ""}, {"app/server.py", k_server_py, 0644, ""}},
         {{"app/message.txt", "hello from the image\n", 0644, ""}}},
        {{"Entrypoint", {k_python}},
         {"Cmd", {"/app/server.py"}},
         {"Env", {"GREETING=greetings", "MESSAGE_FILE=/app/message.txt"}},
         {"WorkingDir", "/app"}});
    repo_.write("sluice.yml",
                "name: svc\nstages:\n  deploy:\n    kind: deploy\n"
                "    environment: staging\n    target: local\n    image: " +
                    layout.string() +
                    "\n    health_url: http://127.0.0.1:${PORT}/\n"
                    "    health_timeout: 20s\n");
    repo_.commit("image");
    auto r = sluice({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto deploy = stage(1, "deploy");
    EXPECT_EQ(deploy["outputs"]["digest"], digest);
    EXPECT_EQ(get(deploy["outputs"]["url"].get<std::string>() + "/"),
              "hello from the image / greetings");
    auto h = history("staging");
    ASSERT_EQ(h.size(), 1u);
    EXPECT_EQ(h[0]["image"], digest);
    auto show = sluice({"show", "1"});
    EXPECT_NE(show.out.find("deploy: deployed to staging, image " + digest +
                            ", serving http://127.0.0.1:"),
              std::string::npos)
        << show.out;
    auto text = sluice({"env", "history", "staging"});
    EXPECT_NE(text.out.find(digest.substr(0, 19)), std::string::npos) << text.out;

    int pid = std::stoi(deploy["outputs"]["pid"].get<std::string>());
    int daemon = supervisor_pid();
    auto stop = sluice({"env", "stop", "--all"});
    EXPECT_EQ(stop.exit_code, 0) << stop.err;
    EXPECT_TRUE(eventually([&] { return !alive(pid) && !alive(daemon); }));
}

TEST_F(DeployTargets, ALocalImageThatIsNoLayoutFailsTheStage) {
    repo_.write("sluice.yml",
                "name: svc\nstages:\n  deploy:\n    kind: deploy\n"
                "    environment: staging\n    target: local\n"
                "    image: registry.example/churn:1\n");
    repo_.commit("bad image");
    auto r = sluice({"run"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(stage(1, "deploy")["reason"],
              "image: registry.example/churn:1 is not a directory; target: local runs an OCI image "
              "layout (e.g. ${{ stages.image.outputs.layout }}), not a registry reference");
    // Refused before anything ran, like a deploy from the wrong branch: nothing recorded.
    EXPECT_EQ(sluice({"env", "history", "staging"}).exit_code, 2);
}

// ---- target: kubernetes, with a fake kubectl -------------------------------------------

TEST_F(DeployTargets, KubernetesAppliesTheManifestAndWaitsForTheRollout) {
    auto args = dir_ / "kubectl-args";
    auto manifest = dir_ / "kubectl-manifest";
    auto fake = dir_.write("kubectl",
                           "#!/bin/sh\necho \"$*\" >> " + args.string() +
                               "\ncase \"$1\" in\n  apply) cp \"$3\" " + manifest.string() +
                               " ;;\n  rollout) if [ -n \"$FAIL_ROLLOUT\" ]; then echo 'error: "
                               "deployment \"churn-staging\" exceeded its progress deadline' >&2; "
                               "exit 1; fi ;;\nesac\n");
    std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
    std::string image = "127.0.0.1:5000/churn@sha256:" + std::string(64, 'c');
    auto pipeline = [&](const std::string& kubectl) {
        return "name: churn\nstages:\n  deploy:\n    kind: deploy\n    environment: staging\n"
               "    target: kubernetes\n    image: " +
               image + "\n    kubectl: " + kubectl +
               "\n    namespace: ml\n    replicas: 2\n    port: 8000\n"
               "    health_url: /health\n    health_timeout: 45s\n";
    };
    repo_.write("sluice.yml", pipeline(fake.string()));
    repo_.commit("k8s");
    auto r = sluice({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto scratch = dir_ / "state/runs/1/deploy.d/manifest.json";
    EXPECT_EQ(testing::read_file(args), "apply -f " + scratch.string() +
                                            "\nrollout status deployment/churn-staging "
                                            "--namespace ml --timeout=45s\n");
    auto applied = nlohmann::json::parse(testing::read_file(manifest), nullptr, false);
    ASSERT_FALSE(applied.is_discarded());
    const auto& container = applied["items"][0]["spec"]["template"]["spec"]["containers"][0];
    EXPECT_EQ(container["image"], image);
    EXPECT_EQ(applied["items"][0]["spec"]["replicas"], 2);
    EXPECT_EQ(applied["items"][1]["spec"]["ports"][0]["port"], 8000);
    EXPECT_EQ(stage(1, "deploy")["outputs"]["image"], image);
    EXPECT_EQ(history("staging")[0]["image"], image);

    repo_.write("sluice.yml", pipeline("FAIL_ROLLOUT=1 " + fake.string()));
    repo_.commit("failing rollout");
    auto failing = sluice({"run"});
    EXPECT_EQ(failing.exit_code, 1) << failing.out;
    EXPECT_EQ(stage(2, "deploy")["status"], "failed");
    EXPECT_EQ(stage(2, "deploy")["reason"], "exit status 1");
    EXPECT_NE(sluice({"logs", "2", "deploy"}).out.find("exceeded its progress deadline"),
              std::string::npos);
    auto h = history("staging");
    ASSERT_EQ(h.size(), 2u);
    EXPECT_EQ(h[0]["status"], "failed");
    EXPECT_EQ(h[0]["image"], image);
}

TEST_F(DeployTargets, KubernetesRefusesAnImageNotPinnedByDigest) {
    repo_.write("sluice.yml",
                "name: churn\nstages:\n  deploy:\n    kind: deploy\n"
                "    environment: staging\n    target: kubernetes\n"
                "    image: 127.0.0.1:5000/churn:latest\n    kubectl: false\n");
    repo_.commit("tag");
    auto r = sluice({"run"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(stage(1, "deploy")["reason"],
              "target: kubernetes needs image: pinned by digest (REPO@sha256:..., e.g. "
              "${{ stages.push.outputs.image }}), got `127.0.0.1:5000/churn:latest`");
}

}  // namespace
}  // namespace sluice
