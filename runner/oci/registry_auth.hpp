// Who we are to a registry: credentials (the stage's, or Docker's config.json) and the
// WWW-Authenticate challenges of the distribution API (Basic, and Bearer: a token from
// the realm for a service and scope, as Docker Hub and most registries do).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "runner/util/error.hpp"

namespace sluice::oci {

struct Credentials {
    std::string username;
    std::string password;
};

struct Challenge {
    std::string scheme;                         // "basic", "bearer" (lower-cased)
    std::map<std::string, std::string> params;  // realm, service, scope (keys lower-cased)
};

// `Bearer realm="https://auth/token",service="registry",scope="repository:a:pull"`;
// bad_input when it is not a challenge.
util::Result<Challenge> parse_challenge(std::string_view header);

// realm?service=...&scope=... (scope from the challenge, else the one given).
std::string token_url(const Challenge& challenge, const std::string& scope);

// The token of a token server's answer ({"token": ...} or {"access_token": ...}).
util::Result<std::string> token_from_answer(std::string_view body);

// The credentials config.json holds for a registry: `auths.<registry>.auth`, base64 of
// "user:password" (or `username` / `password` fields); for docker.io also the keys
// "https://index.docker.io/v1/" and "index.docker.io". nullopt when there are none.
util::Result<std::optional<Credentials>> docker_config_credentials(const nlohmann::json& config,
                                                                   const std::string& registry);

// The same from a file; a missing file has no credentials.
util::Result<std::optional<Credentials>> read_docker_config(const std::filesystem::path& file,
                                                            const std::string& registry);

// Where Docker keeps config.json: $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json
// (from the values given; empty when neither is set).
std::filesystem::path docker_config_path(const std::string& docker_config_env,
                                         const std::string& home_env);

}  // namespace sluice::oci
