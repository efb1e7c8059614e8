// The manifest of a `target: kubernetes` deployment: a Deployment and a Service for the
// image (pinned by digest), rendered as a JSON `v1 List` (which kubectl applies like any
// YAML file), or the user's own `manifest:` file with `{{ image }}`-style placeholders
// filled in. Pure functions: the stage kind writes the result and runs kubectl on it.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "runner/util/error.hpp"

namespace sluice::stages {

struct KubernetesApp {
    std::string name;   // the Deployment's and the Service's name (a DNS-1123 label)
    std::string ns;     // namespace; "" = kubectl's current one
    std::string image;  // repo@sha256:...
    int replicas = 1;
    int port = 8080;          // the container's port and the Service's
    std::string environment;  // a label on everything
    std::string health_path;  // a readiness probe's path ("" = none)
};

// Whether text is a DNS-1123 label (what Kubernetes names must be).
bool is_dns_label(std::string_view text);

// text lowered, everything but [a-z0-9-] made '-', trimmed to a DNS-1123 label.
std::string to_dns_label(std::string_view text);

// Whether image names its content: "repo@sha256:" followed by 64 hex digits.
bool is_digest_reference(std::string_view image);

// The Deployment and the Service, as a List.
nlohmann::json render_manifest(const KubernetesApp& app);

// The placeholders a manifest template may use: image, name, namespace, replicas, port,
// environment.
std::map<std::string, std::string> template_values(const KubernetesApp& app);

// text with every `{{ NAME }}` replaced by values[NAME]; an unknown name or an unclosed
// `{{` is a bad_input error at file:line:col.
util::Result<std::string> fill_template(std::string_view text,
                                        const std::map<std::string, std::string>& values,
                                        const std::string& file);

}  // namespace sluice::stages
