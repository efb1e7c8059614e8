// Rendering Kubernetes manifests for a deployment.
#include "stages/kubernetes_manifest.hpp"

#include <cctype>

namespace sluice::stages {

bool is_dns_label(std::string_view text) {
    if (text.empty() || text.size() > 63) return false;
    for (char c : text) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    return text.front() != '-' && text.back() != '-';
}

std::string to_dns_label(std::string_view text) {
    std::string out;
    for (char c : text) {
        char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9');
        if (ok) {
            out += l;
        } else if (!out.empty() && out.back() != '-') {
            out += '-';
        }
    }
    if (out.size() > 63) out.resize(63);
    while (!out.empty() && out.back() == '-') out.pop_back();
    return out.empty() ? "app" : out;
}

bool is_digest_reference(std::string_view image) {
    auto at = image.find("@sha256:");
    if (at == std::string_view::npos || at == 0) return false;
    auto hex = image.substr(at + 8);
    if (hex.size() != 64) return false;
    for (char c : hex) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

nlohmann::json render_manifest(const KubernetesApp& app) {
    nlohmann::json labels = {{"app", app.name}};
    nlohmann::json metadata = {{"name", app.name}, {"labels", labels}};
    if (!app.environment.empty()) metadata["labels"]["sluice.environment"] = app.environment;
    if (!app.ns.empty()) metadata["namespace"] = app.ns;
    nlohmann::json container = {
        {"name", app.name},
        {"image", app.image},
        {"ports", {{{"containerPort", app.port}}}},
        {"env", {{{"name", "PORT"}, {"value", std::to_string(app.port)}}}},
    };
    if (!app.health_path.empty()) {
        container["readinessProbe"] = {{"httpGet", {{"path", app.health_path}, {"port", app.port}}},
                                       {"periodSeconds", 2}};
    }
    nlohmann::json deployment = {
        {"apiVersion", "apps/v1"},
        {"kind", "Deployment"},
        {"metadata", metadata},
        {"spec",
         {{"replicas", app.replicas},
          {"selector", {{"matchLabels", labels}}},
          {"template",
           {{"metadata", {{"labels", metadata["labels"]}}},
            {"spec", {{"containers", nlohmann::json::array({container})}}}}}}},
    };
    nlohmann::json service = {
        {"apiVersion", "v1"},
        {"kind", "Service"},
        {"metadata", metadata},
        {"spec",
         {{"selector", labels},
          {"ports", {{{"name", "http"}, {"port", app.port}, {"targetPort", app.port}}}}}},
    };
    return {{"apiVersion", "v1"}, {"kind", "List"}, {"items", {deployment, service}}};
}

std::map<std::string, std::string> template_values(const KubernetesApp& app) {
    return {{"image", app.image},
            {"name", app.name},
            {"namespace", app.ns.empty() ? "default" : app.ns},
            {"replicas", std::to_string(app.replicas)},
            {"port", std::to_string(app.port)},
            {"environment", app.environment}};
}

util::Result<std::string> fill_template(std::string_view text,
                                        const std::map<std::string, std::string>& values,
                                        const std::string& file) {
    std::string out;
    std::size_t at = 0;
    auto where = [&](std::size_t offset) {
        util::Location l{file, 1, 1};
        for (std::size_t i = 0; i < offset; ++i) {
            if (text[i] == '\n') {
                ++l.line;
                l.column = 1;
            } else {
                ++l.column;
            }
        }
        return l;
    };
    while (true) {
        auto open = text.find("{{", at);
        if (open == std::string_view::npos) {
            out.append(text.substr(at));
            return out;
        }
        out.append(text.substr(at, open - at));
        auto close = text.find("}}", open + 2);
        if (close == std::string_view::npos ||
            text.substr(open, close - open).find('\n') != std::string_view::npos) {
            return util::fail(util::ErrorCode::bad_input, "`{{` without `}}` on its line",
                              where(open));
        }
        std::string name(text.substr(open + 2, close - open - 2));
        auto first = name.find_first_not_of(" \t");
        auto last = name.find_last_not_of(" \t");
        name = first == std::string::npos ? "" : name.substr(first, last - first + 1);
        auto value = values.find(name);
        if (value == values.end()) {
            std::string known;
            for (const auto& [k, v] : values) known += (known.empty() ? "" : ", ") + k;
            return util::fail(util::ErrorCode::bad_input,
                              "unknown placeholder `{{ " + name + " }}` (known: " + known + ")",
                              where(open));
        }
        out += value->second;
        at = close + 2;
    }
}

}  // namespace sluice::stages
