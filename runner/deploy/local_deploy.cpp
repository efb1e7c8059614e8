// A `target: local` deployment, from the deploy stage's process.
#include "runner/deploy/local_deploy.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include "runner/deploy/health_check.hpp"
#include "runner/deploy/image_command.hpp"
#include "runner/deploy/layer_unpack.hpp"
#include "runner/deploy/oci_image.hpp"
#include "runner/deploy/service_process.hpp"
#include "runner/deploy/supervisor_protocol.hpp"
#include "runner/util/atomic_file.hpp"
#include "runner/util/duration_format.hpp"

namespace sluice::deploy {

namespace {

using util::ErrorCode;
using util::fail;

// Deployment directories kept besides the current one (for looking at what ran).
constexpr std::size_t k_keep_old = 2;

// Copies the stage's working directory (without .git and the state directory) so that a
// later run reusing the workspace, or `sluice gc`, never changes files under the service.
util::Status copy_tree(const std::filesystem::path& from, const std::filesystem::path& to,
                       const std::filesystem::path& state_dir) {
    std::error_code ec;
    std::filesystem::create_directories(to, ec);
    if (ec) return fail(ErrorCode::io, "cannot create " + to.string() + ": " + ec.message());
    auto state = std::filesystem::weakly_canonical(state_dir, ec);
    std::filesystem::recursive_directory_iterator it(from, ec), end;
    if (ec) return fail(ErrorCode::io, "cannot read " + from.string() + ": " + ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) return fail(ErrorCode::io, "cannot read " + from.string() + ": " + ec.message());
        const auto& entry = *it;
        auto relative = std::filesystem::relative(entry.path(), from, ec);
        if (entry.path().filename() == ".git" ||
            std::filesystem::weakly_canonical(entry.path(), ec) == state) {
            if (entry.is_directory(ec)) it.disable_recursion_pending();
            continue;
        }
        auto target = to / relative;
        auto status = entry.symlink_status(ec);
        if (std::filesystem::is_symlink(status)) {
            std::filesystem::copy_symlink(entry.path(), target, ec);
        } else if (std::filesystem::is_directory(status)) {
            std::filesystem::create_directories(target, ec);
        } else if (std::filesystem::is_regular_file(status)) {
            std::filesystem::copy_file(entry.path(), target,
                                       std::filesystem::copy_options::overwrite_existing, ec);
        }
        if (ec) {
            return fail(ErrorCode::io, "cannot copy " + entry.path().string() + " to " +
                                           target.string() + ": " + ec.message());
        }
    }
    return {};
}

std::string last_lines(const std::filesystem::path& file, std::size_t count) {
    std::ifstream in(file);
    std::vector<std::string> lines;
    std::string line;
    while (std::getline(in, line)) {
        lines.push_back(line);
        if (lines.size() > count) lines.erase(lines.begin());
    }
    std::string out;
    for (const auto& l : lines) out += "  | " + l + "\n";
    return out;
}

nlohmann::json read_json(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    auto json = nlohmann::json::parse(text.str(), nullptr, false);
    return in && json.is_object() ? json : nlohmann::json();
}

// Removes deployment directories but the current one, this one and the newest k_keep_old.
void prune(const std::filesystem::path& env_dir, const std::string& keep) {
    std::error_code ec;
    std::vector<std::pair<std::filesystem::file_time_type, std::filesystem::path>> old;
    for (const auto& entry : std::filesystem::directory_iterator(env_dir, ec)) {
        if (!entry.is_directory(ec) || entry.path().filename() == keep) continue;
        old.emplace_back(entry.last_write_time(ec), entry.path());
    }
    std::sort(old.begin(), old.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t i = k_keep_old; i < old.size(); ++i)
        std::filesystem::remove_all(old[i].second, ec);
}

}  // namespace

std::filesystem::path environment_dir(const std::filesystem::path& state_dir,
                                      const std::string& environment) {
    return deploy_root(state_dir) / environment;
}

nlohmann::json to_json(const LocalDeploySpec& s) {
    nlohmann::json env = nlohmann::json::array();
    for (const auto& [k, v] : s.env) env.push_back({k, v});
    return {{"environment", s.environment},
            {"deployment", s.deployment},
            {"state_dir", s.state_dir.string()},
            {"workspace", s.workspace.string()},
            {"image", s.image},
            {"command", s.command},
            {"env", env},
            {"health_url", s.health_url},
            {"health_timeout_ms", s.health_timeout_ms},
            {"stop_grace_ms", s.stop_grace_ms},
            {"output_file", s.output_file.string()},
            {"result_file", s.result_file.string()}};
}

util::Result<LocalDeploySpec> local_deploy_spec_from_json(const nlohmann::json& j) {
    try {
        LocalDeploySpec s;
        s.environment = j.at("environment").get<std::string>();
        s.deployment = j.at("deployment").get<std::string>();
        s.state_dir = j.at("state_dir").get<std::string>();
        s.workspace = j.at("workspace").get<std::string>();
        s.image = j.value("image", "");
        s.command = j.value("command", std::vector<std::string>());
        for (const auto& pair : j.value("env", nlohmann::json::array())) {
            s.env.emplace_back(pair.at(0).get<std::string>(), pair.at(1).get<std::string>());
        }
        s.health_url = j.value("health_url", "");
        s.health_timeout_ms = j.value("health_timeout_ms", std::int64_t{60'000});
        s.stop_grace_ms = j.value("stop_grace_ms", std::int64_t{5'000});
        s.output_file = j.value("output_file", "");
        s.result_file = j.value("result_file", "");
        return s;
    } catch (const nlohmann::json::exception& e) {
        return fail(ErrorCode::bad_input, std::string("malformed deploy spec: ") + e.what());
    }
}

util::Status deploy_local(const LocalDeploySpec& spec, http::HttpClient& client) {
    auto env_dir = environment_dir(spec.state_dir, spec.environment);
    auto dir = env_dir / spec.deployment;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(ErrorCode::io, "cannot create " + dir.string() + ": " + ec.message());

    ServiceCommand service;
    std::string digest;
    if (!spec.image.empty()) {
        auto image = read_oci_layout(spec.image);
        if (!image) return std::unexpected(image.error());
        digest = image->digest;
        auto root = dir / "rootfs";
        if (auto unpacked = unpack_image(*image, root); !unpacked) return unpacked;
        std::cout << "deploy: unpacked " << image->layers.size() << " layer(s) of " << digest
                  << " into " << root.string() << std::endl;
        auto made = image_service(*image, root, spec.command, spec.env);
        if (!made) return std::unexpected(made.error());
        service = std::move(*made);
    } else {
        if (spec.command.empty()) {
            return fail(ErrorCode::bad_input,
                        "a local deployment needs an image: or a run: (the service's command)");
        }
        auto app = dir / "app";
        if (auto copied = copy_tree(spec.workspace, app, spec.state_dir); !copied) return copied;
        service.argv = spec.command;
        service.env = spec.env;
        service.cwd = app;
    }
    std::erase_if(service.env, [](const auto& kv) { return kv.first == "SLUICE_OUTPUT"; });
    auto port = pick_free_port();
    if (!port) return std::unexpected(port.error());
    set_env(service.env, "PORT", std::to_string(*port));
    std::string url = "http://127.0.0.1:" + std::to_string(*port);
    std::string health_url = substitute_port(spec.health_url, *port);

    auto client_connection = SupervisorClient::connect(spec.state_dir);
    if (!client_connection) return std::unexpected(client_connection.error());
    SupervisorClient& supervisor = *client_connection;
    nlohmann::json previous = read_json(env_dir / "current.json");
    nlohmann::json env = nlohmann::json::array();
    for (const auto& [k, v] : service.env) env.push_back({k, v});
    auto log = dir / "service.log";
    auto started = supervisor.call({{"op", "start"},
                                    {"environment", spec.environment},
                                    {"id", spec.deployment},
                                    {"argv", service.argv},
                                    {"env", env},
                                    {"cwd", service.cwd.string()},
                                    {"log", log.string()},
                                    {"port", *port},
                                    {"url", url},
                                    {"image", digest},
                                    {"stop_grace_ms", spec.stop_grace_ms}});
    if (!started) return std::unexpected(started.error());
    std::cout << "deploy: started " << spec.deployment << " (pid " << (*started)["pid"] << ", port "
              << *port << "); log " << log.string() << std::endl;

    HealthPolicy policy;
    policy.url = health_url;
    policy.timeout = std::chrono::milliseconds(spec.health_timeout_ms);
    std::cout << "deploy: waiting up to " << util::format_duration(spec.health_timeout_ms)
              << (health_url.empty() ? std::string(" for it to keep running")
                                     : " for GET " + health_url + " to answer 2xx")
              << std::endl;
    auto probe = [&]() -> std::optional<std::string> {
        auto status = supervisor.call(
            {{"op", "status"}, {"environment", spec.environment}, {"id", spec.deployment}});
        if (!status) return "was lost (" + status.error().message + ")";
        if ((*status)["running"] == true) return std::nullopt;
        return (*status).value("exit", std::string("exited"));
    };
    auto healthy = wait_until_healthy(client, policy, probe);
    if (!healthy) {
        (void)supervisor.call(
            {{"op", "discard"}, {"environment", spec.environment}, {"id", spec.deployment}});
        std::cout << "deploy: " << healthy.error().message << "; the service's last output:\n"
                  << last_lines(log, 20) << std::flush;
        std::string kept =
            previous.is_object()
                ? "; " + spec.environment + " still runs " +
                      previous.value("deployment", std::string("the previous service")) + " at " +
                      previous.value("url", std::string("?"))
                : "; nothing was switched";
        return fail(ErrorCode::unavailable, "not switched: " + healthy.error().message + kept);
    }
    auto promoted = supervisor.call(
        {{"op", "promote"}, {"environment", spec.environment}, {"id", spec.deployment}});
    if (!promoted) return std::unexpected(promoted.error());
    const auto& replaced = (*promoted)["previous"];
    std::cout << "deploy: " << spec.environment << " now runs " << spec.deployment << " at " << url
              << (replaced.is_object() ? " (stopped " + replaced.value("id", std::string()) + ")"
                                       : std::string())
              << std::endl;

    std::string outputs = "url=" + url + "\nport=" + std::to_string(*port) +
                          "\npid=" + (*started)["pid"].dump() + "\ndeployment=" + spec.deployment +
                          "\n";
    if (!health_url.empty()) outputs += "health_url=" + health_url + "\n";
    if (!digest.empty()) outputs += "digest=" + digest + "\n";
    if (!spec.output_file.empty()) {
        std::ofstream out(spec.output_file, std::ios::app);
        out << outputs;
        if (!out) return fail(ErrorCode::io, "cannot write " + spec.output_file.string());
    }
    nlohmann::json result = {
        {"deployment", spec.deployment}, {"url", url},      {"port", *port},
        {"pid", (*started)["pid"]},      {"image", digest}, {"previous", replaced}};
    if (!spec.result_file.empty()) {
        if (auto w = util::write_file_atomically(spec.result_file, result.dump(2) + "\n"); !w)
            return w;
    }
    prune(env_dir, spec.deployment);
    return {};
}

}  // namespace sluice::deploy
