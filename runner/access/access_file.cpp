// Reading and writing access.json with nlohmann::json, field by field, so that every
// mistake in a hand-edited file is reported with where it is.
#include "runner/access/access_file.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "runner/access/names.hpp"
#include "runner/access/token_format.hpp"

namespace sluice::access {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr std::string_view k_refusal = " (sluice leaves the file as it is until it is fixed)";

// Reads the fields of one JSON object, remembering the first mistake and where
// (`users[2].name`), so parsing code reads as a list of fields.
class Reader {
  public:
    explicit Reader(std::string where) : where_(std::move(where)) {}

    std::string string(const json& object, const char* key, bool required) {
        auto it = object.find(key);
        if (it == object.end() || (!required && it->is_null())) {
            if (required) missing(key);
            return {};
        }
        if (!it->is_string()) return wrong(key, "a string"), std::string();
        return it->get<std::string>();
    }

    std::int64_t integer(const json& object, const char* key, bool required) {
        auto it = object.find(key);
        if (it == object.end()) {
            if (required) missing(key);
            return 0;
        }
        if (!it->is_number_integer()) return wrong(key, "an integer"), 0;
        return it->get<std::int64_t>();
    }

    std::optional<std::int64_t> optional_integer(const json& object, const char* key) {
        auto it = object.find(key);
        if (it == object.end() || it->is_null()) return std::nullopt;
        if (!it->is_number_integer()) return wrong(key, "an integer or null"), std::nullopt;
        return it->get<std::int64_t>();
    }

    bool boolean(const json& object, const char* key) {
        auto it = object.find(key);
        if (it == object.end()) return false;
        if (!it->is_boolean()) return wrong(key, "true or false"), false;
        return it->get<bool>();
    }

    std::vector<std::string> strings(const json& object, const char* key) {
        std::vector<std::string> out;
        auto it = object.find(key);
        if (it == object.end()) return out;
        if (!it->is_array()) return wrong(key, "a list of strings"), out;
        for (const auto& item : *it) {
            if (!item.is_string()) return wrong(key, "a list of strings"), out;
            out.push_back(item.get<std::string>());
        }
        return out;
    }

    void check(util::Status status) {
        if (!status && !error_) error_ = here() + status.error().message;
    }
    void problem(const std::string& message) {
        if (!error_) error_ = here() + message;
    }
    const std::optional<std::string>& error() const { return error_; }

  private:
    std::string here() const { return where_.empty() ? std::string() : where_ + ": "; }
    void missing(const char* key) { problem(std::string("`") + key + "` is missing"); }
    void wrong(const char* key, const char* expected) {
        problem(std::string("`") + key + "` must be " + expected);
    }

    std::string where_;
    std::optional<std::string> error_;
};

util::Error file_error(const std::filesystem::path& path, const std::string& message,
                       util::Location where = {}) {
    if (where.file.empty()) where.file = path.string();
    std::string text = message + std::string(k_refusal);
    if (where.known()) {
        return util::Error{util::ErrorCode::io, "the access file is not valid JSON: " + text,
                           where};
    }
    return util::Error{util::ErrorCode::io, path.string() + ": " + text, {}};
}

// The line and column of byte `offset` (1-based, as nlohmann reports it) in `text`.
util::Location location_of(const std::filesystem::path& path, std::string_view text,
                           std::size_t offset) {
    util::Location where{path.string(), 1, 1};
    std::size_t end = std::min(offset > 0 ? offset - 1 : 0, text.size());
    for (std::size_t i = 0; i < end; ++i) {
        if (text[i] == '\n') {
            ++where.line;
            where.column = 1;
        } else {
            ++where.column;
        }
    }
    return where;
}

SecretHash read_hash(Reader& reader, const json& object) {
    SecretHash hash;
    hash.kdf = reader.string(object, "kdf", true);
    hash.iterations = static_cast<int>(std::clamp<std::int64_t>(
        reader.integer(object, "iterations", true), 0, k_max_iterations + 1));
    hash.salt_hex = reader.string(object, "salt", true);
    hash.hash_hex = reader.string(object, "hash", true);
    if (reader.error()) return hash;
    if (hash.kdf != k_kdf_pbkdf2_sha256) {
        reader.problem("key derivation `" + hash.kdf + "` is unknown to this sluice (it knows `" +
                       std::string(k_kdf_pbkdf2_sha256) + "`)");
    } else if (hash.iterations < k_min_iterations || hash.iterations > k_max_iterations) {
        reader.problem("`iterations` must be between " + std::to_string(k_min_iterations) +
                       " and " + std::to_string(k_max_iterations));
    } else if (hash.salt_hex.size() < 16 || hash.hash_hex.size() != 64) {
        reader.problem("`salt` or `hash` has the wrong length");
    }
    return hash;
}

void write_hash(ordered_json& out, const SecretHash& hash) {
    out["kdf"] = hash.kdf;
    out["iterations"] = hash.iterations;
    out["salt"] = hash.salt_hex;
    out["hash"] = hash.hash_hex;
}

ordered_json optional_ms(const std::optional<std::int64_t>& ms) {
    return ms ? ordered_json(*ms) : ordered_json(nullptr);
}

const json* list_of(const json& root, const char* key, std::string& problem) {
    auto it = root.find(key);
    if (it == root.end() || it->is_null()) return nullptr;
    if (!it->is_array()) {
        problem = std::string("`") + key + "` must be a list";
        return nullptr;
    }
    return &*it;
}

}  // namespace

util::Result<AccessSnapshot> parse_access_file(std::string_view text,
                                               const std::filesystem::path& path) {
    json root;
    try {
        root = json::parse(text);
    } catch (const json::parse_error& e) {
        std::string message = e.what();
        // nlohmann prefixes "[json.exception.parse_error.101] parse error at line 1, column 2: ".
        if (auto colon = message.find(": "); colon != std::string::npos) {
            message = message.substr(colon + 2);
        }
        return std::unexpected(file_error(path, message, location_of(path, text, e.byte)));
    }
    if (!root.is_object())
        return std::unexpected(file_error(path, "the top level must be an object"));
    auto version = root.find("version");
    if (version == root.end() || !version->is_number_integer()) {
        return std::unexpected(file_error(path, "`version` is missing or not an integer"));
    }
    auto v = version->get<std::int64_t>();
    if (v > k_access_file_version) {
        return util::fail(util::ErrorCode::io,
                          path.string() + " has access file version " + std::to_string(v) +
                              ", written by a newer sluice; this one reads up to version " +
                              std::to_string(k_access_file_version) +
                              ": upgrade sluice to use it (the file is left as it is)");
    }
    if (v < 1) return std::unexpected(file_error(path, "`version` must be at least 1"));

    AccessSnapshot snapshot;
    std::string problem;
    const json* users = list_of(root, "users", problem);
    const json* tokens = list_of(root, "tokens", problem);
    const json* environments = list_of(root, "environments", problem);
    if (!problem.empty()) return std::unexpected(file_error(path, problem));

    std::set<std::string> seen;
    for (std::size_t i = 0; users != nullptr && i < users->size(); ++i) {
        const json& item = (*users)[i];
        Reader reader("users[" + std::to_string(i) + "]");
        User user;
        if (!item.is_object()) {
            reader.problem("must be an object");
        } else {
            user.name = reader.string(item, "name", true);
            user.email = reader.string(item, "email", false);
            user.display = reader.string(item, "display", false);
            user.groups = reader.strings(item, "groups");
            user.accounts = reader.strings(item, "accounts");
            user.created_ms = reader.integer(item, "created_ms", false);
            user.disabled = reader.boolean(item, "disabled");
            user.disabled_ms = reader.optional_integer(item, "disabled_ms");
        }
        if (!reader.error()) reader.check(check_user_name(user.name));
        if (!reader.error() && !user.email.empty()) reader.check(check_email(user.email));
        for (const auto& group : user.groups) {
            if (!reader.error()) reader.check(check_name("group name", group));
        }
        for (const auto& account : user.accounts) {
            if (!reader.error()) reader.check(check_name("account name", account));
        }
        if (!reader.error() && !seen.insert(user.name).second) {
            reader.problem("user `" + user.name + "` is listed twice");
        }
        if (reader.error()) return std::unexpected(file_error(path, *reader.error()));
        std::ranges::sort(user.groups);
        auto [first, last] = std::ranges::unique(user.groups);
        user.groups.erase(first, last);
        std::ranges::sort(user.accounts);
        auto [a_first, a_last] = std::ranges::unique(user.accounts);
        user.accounts.erase(a_first, a_last);
        snapshot.users.push_back(std::move(user));
    }

    seen.clear();
    for (std::size_t i = 0; tokens != nullptr && i < tokens->size(); ++i) {
        const json& item = (*tokens)[i];
        Reader reader("tokens[" + std::to_string(i) + "]");
        TokenRecord token;
        if (!item.is_object()) {
            reader.problem("must be an object");
        } else {
            token.id = reader.string(item, "id", true);
            token.user = reader.string(item, "user", true);
            token.label = reader.string(item, "label", false);
            token.hash = read_hash(reader, item);
            token.created_ms = reader.integer(item, "created_ms", false);
            token.revoked_ms = reader.optional_integer(item, "revoked_ms");
        }
        if (!reader.error() && !is_token_id(token.id)) {
            reader.problem("`" + token.id + "` is not a token id (`tok_` and 6 hex digits)");
        }
        if (!reader.error() && !seen.insert(token.id).second) {
            reader.problem("token id `" + token.id + "` is listed twice");
        }
        if (reader.error()) return std::unexpected(file_error(path, *reader.error()));
        snapshot.tokens.push_back(std::move(token));
    }

    seen.clear();
    for (std::size_t i = 0; environments != nullptr && i < environments->size(); ++i) {
        const json& item = (*environments)[i];
        Reader reader("environments[" + std::to_string(i) + "]");
        ProtectedEnvironment env;
        if (!item.is_object()) {
            reader.problem("must be an object");
        } else {
            env.name = reader.string(item, "name", true);
            env.hash = read_hash(reader, item);
            env.created_ms = reader.integer(item, "created_ms", false);
        }
        if (!reader.error()) reader.check(check_name("environment name", env.name));
        if (!reader.error() && !seen.insert(env.name).second) {
            reader.problem("environment `" + env.name + "` is listed twice");
        }
        if (reader.error()) return std::unexpected(file_error(path, *reader.error()));
        snapshot.environments.push_back(std::move(env));
    }
    return snapshot;
}

std::string format_access_file(const AccessSnapshot& snapshot) {
    ordered_json root;
    root["version"] = k_access_file_version;
    root["users"] = ordered_json::array();
    for (const auto& user : snapshot.users) {
        ordered_json u;
        u["name"] = user.name;
        if (!user.email.empty()) u["email"] = user.email;
        if (!user.display.empty()) u["display"] = user.display;
        u["groups"] = user.groups;
        if (!user.accounts.empty()) u["accounts"] = user.accounts;
        u["created_ms"] = user.created_ms;
        u["disabled"] = user.disabled;
        u["disabled_ms"] = optional_ms(user.disabled_ms);
        root["users"].push_back(std::move(u));
    }
    root["tokens"] = ordered_json::array();
    for (const auto& token : snapshot.tokens) {
        ordered_json t;
        t["id"] = token.id;
        t["user"] = token.user;
        t["label"] = token.label;
        write_hash(t, token.hash);
        t["created_ms"] = token.created_ms;
        t["revoked_ms"] = optional_ms(token.revoked_ms);
        root["tokens"].push_back(std::move(t));
    }
    root["environments"] = ordered_json::array();
    for (const auto& env : snapshot.environments) {
        ordered_json e;
        e["name"] = env.name;
        write_hash(e, env.hash);
        e["created_ms"] = env.created_ms;
        root["environments"].push_back(std::move(e));
    }
    return root.dump(2) + "\n";
}

}  // namespace sluice::access
