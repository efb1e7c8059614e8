// Who started a run: its JSON form in the run's options and its words for people.
#include "runner/util/trigger_identity.hpp"

#include <algorithm>

namespace sluice::util {

std::vector<std::string> TriggerIdentity::names() const {
    std::vector<std::string> out;
    if (known()) out.push_back(name);
    for (const auto& c : claimed) {
        if (!c.empty() && std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
    }
    return out;
}

std::string TriggerIdentity::describe() const {
    std::string claims;
    for (const auto& c : claimed) claims += (claims.empty() ? "" : ", ") + c;
    if (!known()) {
        return "unknown (" + (unknown_why.empty() ? std::string("not recorded") : unknown_why) +
               ")";
    }
    return claims.empty() ? name : name + " (also claimed: " + claims + ")";
}

nlohmann::json to_json(const TriggerIdentity& identity) {
    nlohmann::json out = nlohmann::json::object();
    if (identity.known()) out["name"] = identity.name;
    if (!identity.source.empty()) out["source"] = identity.source;
    if (identity.uid) out["uid"] = *identity.uid;
    if (!identity.claimed.empty()) out["claimed"] = identity.claimed;
    if (!identity.known()) out["unknown"] = identity.unknown_why;
    return out;
}

TriggerIdentity trigger_identity_of(const nlohmann::json& run_options) {
    TriggerIdentity out;
    if (!run_options.is_object()) {
        out.unknown_why = "the run was recorded without who triggered it";
        return out;
    }
    auto recorded = run_options.find("trigger_identity");
    if (recorded != run_options.end() && recorded->is_object()) {
        out.name = recorded->value("name", std::string());
        if (out.name.empty() && !recorded->contains("unknown")) {
            out.name = run_options.value("triggered_by", std::string());
        }
        out.source = recorded->value("source", std::string());
        if (auto uid = recorded->find("uid"); uid != recorded->end() && uid->is_number_integer()) {
            out.uid = uid->get<long long>();
        }
        if (auto claimed = recorded->find("claimed");
            claimed != recorded->end() && claimed->is_array()) {
            for (const auto& c : *claimed) {
                if (c.is_string() && !c.get<std::string>().empty()) out.claimed.push_back(c);
            }
        }
        out.unknown_why = recorded->value("unknown", std::string());
        if (!out.known() && out.unknown_why.empty()) {
            out.unknown_why = "the run was recorded without who triggered it";
        }
        return out;
    }
    // An older record: only what $USER said when the run started, which anyone could
    // set. It still counts as the trigger (claimed), but proves nobody is not.
    if (auto by = run_options.find("triggered_by");
        by != run_options.end() && by->is_string() && !by->get<std::string>().empty()) {
        out.claimed.push_back(by->get<std::string>());
        out.unknown_why = "an older sluice recorded only $USER (" + by->get<std::string>() +
                          "), which cannot be checked";
        return out;
    }
    out.unknown_why = "the run was recorded without who triggered it";
    return out;
}

}  // namespace sluice::util
