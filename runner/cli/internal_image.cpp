// `sluice internal image-build SPEC` and `sluice internal push SPEC`: the processes of
// image and push stages. Each reads the spec its stage kind wrote, does the work with
// progress on stdout (the stage's log), writes its outputs as key=value lines to
// $SLUICE_OUTPUT and its report as JSON beside the spec. Exit 0 when done; 1 with one
// line on stderr saying why not.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

#include "runner/cli/internal_commands.hpp"
#include "runner/cli/spec_file.hpp"
#include "runner/cli/session.hpp"
#include "runner/http/curl_http_client.hpp"
#include "runner/oci/distribution_client.hpp"
#include "runner/oci/image_builder.hpp"
#include "runner/oci/push.hpp"
#include "runner/oci/push_spec.hpp"
#include "runner/util/atomic_file.hpp"
#include "stages/registry_factory.hpp"

extern char** environ;

namespace sluice::cli {

namespace {

util::Status write_outputs(const std::vector<std::pair<std::string, std::string>>& outputs) {
    const char* file = std::getenv("SLUICE_OUTPUT");
    if (file == nullptr || *file == '\0') return {};
    std::ofstream out(file, std::ios::app);
    for (const auto& [k, v] : outputs) out << k << "=" << v << "\n";
    out.close();
    if (!out) return util::fail(util::ErrorCode::io, std::string("cannot write $SLUICE_OUTPUT ") + file);
    return {};
}

// The one line a failed stage shows, and its report.
int failed(const std::filesystem::path& report_file, const util::Error& error) {
    std::cerr << "error: " << error.message << std::endl;
    if (!report_file.empty()) {
        (void)util::write_file_atomically(report_file,
                                          nlohmann::json{{"error", error.message}}.dump(2) + "\n");
    }
    return util::exit_status::k_failed;
}

void log_line(const std::string& line) { std::cout << line << std::endl; }

// Runs the user's builder command with the image's variables; its exit status.
util::Result<int> run_builder(const oci::BuildSpec& spec) {
    std::vector<std::string> env_text;
    for (char** e = environ; *e != nullptr; ++e) env_text.emplace_back(*e);
    env_text.push_back("SLUICE_IMAGE_LAYOUT=" + spec.layout.string());
    env_text.push_back("SLUICE_IMAGE_CONTEXT=" + spec.context.string());
    env_text.push_back("SLUICE_IMAGE_TAG=" + spec.tag);
    env_text.push_back("SLUICE_IMAGE_REF=" + spec.ref_name);
    std::vector<char*> envp;
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = spec.builder_argv;
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::cout.flush();
    pid_t pid = ::fork();
    if (pid < 0) return util::fail(util::ErrorCode::process, "cannot start the builder command");
    if (pid == 0) {
        ::execvpe(argv[0], argv.data(), envp.data());
        _exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return util::fail(util::ErrorCode::process, "cannot wait for the builder");
    }
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

// The label of the model version this run logged, when the builtin registry has one.
void add_model_labels(oci::BuildSpec& spec) {
    if (spec.models.empty() || spec.run_id.empty()) return;
    if (!std::filesystem::exists(stages::builtin_registry_file(spec.state_dir))) return;
    auto registry = stages::open_registry("builtin", spec.state_dir);
    if (!registry) return;
    for (const auto& model : spec.models) {
        auto version = (*registry)->version_of_run(model, spec.run_id);
        if (version && *version) {
            spec.settings.labels["sluice.model"] = model;
            spec.settings.labels["sluice.model.version"] = (*version)->version;
            return;
        }
    }
}

}  // namespace

int internal_image_build(const std::string& spec_path) {
    auto json = read_spec_file(spec_path, "the stage spec");
    if (!json) return failed({}, json.error());
    auto spec = oci::build_spec_from_json(*json);
    if (!spec) return failed({}, spec.error());
    util::Result<oci::BuildResult> built = util::fail(util::ErrorCode::internal, "");
    if (!spec->builder_argv.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(spec->layout, ec);
        std::filesystem::create_directories(spec->layout.parent_path(), ec);
        log_line("building with the builder command; it leaves an OCI layout in " +
                 spec->layout.string());
        auto status = run_builder(*spec);
        if (!status) return failed(spec->report_file, status.error());
        if (*status != 0) {
            return failed(spec->report_file,
                          {util::ErrorCode::process,
                           "the builder command failed (exit status " + std::to_string(*status) + ")",
                           {}});
        }
        built = oci::adopt_built_image(*spec);
    } else {
        add_model_labels(*spec);
        log_line("building " + (spec->tag.empty() ? spec->stage : spec->tag) + " from " +
                 spec->context.string() + " on " + spec->base);
        http::CurlHttpClient http;
        built = oci::build_image(*spec, http, log_line);
    }
    if (!built) return failed(spec->report_file, built.error());
    std::string image = "oci:" + built->layout.string() + ":" + built->ref_name;
    nlohmann::json report = oci::to_json(*built);
    report["image"] = image;
    report["tag"] = spec->tag;
    report["labels"] = spec->settings.labels;
    if (auto ok = write_outputs({{"digest", built->manifest.digest.to_string()},
                                 {"image", image},
                                 {"layout", built->layout.string()},
                                 {"ref", built->ref_name},
                                 {"tag", spec->tag}});
        !ok) {
        return failed(spec->report_file, ok.error());
    }
    if (auto ok = util::write_file_atomically(spec->report_file, report.dump(2) + "\n"); !ok) {
        return failed({}, ok.error());
    }
    log_line("image " + built->manifest.digest.to_string() + " (" + std::to_string(built->layers) +
             " layers) in " + image);
    return util::exit_status::k_ok;
}

int internal_push(const std::string& spec_path) {
    auto json = read_spec_file(spec_path, "the stage spec");
    if (!json) return failed({}, json.error());
    auto spec = oci::push_spec_from_json(*json);
    if (!spec) return failed({}, spec.error());
    auto destination = oci::parse_reference(spec->destination);
    if (!destination) return failed(spec->report_file, destination.error());

    oci::ClientOptions options;
    options.insecure = spec->insecure;
    options.retry.attempts = spec->attempts;
    options.chunk_threshold = spec->chunk_size;
    options.chunk_size = spec->chunk_size;
    options.log = log_line;
    const char* user = std::getenv("SLUICE_REGISTRY_USERNAME");
    if (user != nullptr && *user != '\0') {
        const char* password = std::getenv("SLUICE_REGISTRY_PASSWORD");
        options.credentials = oci::Credentials{user, password != nullptr ? password : ""};
        log_line("pushing to " + destination->to_string() + " as " + user);
    } else {
        auto creds = oci::read_docker_config(spec->docker_config, destination->registry);
        if (!creds) return failed(spec->report_file, creds.error());
        options.credentials = *creds;
        log_line("pushing to " + destination->to_string() +
                 (*creds ? " as " + (*creds)->username + " (from " + spec->docker_config.string() + ")"
                         : std::string(" (anonymous)")));
    }
    http::CurlHttpClient http;
    oci::DistributionClient client(http, destination->registry, options);
    oci::PushRequest request{spec->layout, spec->ref_name, *destination, spec->locations_file,
                             log_line};
    auto pushed = oci::push_image(client, request, spec->chunk_size);
    if (!pushed) return failed(spec->report_file, pushed.error());
    nlohmann::json report = oci::to_json(*pushed);
    report["requests"] = client.requests_sent();
    if (auto ok = write_outputs({{"digest", pushed->digest.to_string()},
                                 {"image", pushed->image},
                                 {"tag", pushed->tagged},
                                 {"uploaded", std::to_string(pushed->uploaded)},
                                 {"mounted", std::to_string(pushed->mounted)},
                                 {"skipped", std::to_string(pushed->skipped)}});
        !ok) {
        return failed(spec->report_file, ok.error());
    }
    if (auto ok = util::write_file_atomically(spec->report_file, report.dump(2) + "\n"); !ok) {
        return failed({}, ok.error());
    }
    log_line("pushed " + pushed->image + " (" + std::to_string(pushed->uploaded) + " uploaded, " +
             std::to_string(pushed->mounted) + " mounted, " + std::to_string(pushed->skipped) +
             " already there)");
    return util::exit_status::k_ok;
}

}  // namespace sluice::cli
