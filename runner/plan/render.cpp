// Text, DOT and Mermaid renderings of the plan.
#include "runner/plan/render.hpp"

#include <algorithm>

namespace sluice::plan {
namespace {

bool shown(const std::vector<bool>& included, int stage) {
    return included.empty() || included[static_cast<std::size_t>(stage)];
}

// A DOT quoted ID: backslashes and quotes escaped, line breaks as \n.
std::string dot_id(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c != '\r') {
            out += c;
        }
    }
    return out + "\"";
}

// A Mermaid quoted label: a quote would end the label, so it becomes an entity.
std::string mermaid_label(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') {
            out += "#quot;";
        } else if (c == '\n' || c == '\r') {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string pad(const std::string& s, std::size_t width) {
    return s + std::string(width > s.size() ? width - s.size() : 0, ' ');
}

}  // namespace

std::string render_text(const Plan& plan, const std::vector<bool>& included) {
    std::size_t name_width = 0;
    std::size_t kind_width = 0;
    for (int s : plan.order()) {
        if (!shown(included, s)) continue;
        name_width = std::max(name_width, plan.name(s).size());
        kind_width = std::max(kind_width, std::string(pipeline::to_string(plan.kind(s))).size());
    }
    std::string out;
    for (int s : plan.order()) {
        if (!shown(included, s)) continue;
        std::string line = pad(plan.name(s), name_width) + "  " +
                           pad(pipeline::to_string(plan.kind(s)), kind_width);
        std::string needs;
        for (int n : plan.needs(s)) {
            if (!shown(included, n)) continue;  // never happens for a closed selection
            needs += (needs.empty() ? "" : ", ") + plan.name(n);
        }
        if (!needs.empty()) {
            line += "  <- " + needs;
        } else {
            line.erase(line.find_last_not_of(' ') + 1);
        }
        out += line + "\n";
    }
    return out;
}

std::string render_dot(const Plan& plan, const std::vector<bool>& included) {
    std::string out = "digraph " + dot_id(plan.pipeline_name()) + " {\n";
    out += "    rankdir=LR;\n";
    out += "    node [shape=box, style=rounded];\n";
    for (int s : plan.order()) {
        if (!shown(included, s)) continue;
        out += "    " + dot_id(plan.name(s));
        switch (plan.kind(s)) {
            case pipeline::StageKind::gate:
                out += " [shape=diamond, style=solid]";
                break;
            case pipeline::StageKind::deploy:
                out += " [style=\"rounded,bold\"]";
                break;
            case pipeline::StageKind::image:
            case pipeline::StageKind::push:
                out += " [shape=box3d, style=solid]";
                break;
            case pipeline::StageKind::script:
                break;
        }
        out += ";\n";
    }
    for (int s : plan.order()) {
        if (!shown(included, s)) continue;
        for (int n : plan.needs(s)) {
            if (!shown(included, n)) continue;
            out += "    " + dot_id(plan.name(n)) + " -> " + dot_id(plan.name(s)) + ";\n";
        }
    }
    return out + "}\n";
}

std::string render_mermaid(const Plan& plan, const std::vector<bool>& included) {
    auto id = [](int s) { return "s" + std::to_string(s); };
    std::string out = "graph TD\n";
    for (int s : plan.order()) {
        if (!shown(included, s)) continue;
        std::string label = mermaid_label(plan.name(s));
        switch (plan.kind(s)) {
            case pipeline::StageKind::gate:
                label = "{" + label + "}";
                break;
            case pipeline::StageKind::deploy:
                label = "([" + label + "])";
                break;
            case pipeline::StageKind::image:
            case pipeline::StageKind::push:
                label = "[[" + label + "]]";
                break;
            case pipeline::StageKind::script:
                label = "[" + label + "]";
                break;
        }
        out += "    " + id(s) + label + "\n";
    }
    for (int s : plan.order()) {
        if (!shown(included, s)) continue;
        for (int n : plan.needs(s)) {
            if (shown(included, n)) out += "    " + id(n) + " --> " + id(s) + "\n";
        }
    }
    return out;
}

}  // namespace sluice::plan
