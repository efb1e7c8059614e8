// Challenge parsing (RFC 7235 auth-params, quoted strings with escapes) and Docker's
// config.json.
#include "runner/oci/registry_auth.hpp"

#include <cctype>
#include <fstream>
#include <sstream>

#include "runner/http/auth.hpp"
#include "runner/http/http_client.hpp"

namespace sluice::oci {

namespace {

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

util::Result<Challenge> parse_challenge(std::string_view header) {
    auto bad = [&] {
        return util::fail(util::ErrorCode::bad_input,
                          "not an authentication challenge: " + std::string(header));
    };
    std::size_t i = 0;
    auto skip_space = [&] {
        while (i < header.size() && (header[i] == ' ' || header[i] == '\t')) ++i;
    };
    skip_space();
    std::size_t start = i;
    while (i < header.size() && header[i] != ' ' && header[i] != '\t') ++i;
    Challenge c;
    c.scheme = lower(std::string(header.substr(start, i - start)));
    if (c.scheme.empty()) return bad();
    for (;;) {
        skip_space();
        while (i < header.size() && header[i] == ',') {
            ++i;
            skip_space();
        }
        if (i >= header.size()) break;
        start = i;
        while (i < header.size() && header[i] != '=' && header[i] != ',' && header[i] != ' ') ++i;
        std::string key = lower(std::string(header.substr(start, i - start)));
        skip_space();
        if (i >= header.size() || header[i] != '=' || key.empty()) return bad();
        ++i;
        skip_space();
        std::string value;
        if (i < header.size() && header[i] == '"') {
            ++i;
            bool closed = false;
            while (i < header.size()) {
                char ch = header[i++];
                if (ch == '\\' && i < header.size()) {
                    value += header[i++];
                } else if (ch == '"') {
                    closed = true;
                    break;
                } else {
                    value += ch;
                }
            }
            if (!closed) return bad();
        } else {
            start = i;
            while (i < header.size() && header[i] != ',' && header[i] != ' ') ++i;
            value = std::string(header.substr(start, i - start));
        }
        c.params[key] = value;
    }
    return c;
}

std::string token_url(const Challenge& challenge, const std::string& scope) {
    std::vector<std::pair<std::string, std::string>> query;
    auto it = challenge.params.find("service");
    if (it != challenge.params.end()) query.emplace_back("service", it->second);
    auto s = challenge.params.find("scope");
    std::string wanted = s != challenge.params.end() ? s->second : scope;
    if (!wanted.empty()) query.emplace_back("scope", wanted);
    std::string realm = challenge.params.count("realm") ? challenge.params.at("realm") : "";
    if (query.empty()) return realm;
    return realm + (realm.find('?') == std::string::npos ? "?" : "&") + http::query_string(query);
}

util::Result<std::string> token_from_answer(std::string_view body) {
    auto json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_object()) {
        for (const char* key : {"token", "access_token"}) {
            if (json.contains(key) && json[key].is_string() && !json[key].get<std::string>().empty()) {
                return json[key].get<std::string>();
            }
        }
    }
    return util::fail(util::ErrorCode::unavailable, "the token server answered without a token");
}

util::Result<std::optional<Credentials>> docker_config_credentials(const nlohmann::json& config,
                                                                   const std::string& registry) {
    if (!config.is_object() || !config.contains("auths") || !config["auths"].is_object()) {
        return std::optional<Credentials>();
    }
    const auto& auths = config["auths"];
    std::vector<std::string> keys = {registry, "https://" + registry, "http://" + registry};
    if (registry == "docker.io") {
        keys.insert(keys.end(), {"https://index.docker.io/v1/", "index.docker.io",
                                 "registry-1.docker.io"});
    }
    for (const auto& key : keys) {
        if (!auths.contains(key) || !auths[key].is_object()) continue;
        const auto& entry = auths[key];
        if (entry.contains("auth") && entry["auth"].is_string() &&
            !entry["auth"].get<std::string>().empty()) {
            auto decoded = http::base64_decode(entry["auth"].get<std::string>());
            auto colon = decoded ? decoded->find(':') : std::string::npos;
            if (!decoded || colon == std::string::npos) {
                return util::fail(util::ErrorCode::bad_input,
                                  "the docker config's auth for " + key +
                                      " is not base64 of user:password");
            }
            return std::optional(Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)});
        }
        if (entry.contains("username") && entry["username"].is_string()) {
            return std::optional(Credentials{entry["username"].get<std::string>(),
                                             entry.value("password", std::string())});
        }
    }
    return std::optional<Credentials>();
}

util::Result<std::optional<Credentials>> read_docker_config(const std::filesystem::path& file,
                                                            const std::string& registry) {
    if (file.empty()) return std::optional<Credentials>();
    std::ifstream in(file);
    if (!in) return std::optional<Credentials>();
    std::stringstream text;
    text << in.rdbuf();
    auto json = nlohmann::json::parse(text.str(), nullptr, false);
    if (json.is_discarded()) {
        return util::fail(util::ErrorCode::bad_input, file.string() + " is not JSON");
    }
    return docker_config_credentials(json, registry);
}

std::filesystem::path docker_config_path(const std::string& docker_config_env,
                                         const std::string& home_env) {
    if (!docker_config_env.empty()) return std::filesystem::path(docker_config_env) / "config.json";
    if (!home_env.empty()) return std::filesystem::path(home_env) / ".docker" / "config.json";
    return {};
}

}  // namespace sluice::oci
