// The integer validators (see option_checks.hpp).
#include "runner/cli/option_checks.hpp"

#include <charconv>
#include <cstdint>
#include <limits>

namespace sluice::cli {

namespace {

// The value of `text` when it is only decimal digits (a huge one: int64's maximum); else -1.
std::int64_t digits_value(const std::string& text) {
    if (text.empty()) return -1;
    for (char c : text) {
        if (c < '0' || c > '9') return -1;
    }
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc::result_out_of_range) return std::numeric_limits<std::int64_t>::max();
    if (ec != std::errc{} || end != text.data() + text.size()) return -1;
    return value;
}

CLI::Validator integer_check(std::int64_t min, const std::string& what, const std::string& name) {
    return CLI::Validator(
        [min, what](std::string& text) -> std::string {
            constexpr std::int64_t k_max = std::numeric_limits<int>::max();
            std::int64_t value = digits_value(text);
            if (value >= min && value <= k_max) return {};
            if (value > k_max) return "must be at most " + std::to_string(k_max) + ", got `" + text + "`";
            return "must be " + what + ", got `" + text + "`";
        },
        name, name);
}

}  // namespace

const CLI::Validator& positive_integer() {
    static const CLI::Validator check = integer_check(1, "a positive integer", "POSITIVE");
    return check;
}

const CLI::Validator& whole_number() {
    static const CLI::Validator check = integer_check(0, "a whole number (0 or more)", "NONNEGATIVE");
    return check;
}

}  // namespace sluice::cli
