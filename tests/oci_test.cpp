// Integration tests of `kind: image` and `kind: push` against a real registry
// (docker-registry on loopback), checked with skopeo: build and push, what a second push
// and a push to another repository send, chunked uploads, Basic authentication, a
// registry that fails and recovers, one that is down, base images from a layout and from
// a registry (an index resolved to linux/amd64), and a builder command.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runner/git/repo_fixture_test_support.hpp"
#include "runner/http/curl_http_client.hpp"
#include "runner/testing/command.hpp"
#include "tests/run_json_support.hpp"
#include "runner/testing/oci_registry.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice {
namespace {

using git::test_support::FixtureRepo;
using testing::CommandResult;

class Oci : public ::testing::Test {
protected:
    Oci() : repo_(dir_ / "project") {}
    void SetUp() override {
        if (auto missing = testing::missing_registry_tools(); !missing.empty()) GTEST_SKIP() << missing;
        repo_.write("service/app.py", "print('churn model service')\n");
        repo_.write("service/requirements.txt", "scikit-learn\n");
        repo_.write("service/debug.log", "not in the image\n");
    }
    CommandResult sluice(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
        std::vector<std::string> argv = {testing::sluice_binary(), "--state", (dir_ / "state").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        auto e = git::test_support::git_env();
        e["HOME"] = (dir_ / "home").string();
        e["DOCKER_CONFIG"] = "";
        for (auto& [k, v] : env) e[k] = v;
        return testing::run_command(argv, {repo_.dir(), e});
    }
    CommandResult run_pipeline(const std::string& yaml, std::map<std::string, std::string> env = {}) {
        repo_.write("sluice.yml", yaml);
        repo_.commit("pipeline");
        return sluice({"run"}, std::move(env));
    }
    nlohmann::json stage(int run, const std::string& name) {
        return testing::stage_in_show(sluice({"show", std::to_string(run), "--json"}).out, name);
    }
    static CommandResult skopeo(std::vector<std::string> args) {
        args.insert(args.begin(), "/usr/bin/skopeo");
        return testing::run_command(args);
    }
    // The content of `path` in the layers of an OCI layout's image (skopeo's copy).
    static std::string file_in_layout(const std::filesystem::path& layout, const std::string& path) {
        auto index = nlohmann::json::parse(testing::read_file(layout / "index.json"));
        std::string manifest_digest = index["manifests"][0]["digest"];
        auto blob = [&](const std::string& digest) {
            return layout / "blobs" / "sha256" / digest.substr(7);
        };
        auto manifest = nlohmann::json::parse(testing::read_file(blob(manifest_digest)));
        std::string found;
        for (const auto& layer : manifest["layers"]) {
            auto r = testing::run_command({"tar", "-xzOf", blob(layer["digest"]).string(), path});
            if (r.exit_code == 0) found = r.out;
        }
        return found;
    }

    testing::TempDir dir_;
    FixtureRepo repo_;
};

std::string image_stage(const std::string& host, const std::string& extra = "") {
    return "  image:\n    kind: image\n    context: service/\n    tag: " + host +
           "/churn:${{ commit.short }}\n    ignore: ['*.log']\n    workdir: /app\n"
           "    cmd: [python3, app.py]\n    env: {MODEL: churn}\n    expose: [8080]\n"
           "    labels: {team: ml}\n" + extra;
}

TEST_F(Oci, BuildsAnImageAndPushesItToARealRegistry) {
    testing::OciTestRegistry registry;
    ASSERT_TRUE(registry.ok()) << registry.error();
    auto r = run_pipeline("name: churn\nstages:\n" + image_stage(registry.host()) +
                          "  push:\n    kind: push\n    needs: [image]\n");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto image = stage(1, "image");
    auto push = stage(1, "push");
    std::string digest = image["outputs"]["digest"];
    EXPECT_EQ(push["outputs"]["digest"], digest);
    std::string short_sha = repo_.head().substr(0, 8);  // commit.short
    std::string repo_name = registry.host() + "/churn";
    EXPECT_EQ(push["outputs"]["image"], repo_name + "@" + digest);
    EXPECT_EQ(push["outputs"]["tag"], repo_name + ":" + short_sha);
    EXPECT_EQ(push["report"]["digest"], digest);  // recorded with the run
    EXPECT_EQ(push["report"]["uploaded"], 2);     // the layer and the config
    EXPECT_EQ(push["report"]["blobs"][0]["chunked"], false);
    EXPECT_EQ(image["outputs"]["tag"], repo_name + ":" + short_sha);

    auto inspect = skopeo({"inspect", "--tls-verify=false", "docker://" + repo_name + ":" + short_sha});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    auto info = nlohmann::json::parse(inspect.out);
    EXPECT_EQ(info["Digest"], digest);
    EXPECT_EQ(info["Labels"]["org.opencontainers.image.revision"], repo_.head());
    EXPECT_EQ(info["Labels"]["sluice.run"], "1");
    EXPECT_EQ(info["Labels"]["team"], "ml");
    EXPECT_EQ(info["Architecture"], "amd64");
    EXPECT_EQ(info["Os"], "linux");

    auto copied = dir_ / "copied";
    auto copy = skopeo({"copy", "--src-tls-verify=false", "docker://" + repo_name + ":" + short_sha,
                        "oci:" + copied.string() + ":x"});
    ASSERT_EQ(copy.exit_code, 0) << copy.err;
    EXPECT_EQ(file_in_layout(copied, "app/app.py"), "print('churn model service')\n");
    EXPECT_EQ(file_in_layout(copied, "app/debug.log"), "");  // ignored
    auto config = skopeo({"inspect", "--config", "oci:" + copied.string() + ":x"});
    auto c = nlohmann::json::parse(config.out);
    EXPECT_EQ(c["config"]["Cmd"], nlohmann::json({"python3", "app.py"}));
    EXPECT_EQ(c["config"]["WorkingDir"], "/app");
    EXPECT_EQ(c["config"]["Env"], nlohmann::json({"MODEL=churn"}));
    EXPECT_TRUE(c["config"]["ExposedPorts"].contains("8080/tcp"));

    // The same context in another run: the same layer (reproducible), and the push
    // sends only the new config (its labels name the run).
    ASSERT_EQ(sluice({"run"}).exit_code, 0);
    EXPECT_EQ(stage(2, "image")["report"]["layer"], image["report"]["layer"]);
    EXPECT_EQ(stage(2, "push")["report"]["uploaded"], 1);
    EXPECT_EQ(stage(2, "push")["report"]["skipped"], 1);
}

TEST_F(Oci, ASecondPushUploadsNothingAndAnotherRepositoryMounts) {
    testing::OciTestRegistry registry;
    ASSERT_TRUE(registry.ok()) << registry.error();
    std::string h = registry.host();
    auto r = run_pipeline("name: churn\nstages:\n" + image_stage(h) +
                          "  push:\n    kind: push\n    needs: [image]\n"
                          "  again:\n    kind: push\n    needs: [push]\n    image: image\n"
                          "    tag: " + h + "/churn:stable\n"
                          "  elsewhere:\n    kind: push\n    needs: [again]\n    tag: " + h +
                          "/mirror/churn:v1\n");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto again = stage(1, "again")["report"];
    EXPECT_EQ(again["uploaded"], 0);
    EXPECT_EQ(again["skipped"], 2);
    auto elsewhere = stage(1, "elsewhere")["report"];
    EXPECT_EQ(elsewhere["uploaded"], 0);
    EXPECT_EQ(elsewhere["mounted"], 2);
    EXPECT_EQ(elsewhere["blobs"][0]["from"], "churn");
    auto inspect = skopeo({"inspect", "--tls-verify=false", "docker://" + h + "/mirror/churn:v1"});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    EXPECT_EQ(nlohmann::json::parse(inspect.out)["Digest"], stage(1, "image")["outputs"]["digest"]);
}

TEST_F(Oci, LargeBlobsGoUpInChunks) {
    testing::OciTestRegistry registry;
    ASSERT_TRUE(registry.ok()) << registry.error();
    std::string noise;
    std::uint32_t x = 12345;
    for (int i = 0; i < 20000; ++i) {
        x = x * 1103515245u + 12345u;
        noise += static_cast<char>('a' + (x >> 16) % 26);
    }
    repo_.write("service/weights.bin", noise);
    auto r = run_pipeline("name: churn\nstages:\n" + image_stage(registry.host()) +
                          "  push:\n    kind: push\n    needs: [image]\n"
                          "    env: {SLUICE_PUSH_CHUNK_SIZE: '4096'}\n");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto blobs = stage(1, "push")["report"]["blobs"];
    EXPECT_EQ(blobs[0]["chunked"], true);  // the layer: about 12 KiB compressed
    EXPECT_GT(blobs[0]["size"].get<int>(), 8192);
    auto copied = dir_ / "copied";
    std::string pushed = stage(1, "push")["outputs"]["tag"];
    auto copy = skopeo({"copy", "--src-tls-verify=false", "docker://" + pushed, "oci:" + copied.string()});
    ASSERT_EQ(copy.exit_code, 0) << copy.err;
    EXPECT_EQ(file_in_layout(copied, "app/weights.bin"), noise);
}

TEST_F(Oci, BasicAuthenticationWrongCredentialsFailRightOnesPass) {
    testing::OciTestRegistry registry({"bot", "s3cret", 0});
    ASSERT_TRUE(registry.ok()) << registry.error();
    std::string h = registry.host();
    auto wrong = run_pipeline("name: churn\nstages:\n" + image_stage(h) +
                              "  push:\n    kind: push\n    needs: [image]\n"
                              "    credentials: {username: bot, password: nope}\n");
    EXPECT_EQ(wrong.exit_code, 1) << wrong.out;
    auto failed = stage(1, "push");
    EXPECT_EQ(failed["status"], "failed");
    EXPECT_NE(failed["reason"].get<std::string>().find("refused the credentials of bot"),
              std::string::npos) << failed.dump();
    EXPECT_FALSE(failed.contains("outputs") && failed["outputs"].contains("digest"));

    auto anonymous = run_pipeline("name: churn\nstages:\n" + image_stage(h) +
                                  "  push:\n    kind: push\n    needs: [image]\n");
    EXPECT_EQ(anonymous.exit_code, 1);
    EXPECT_NE(stage(2, "push")["reason"].get<std::string>().find("requires authentication"),
              std::string::npos);

    // From the stage's environment (credentials: NAME), and from ~/.docker/config.json.
    auto named = run_pipeline("name: churn\nstages:\n" + image_stage(h) +
                              "  push:\n    kind: push\n    needs: [image]\n    credentials: REG\n"
                              "    inherit_env: [REG_USERNAME, REG_PASSWORD]\n",
                              {{"REG_USERNAME", "bot"}, {"REG_PASSWORD", "s3cret"}});
    EXPECT_EQ(named.exit_code, 0) << named.out << named.err;
    std::string auth = "Ym90OnMzY3JldA==";  // base64("bot:s3cret")
    testing::TempDir home;
    home.write(".docker/config.json", R"({"auths": {")" + h + R"(": {"auth": ")" + auth + "\"}}}");
    auto from_config = run_pipeline("name: churn\nstages:\n" + image_stage(h) +
                                    "  push:\n    kind: push\n    needs: [image]\n",
                                    {{"HOME", home.path().string()}});
    EXPECT_EQ(from_config.exit_code, 0) << from_config.out << from_config.err;
    EXPECT_EQ(stage(4, "push")["status"], "passed");
}

TEST_F(Oci, AFlakyRegistryIsRetriedAndADownOneFailsClosed) {
    testing::OciTestRegistry registry({"", "", 3});
    ASSERT_TRUE(registry.ok()) << registry.error();
    auto r = run_pipeline("name: churn\nstages:\n" + image_stage(registry.host()) +
                          "  push:\n    kind: push\n    needs: [image]\n");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(registry.refused(), 3);
    auto logs = sluice({"logs", "1", "push"});
    EXPECT_NE(logs.out.find("HTTP 503; retrying"), std::string::npos) << logs.out;
    std::string short_sha = repo_.head().substr(0, 8);
    auto inspect = skopeo({"inspect", "--tls-verify=false",
                           "docker://" + registry.direct_host() + "/churn:" + short_sha});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    EXPECT_EQ(nlohmann::json::parse(inspect.out)["Digest"], stage(1, "push")["outputs"]["digest"]);

    auto down = run_pipeline("name: churn\nstages:\n" + image_stage(registry.host()) +
                             "  push:\n    kind: push\n    needs: [image]\n"
                             "    tag: 127.0.0.1:1/churn:x\n    env: {SLUICE_PUSH_ATTEMPTS: '2'}\n");
    EXPECT_EQ(down.exit_code, 1);
    auto failed = stage(2, "push");
    EXPECT_NE(failed["reason"].get<std::string>().find("cannot be reached after 2 tries"),
              std::string::npos) << failed.dump();
}

TEST_F(Oci, BaseImagesFromALayoutAndFromARegistryIndex) {
    testing::OciTestRegistry registry;
    ASSERT_TRUE(registry.ok()) << registry.error();
    std::string h = registry.host();
    repo_.write("base-amd/etc/flavour", "amd64\n");
    repo_.write("base-arm/etc/flavour", "arm64\n");
    auto bases = run_pipeline(
        "name: bases\nstages:\n"
        "  amd:\n    kind: image\n    context: base-amd\n    tag: " + h + "/base:amd\n"
        "  arm:\n    kind: image\n    context: base-arm\n    tag: " + h + "/base:arm\n"
        "  push-amd:\n    kind: push\n    needs: [amd]\n"
        "  push-arm:\n    kind: push\n    needs: [arm]\n"
        "  on-layout:\n    kind: image\n    needs: [amd]\n    context: service\n"
        "    base: ${{ stages.amd.outputs.image }}\n");
    ASSERT_EQ(bases.exit_code, 0) << bases.out << bases.err;
    EXPECT_EQ(stage(1, "on-layout")["report"]["layers"], 2);
    std::string amd = stage(1, "push-amd")["outputs"]["digest"];
    std::string arm = stage(1, "push-arm")["outputs"]["digest"];

    // An index of both, by hand, with arm64 first.
    auto entry = [&](const std::string& digest, const char* arch) {
        http::CurlHttpClient http;
        http::Request head;
        head.method = http::Method::head;
        head.url = "http://" + h + "/v2/base/manifests/" + digest;
        head.headers.push_back({"Accept", "application/vnd.oci.image.manifest.v1+json"});
        auto answer = http.send(head);
        long size = answer ? std::stol(std::string(answer->header("content-length").value_or("0"))) : 0;
        return nlohmann::json{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                              {"digest", digest},
                              {"size", size},
                              {"platform", {{"os", "linux"}, {"architecture", arch}}}};
    };
    nlohmann::json index = {{"schemaVersion", 2},
                            {"mediaType", "application/vnd.oci.image.index.v1+json"},
                            {"manifests", {entry(arm, "arm64"), entry(amd, "amd64")}}};
    http::CurlHttpClient http;
    http::Request put;
    put.method = http::Method::put;
    put.url = "http://" + h + "/v2/base/manifests/multi";
    put.headers.push_back({"Content-Type", "application/vnd.oci.image.index.v1+json"});
    put.body = index.dump();
    auto answer = http.send(put);
    ASSERT_TRUE(answer);
    ASSERT_EQ(answer->status, 201) << answer->body;

    auto built = run_pipeline("name: churn\nstages:\n" +
                              image_stage(h, "    base: " + h + "/base:multi\n") +
                              "  push:\n    kind: push\n    needs: [image]\n");
    ASSERT_EQ(built.exit_code, 0) << built.out << built.err;
    auto report = stage(2, "image")["report"];
    EXPECT_EQ(report["layers"], 2);
    EXPECT_NE(report["base"].get<std::string>().find(amd), std::string::npos) << report.dump();
    auto copied = dir_ / "copied";
    std::string pushed = stage(2, "push")["outputs"]["tag"];
    auto copy = skopeo({"copy", "--src-tls-verify=false", "docker://" + pushed, "oci:" + copied.string()});
    ASSERT_EQ(copy.exit_code, 0) << copy.err;
    EXPECT_EQ(file_in_layout(copied, "etc/flavour"), "amd64\n");
    EXPECT_EQ(file_in_layout(copied, "app/app.py"), "print('churn model service')\n");
}

TEST_F(Oci, ABuilderCommandBuildsTheImage) {
    testing::OciTestRegistry registry;
    ASSERT_TRUE(registry.ok()) << registry.error();
    std::string h = registry.host();
    // A fake builder (as docker/buildah/kaniko would be): copies a prebuilt layout.
    repo_.write("fake-builder.sh",
                "#!/bin/sh\nset -e\necho \"tag=$SLUICE_IMAGE_TAG ref=$SLUICE_IMAGE_REF\"\n"
                "mkdir -p \"$SLUICE_IMAGE_LAYOUT\"\ncp -r \"$1\"/. \"$SLUICE_IMAGE_LAYOUT\"\n");
    std::filesystem::permissions(repo_.dir() / "fake-builder.sh", std::filesystem::perms::owner_exec,
                                 std::filesystem::perm_options::add);
    auto r = run_pipeline(
        "name: churn\nstages:\n"
        "  prebuilt:\n    kind: image\n    context: service\n"
        "  image:\n    kind: image\n    needs: [prebuilt]\n    context: service\n"
        "    tag: " + h + "/built:v1\n    builder: command\n"
        "    run: ./fake-builder.sh ${{ stages.prebuilt.outputs.layout }}\n"
        "  push:\n    kind: push\n    needs: [image]\n"
        "  broken:\n    kind: image\n    context: service\n    builder: sh -c 'exit 3'\n"
        "  empty:\n    kind: image\n    context: service\n    builder: 'true'\n");
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_EQ(stage(1, "image")["outputs"]["digest"], stage(1, "prebuilt")["outputs"]["digest"]);
    EXPECT_EQ(stage(1, "push")["status"], "passed");
    auto logs = sluice({"logs", "1", "image"});
    EXPECT_NE(logs.out.find("tag=" + h + "/built:v1 ref=v1"), std::string::npos) << logs.out;
    EXPECT_NE(stage(1, "broken")["reason"].get<std::string>().find(
                  "the builder command failed (exit status 3)"),
              std::string::npos);
    EXPECT_NE(stage(1, "empty")["reason"].get<std::string>().find("left no OCI layout"),
              std::string::npos) << stage(1, "empty").dump();
}

}  // namespace
}  // namespace sluice
