// Parsing and formatting of durations.
#include "runner/pipeline/duration.hpp"

#include <array>
#include <charconv>
#include <cstdint>

namespace sluice::pipeline {
namespace {

struct Unit {
    std::string_view suffix;
    std::int64_t millis;
};

// Largest first; `ms` before `m` so the longer suffix wins when both could match.
constexpr std::array<Unit, 5> k_units{{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"ms", 1},
    {"m", 60'000},
    {"s", 1'000},
}};

constexpr std::int64_t k_max_millis = 365LL * 86'400'000;

int rank(std::string_view suffix) {  // smaller is a larger unit
    if (suffix == "d") return 0;
    if (suffix == "h") return 1;
    if (suffix == "m") return 2;
    if (suffix == "s") return 3;
    return 4;  // ms
}

}  // namespace

std::optional<Millis> parse_duration(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    if (text.empty()) return std::nullopt;

    std::int64_t total = 0;
    int last_rank = -1;
    std::size_t i = 0;
    while (i < text.size()) {
        std::int64_t number = 0;
        const char* begin = text.data() + i;
        auto [end, ec] = std::from_chars(begin, text.data() + text.size(), number);
        if (ec != std::errc() || end == begin || number < 0) return std::nullopt;
        i += static_cast<std::size_t>(end - begin);
        if (i == text.size()) {
            // A bare number is seconds, but only on its own: `1h30` is a typo, not 1h30s.
            if (last_rank >= 0 || number > k_max_millis / 1000) return std::nullopt;
            return Millis(number * 1000);
        }
        const Unit* unit = nullptr;
        for (const Unit& u : k_units) {
            if (text.substr(i, u.suffix.size()) == u.suffix) {
                unit = &u;
                break;
            }
        }
        if (unit == nullptr) return std::nullopt;
        int r = rank(unit->suffix);
        if (r <= last_rank) return std::nullopt;
        last_rank = r;
        i += unit->suffix.size();
        if (number > k_max_millis / unit->millis) return std::nullopt;
        total += number * unit->millis;
        if (total > k_max_millis) return std::nullopt;
    }
    return Millis(total);
}

std::string format_duration(Millis duration) {
    std::int64_t ms = duration.count();
    if (ms <= 0) return "0s";
    const std::array<Unit, 5> units{
        {{"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};
    std::string out;
    for (const Unit& u : units) {
        if (ms >= u.millis) {
            out += std::to_string(ms / u.millis) + std::string(u.suffix);
            ms %= u.millis;
        }
    }
    return out;
}

}  // namespace sluice::pipeline
