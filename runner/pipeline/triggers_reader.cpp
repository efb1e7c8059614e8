// The three spellings of `on:`.
#include "runner/pipeline/triggers_reader.hpp"

#include <algorithm>
#include <array>

#include "runner/pipeline/stage_reader.hpp"
#include "runner/util/suggest.hpp"

namespace sluice::pipeline {
namespace {

constexpr std::array<std::string_view, 2> k_push_keys{"branches", "tags"};
constexpr std::array<std::string_view, 1> k_merge_request_keys{"target_branches"};

// An event named on its own: every branch (and for push, every tag).
void enable(Triggers& on, const std::string& event) {
    if (event == "push") {
        on.push_branches = std::vector<std::string>{};
        on.all_tags = true;
    } else if (event == "merge_request") {
        on.merge_request_targets = std::vector<std::string>{};
    } else if (event == "manual") {
        on.manual = true;
    }
}

bool check_event(Reader& reader, const YAML::Node& at, const std::string& event) {
    auto events = known_events();
    if (std::ranges::find(events, event) != events.end()) return true;
    reader.error(at, "unknown event " + quote(event) + util::did_you_mean(event, events) +
                         " (events: push, merge_request, manual)");
    return false;
}

void read_push(Reader& reader, const Entry& push, Triggers& on) {
    if (push.value.IsNull()) {
        enable(on, "push");
        return;
    }
    if (!push.value.IsMap()) {
        reader.error(push.value,
                     "`on.push` must be a map { branches: [...], tags: [...] }, "
                     "got " +
                         describe(push.value));
        return;
    }
    bool any_filter = false;
    for (const Entry& e : reader.entries(push.value, "on.push")) {
        if (e.key == "branches") {
            any_filter = true;
            if (auto list = reader.strings(e, "branch globs")) on.push_branches = *list;
        } else if (e.key == "tags") {
            any_filter = true;
            if (auto list = reader.strings(e, "tag globs")) on.tags = *list;
        } else {
            reader.unknown_key(e, k_push_keys, "in `on.push`");
        }
    }
    if (!any_filter) enable(on, "push");
}

void read_merge_request(Reader& reader, const Entry& mr, Triggers& on) {
    on.merge_request_targets = std::vector<std::string>{};
    if (mr.value.IsNull()) return;
    if (!mr.value.IsMap()) {
        reader.error(mr.value,
                     "`on.merge_request` must be a map { target_branches: [...] }, "
                     "got " +
                         describe(mr.value));
        return;
    }
    for (const Entry& e : reader.entries(mr.value, "on.merge_request")) {
        if (e.key == "target_branches") {
            if (auto list = reader.strings(e, "branch globs")) on.merge_request_targets = *list;
        } else {
            reader.unknown_key(e, k_merge_request_keys, "in `on.merge_request`");
        }
    }
}

}  // namespace

std::optional<Triggers> read_triggers(Reader& reader, const Entry& entry) {
    Triggers on;
    on.any = false;
    const YAML::Node& v = entry.value;
    if (v.IsNull()) {
        reader.error_at_value(entry, "`on` has no value");
        return std::nullopt;
    }
    if (v.IsScalar() || v.IsSequence()) {
        auto events = reader.strings(entry, "events");
        if (!events) return std::nullopt;
        for (std::size_t i = 0; i < events->size(); ++i) {
            const YAML::Node at = v.IsSequence() ? v[i] : v;
            if (check_event(reader, at, (*events)[i])) enable(on, (*events)[i]);
        }
        return on;
    }
    for (const Entry& e : reader.entries(v, "on")) {
        if (e.key == "push") {
            read_push(reader, e, on);
        } else if (e.key == "merge_request") {
            read_merge_request(reader, e, on);
        } else if (e.key == "manual") {
            if (auto b = reader.boolean(e)) on.manual = *b;
        } else {
            reader.unknown_key(e, known_events(), "in `on`");
        }
    }
    return on;
}

}  // namespace sluice::pipeline
