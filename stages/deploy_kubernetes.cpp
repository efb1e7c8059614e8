// The kubernetes target of the deploy stage kind.
#include "stages/deploy_kubernetes.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

#include "runner/util/atomic_file.hpp"
#include "runner/util/shell_quote.hpp"
#include "stages/config_text.hpp"
#include "stages/deploy_local.hpp"
#include "stages/kubernetes_manifest.hpp"

namespace sluice::stages {

namespace {

using util::ErrorCode;
using util::fail;

util::Result<int> number_of(const nlohmann::json& config, const char* key, int fallback, int low,
                            int high) {
    std::string text = config_text(config, key);
    if (text.empty()) return fallback;
    int value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < low || value > high) {
        return fail(ErrorCode::bad_input, std::string(key) + ": `" + text +
                                              "` is not a number from " + std::to_string(low) +
                                              " to " + std::to_string(high));
    }
    return value;
}

// The path of a health URL ("/health" from "http://host:8080/health" or "/health").
std::string path_of(const std::string& url) {
    if (url.empty() || url.front() == '/') return url;
    auto scheme = url.find("://");
    if (scheme == std::string::npos) return "";
    auto slash = url.find('/', scheme + 3);
    return slash == std::string::npos ? "/" : url.substr(slash);
}

}  // namespace

util::Result<exec::ProcessSpec> kubernetes_deploy_process(const StageContext& context) {
    const nlohmann::json& config = context.config;
    KubernetesApp app;
    app.environment = *context.stage.environment;
    app.image = config_text(config, "image");
    if (!is_digest_reference(app.image)) {
        return fail(ErrorCode::bad_input,
                    "target: kubernetes needs image: pinned by digest (REPO@sha256:..., e.g. "
                    "${{ stages.push.outputs.image }}), got `" +
                        app.image + "`");
    }
    app.name = config_text(config, "name");
    if (app.name.empty()) app.name = to_dns_label(context.pipeline.name + "-" + app.environment);
    if (!is_dns_label(app.name)) {
        return fail(ErrorCode::bad_input, "name: `" + app.name +
                                              "` is not a Kubernetes name (lower-case letters, "
                                              "digits and '-', at most 63)");
    }
    app.ns = config_text(config, "namespace");
    if (!app.ns.empty() && !is_dns_label(app.ns)) {
        return fail(ErrorCode::bad_input, "namespace: `" + app.ns + "` is not a Kubernetes name");
    }
    auto replicas = number_of(config, "replicas", 1, 0, 1000);
    if (!replicas) return std::unexpected(replicas.error());
    app.replicas = *replicas;
    auto port = number_of(config, "port", 8080, 1, 65535);
    if (!port) return std::unexpected(port.error());
    app.port = *port;
    app.health_path = path_of(config_text(config, "health_url"));
    auto timeout = health_timeout_of(context);
    if (!timeout) return std::unexpected(timeout.error());
    long seconds = std::max<long>(1, static_cast<long>(timeout->count() / 1000));

    std::error_code ec;
    std::filesystem::create_directories(context.scratch, ec);
    std::filesystem::path manifest_file;
    std::string manifest;
    std::string template_name = config_text(config, "manifest");
    if (!template_name.empty()) {
        std::filesystem::path source(template_name);
        if (source.is_relative()) source = context.workspace / source;
        std::ifstream in(source);
        if (!in) return fail(ErrorCode::bad_input, "manifest: cannot read " + source.string());
        std::stringstream text;
        text << in.rdbuf();
        auto filled = fill_template(text.str(), template_values(app), template_name);
        if (!filled) return std::unexpected(filled.error());
        manifest = std::move(*filled);
        auto extension = source.extension().string();
        manifest_file = context.scratch / ("manifest" + (extension.empty() ? ".yaml" : extension));
    } else {
        manifest = render_manifest(app).dump(2) + "\n";
        manifest_file = context.scratch / "manifest.json";
    }
    if (auto w = util::write_file_atomically(manifest_file, manifest); !w)
        return std::unexpected(w.error());

    std::string kubectl = config_text(config, "kubectl");
    if (kubectl.empty()) kubectl = "kubectl";
    std::string ns = app.ns.empty() ? "" : " --namespace " + util::shell_quote(app.ns);
    std::string apply = kubectl + " apply -f " + util::shell_quote(manifest_file.string());
    std::string rollout = kubectl + " rollout status deployment/" + app.name + ns +
                          " --timeout=" + std::to_string(seconds) + "s";
    std::string script = "# written by sluice for stage " + context.stage.name + "\nset -e\n" +
                         "echo " + util::shell_quote("+ " + apply) + "\n" + apply + "\n" + "echo " +
                         util::shell_quote("+ " + rollout) + "\n" + rollout + "\n" +
                         "printf 'image=%s\\nname=%s\\nmanifest=%s\\n' " + util::shell_quote(app.image) +
                         " " + util::shell_quote(app.name) + " " + util::shell_quote(manifest_file.string()) +
                         " >> \"$SLUICE_OUTPUT\"\n";
    auto script_file = context.scratch / "kubectl.sh";
    if (auto w = util::write_file_atomically(script_file, script); !w)
        return std::unexpected(w.error());

    exec::ProcessSpec process;
    process.argv = {"/bin/sh", "-e", script_file.string()};
    process.env = context.env;
    process.cwd = context.workspace;
    process.timeout = context.timeout;
    return process;
}

}  // namespace sluice::stages
