// `self_approval: false`: telling an approver apart from a run's trigger and author.
#include "runner/access/self_approval.hpp"

#include <algorithm>

namespace sluice::access {

namespace {

// "Ann Lee <ann@example.com>" → {"Ann Lee", "ann@example.com"}.
std::pair<std::string, std::string> split_author(const std::string& author) {
    auto lt = author.find('<');
    auto gt = author.rfind('>');
    if (lt == std::string::npos || gt == std::string::npos || gt < lt) return {author, ""};
    std::string name = author.substr(0, lt);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    return {name, author.substr(lt + 1, gt - lt - 1)};
}

// Whether the OS account (or claimed name) `name` is the approver.
bool is_them(const Identity& approver, const std::string& name) {
    return !name.empty() &&
           (name == approver.user || std::find(approver.accounts.begin(), approver.accounts.end(),
                                               name) != approver.accounts.end());
}

}  // namespace

std::optional<SelfApprovalDenial> check_self_approval(const Identity& approver,
                                                      const RunAuthorship& run) {
    if (run.triggered_by.empty()) {
        std::string why = run.unknown_why.empty() ? "its record names nobody" : run.unknown_why;
        return SelfApprovalDenial{
            "trigger_unknown",
            "run " + run.run + "'s trigger is unknown (" + why +
                "), so with self_approval: false nobody can be shown to differ from it; "
                "re-run as a known user or allow self_approval"};
    }
    bool own = is_them(approver, run.triggered_by) ||
               std::any_of(run.claimed.begin(), run.claimed.end(),
                           [&](const std::string& c) { return is_them(approver, c); });
    auto [author_name, author_email] = split_author(run.author);
    own = own || (!author_name.empty() && approver.user == author_name) ||
          (!approver.email.empty() && approver.email == author_email) ||
          (!author_email.empty() && approver.user == author_email);
    if (!own) return std::nullopt;
    return SelfApprovalDenial{"self_approval",
                              approver.user + " triggered or wrote run " + run.run +
                                  " and may not approve it (self_approval: false)"};
}

}  // namespace sluice::access
