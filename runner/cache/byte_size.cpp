// Parsing and printing sizes in bytes (see byte_size.hpp).
#include "runner/cache/byte_size.hpp"

#include <array>
#include <cctype>
#include <cstdio>
#include <limits>
#include <numeric>

namespace sluice::cache {

using util::ErrorCode;
using util::fail;

namespace {

struct Unit {
    std::string_view name;  // lowercase
    std::uint64_t factor;
};

constexpr std::uint64_t k_kib = 1024;
constexpr std::array<Unit, 18> k_units{{
    {"", 1},
    {"b", 1},
    {"k", 1'000},
    {"kb", 1'000},
    {"m", 1'000'000},
    {"mb", 1'000'000},
    {"g", 1'000'000'000},
    {"gb", 1'000'000'000},
    {"t", 1'000'000'000'000},
    {"tb", 1'000'000'000'000},
    {"ki", k_kib},
    {"kib", k_kib},
    {"mi", k_kib* k_kib},
    {"mib", k_kib* k_kib},
    {"gi", k_kib* k_kib* k_kib},
    {"gib", k_kib* k_kib* k_kib},
    {"ti", k_kib* k_kib* k_kib* k_kib},
    {"tib", k_kib* k_kib* k_kib* k_kib},
}};

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.remove_suffix(1);
    }
    return text;
}

}  // namespace

util::Result<std::uint64_t> parse_size(std::string_view text) {
    const std::string quoted = "`" + std::string(text) + "`";
    std::string_view rest = trim(text);
    if (rest.empty())
        return fail(ErrorCode::bad_input, "a size is empty; expected e.g. 500M or 10G");

    // Whole part and fraction as integers: 1.5G must be exactly 1,500,000,000.
    constexpr std::uint64_t k_max = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t whole = 0;
    std::size_t digits = 0;
    bool too_big = false;
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front()))) {
        auto digit = static_cast<std::uint64_t>(rest.front() - '0');
        if (whole > (k_max - digit) / 10) too_big = true;
        if (!too_big) whole = whole * 10 + digit;
        rest.remove_prefix(1);
        ++digits;
    }
    std::uint64_t fraction = 0;
    std::uint64_t fraction_scale = 1;
    if (!rest.empty() && rest.front() == '.') {
        rest.remove_prefix(1);
        while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front()))) {
            if (fraction_scale >= 1'000'000'000'000) {
                return fail(ErrorCode::bad_input, "size " + quoted + " has too many decimals");
            }
            fraction = fraction * 10 + static_cast<std::uint64_t>(rest.front() - '0');
            fraction_scale *= 10;
            rest.remove_prefix(1);
            ++digits;
        }
    }
    if (digits == 0) {
        return fail(ErrorCode::bad_input,
                    "size " + quoted + " does not start with a number; expected e.g. 500M or 10G");
    }

    std::string unit(trim(rest));
    for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const Unit* found = nullptr;
    for (const auto& candidate : k_units) {
        if (candidate.name == unit) found = &candidate;
    }
    if (found == nullptr) {
        return fail(ErrorCode::bad_input,
                    "size " + quoted + " has unknown unit `" + std::string(trim(rest)) +
                        "`; use B, K, M, G, T (powers of 1000) or Ki, Mi, Gi, Ti (powers of 1024)");
    }
    if (too_big || (found->factor > 1 && whole > k_max / found->factor)) {
        return fail(ErrorCode::bad_input, "size " + quoted + " is too large");
    }
    std::uint64_t bytes = whole * found->factor;
    // fraction / fraction_scale * factor, exact or refused. With g = gcd(scale, factor)
    // it is whole when scale/g divides fraction, and then smaller than factor.
    if (fraction != 0) {
        std::uint64_t common = std::gcd(fraction_scale, found->factor);
        std::uint64_t divisor = fraction_scale / common;
        if (fraction % divisor != 0) {
            return fail(ErrorCode::bad_input, "size " + quoted + " is not a whole number of bytes");
        }
        std::uint64_t extra = fraction / divisor * (found->factor / common);
        if (bytes > k_max - extra)
            return fail(ErrorCode::bad_input, "size " + quoted + " is too large");
        bytes += extra;
    }
    return bytes;
}

std::string format_size(std::uint64_t bytes) {
    if (bytes < k_kib) return std::to_string(bytes) + " B";
    constexpr std::array<const char*, 6> k_names{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double value = static_cast<double>(bytes) / static_cast<double>(k_kib);
    std::size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < k_names.size()) {
        value /= 1024.0;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, "%.1f %s", value, k_names[unit]);
    return text;
}

}  // namespace sluice::cache
