// Reading the `mlflow:` block of a pipeline's registry setting.
#include "plugins/mlflow/mlflow_config.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace sluice::mlflow {

using nlohmann::json;
using util::ErrorCode;

namespace {

// sluice's duration syntax: units from largest to smallest, each at most once.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    struct Unit {
        std::string_view name;
        long long ms;
    };
    static constexpr Unit k_units[] = {
        {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}};
    if (text.empty()) return std::nullopt;
    long long total = 0;
    std::size_t next_unit = 0;
    while (!text.empty()) {
        std::size_t digits = 0;
        while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
            ++digits;
        }
        if (digits == 0 || digits > 9) return std::nullopt;
        long long n = std::stoll(std::string(text.substr(0, digits)));
        text.remove_prefix(digits);
        std::size_t letters = 0;
        while (letters < text.size() && std::isalpha(static_cast<unsigned char>(text[letters]))) {
            ++letters;
        }
        std::string_view unit = text.substr(0, letters);
        text.remove_prefix(letters);
        if (unit.empty()) {
            if (next_unit != 0 || !text.empty()) return std::nullopt;  // a bare number: seconds
            return std::chrono::milliseconds(n * 1'000);
        }
        bool found = false;
        for (std::size_t i = next_unit; i < std::size(k_units); ++i) {
            if (k_units[i].name == unit) {
                total += n * k_units[i].ms;
                next_unit = i + 1;
                found = true;
                break;
            }
        }
        if (!found) return std::nullopt;
    }
    return std::chrono::milliseconds(total);
}

Result<std::chrono::milliseconds> duration(const json& value, const char* key) {
    auto bad = [&] {
        return util::fail(ErrorCode::bad_input, std::string("mlflow: ") + key + ": " +
                                                    value.dump() +
                                                    " is not a duration (500ms, 30s, 2m)");
    };
    if (value.is_number_unsigned() || (value.is_number_integer() && value.get<long long>() >= 0)) {
        return std::chrono::milliseconds(value.get<long long>() * 1'000);
    }
    if (!value.is_string()) return bad();
    auto parsed = parse_duration(value.get<std::string>());
    if (!parsed) return bad();
    return *parsed;
}

}  // namespace

Result<SettingsOverrides> overrides_from_config(const json& block, const Environment& environment) {
    SettingsOverrides o;
    if (block.is_null()) return o;
    if (!block.is_object()) {
        return util::fail(ErrorCode::bad_input,
                          "mlflow: the registry's settings must be a mapping (uri, token_env, "
                          "timeout, connect_timeout, retries)");
    }
    for (const auto& [key, value] : block.items()) {
        if (key == "uri") {
            if (!value.is_string())
                return util::fail(ErrorCode::bad_input, "mlflow: uri must be a string");
            o.tracking_uri = value.get<std::string>();
        } else if (key == "token_env") {
            if (!value.is_string() || value.get<std::string>().empty()) {
                return util::fail(ErrorCode::bad_input,
                                  "mlflow: token_env must name an environment variable");
            }
            auto name = value.get<std::string>();
            auto token = environment(name);
            if (!token || token->empty()) {
                return util::fail(ErrorCode::bad_input,
                                  "mlflow: token_env names " + name + ", which is not set");
            }
            o.token = *token;
        } else if (key == "timeout" || key == "connect_timeout") {
            auto d = duration(value, key.c_str());
            if (!d) return std::unexpected(d.error());
            (key == "timeout" ? o.timeout : o.connect_timeout) = *d;
        } else if (key == "retries") {
            // sluice.yml's settings arrive as strings ("2"); JSON callers may pass numbers.
            long long n = 0;
            bool whole = value.is_number_integer();
            if (whole) {
                n = value.get<long long>();
            } else if (value.is_string()) {
                const auto& t = value.get_ref<const std::string&>();
                whole = !t.empty() && t.size() <= 6 &&
                        t.find_first_not_of("0123456789") == std::string::npos;
                if (whole) n = std::stoll(t);
            }
            if (!whole) {
                return util::fail(ErrorCode::bad_input, "mlflow: retries must be a whole number");
            }
            o.retries = static_cast<int>(std::clamp<long long>(n, -1, 1'000));
        } else {
            return util::fail(ErrorCode::bad_input,
                              "mlflow: unknown setting `" + key +
                                  "` (uri, token_env, timeout, connect_timeout, retries)");
        }
    }
    return o;
}

Result<Settings> settings_from_config(const json& block, const Environment& environment) {
    auto overrides = overrides_from_config(block, environment);
    if (!overrides) return std::unexpected(overrides.error());
    return resolve_settings(*overrides, environment);
}

Result<std::unique_ptr<MlflowRegistry>> open_mlflow_registry(const json& block,
                                                             const Environment& environment) {
    auto settings = settings_from_config(block, environment);
    if (!settings) return std::unexpected(settings.error());
    return MlflowRegistry::open(std::move(*settings));
}

}  // namespace sluice::mlflow
