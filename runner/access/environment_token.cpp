// Environment tokens: which one is presented, and whether it opens the environment.
#include "runner/access/environment_token.hpp"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "runner/access/secret_hash.hpp"
#include "runner/access/token_format.hpp"

namespace sluice::access {

namespace {

std::string suffix_of(std::string_view environment) {
    std::string out;
    for (char c : environment) {
        auto u = static_cast<unsigned char>(c);
        out += std::isalnum(u) != 0 && u < 0x80 ? static_cast<char>(std::toupper(u)) : '_';
    }
    return out;
}

std::optional<std::string> non_empty(const VariableLookup& variables, const std::string& name) {
    auto value = variables(name);
    if (!value || value->empty()) return std::nullopt;
    return value;
}

std::string trimmed(std::string text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
        text.pop_back();
    }
    std::size_t start = 0;
    while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start])) != 0) {
        ++start;
    }
    return text.substr(start);
}

std::unexpected<util::Error> refuse(const std::string& environment, const std::string& why) {
    return util::fail(util::ErrorCode::bad_input,
                      "environment " + environment + " is protected: " + why +
                          "; nothing was changed");
}

// The file's text; nullopt when it cannot be opened or read. (Not util::read_whole_file:
// its one read of the whole size fails for a file of 16 bytes with libstdc++ 12.)
std::optional<std::string> read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return text.str();
}

}  // namespace

VariableLookup process_variables() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (value == nullptr) return std::nullopt;
        return std::string(value);
    };
}

std::string environment_token_variable(std::string_view environment) {
    return "SLUICE_ENV_TOKEN_" + suffix_of(environment);
}

std::string environment_token_file_variable(std::string_view environment) {
    return "SLUICE_ENV_TOKEN_FILE_" + suffix_of(environment);
}

util::Result<PresentedToken> presented_environment_token(const std::string& environment,
                                                         const VariableLookup& variables) {
    std::string variable = environment_token_variable(environment);
    if (auto token = non_empty(variables, variable)) return PresentedToken{*token, variable, {}};
    std::string file_variable = environment_token_file_variable(environment);
    if (auto path = non_empty(variables, file_variable)) {
        auto text = read_text(*path);
        std::string token = text ? trimmed(std::move(*text)) : std::string();
        if (token.empty()) {
            return util::fail(util::ErrorCode::bad_input,
                              file_variable + " names " + *path + ", which " +
                                  (text ? "is empty" : "cannot be read") +
                                  " (it must hold environment " + environment +
                                  "'s token); nothing was changed");
        }
        return PresentedToken{std::move(token), file_variable + " (" + *path + ")", {}};
    }
    std::string old(k_deprecated_token_variable);
    if (environment == "production") {
        if (auto token = non_empty(variables, old)) {
            return PresentedToken{*token, old, old + " is deprecated; set " + variable + " instead"};
        }
    }
    return PresentedToken{};
}

util::Result<std::vector<std::string>> check_environment_write(const AccessSnapshot& snapshot,
                                                               const std::string& environment,
                                                               bool declared_protected,
                                                               const VariableLookup& variables) {
    const ProtectedEnvironment* env = snapshot.find_environment(environment);
    if (env == nullptr) {
        if (!declared_protected) return std::vector<std::string>{};
        return util::fail(util::ErrorCode::bad_input,
                          "environment " + environment +
                              " is protected but has no token yet (`sluice access protect " +
                              environment + "` makes one); nothing was changed");
    }
    auto presented = presented_environment_token(environment, variables);
    if (!presented) return std::unexpected(presented.error());
    std::string variable = environment_token_variable(environment);
    if (presented->token.empty()) {
        return refuse(environment, "set " + variable + " to its token (or " +
                                       environment_token_file_variable(environment) +
                                       " to a file holding it)");
    }
    if (auto id = token_id_of(presented->token)) {
        return refuse(environment, "the token in " + presented->source + " is a user's token (" +
                                       *id + "), not " + environment + "'s; set " + variable +
                                       " to " + environment + "'s token");
    }
    if (!verify_secret(env->hash, presented->token)) {
        return refuse(environment, "the token in " + presented->source + " is not " +
                                       environment + "'s; set " + variable + " to its token");
    }
    std::vector<std::string> warnings;
    if (!presented->warning.empty()) warnings.push_back(presented->warning);
    return warnings;
}

}  // namespace sluice::access
