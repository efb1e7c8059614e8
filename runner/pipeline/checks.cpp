// Cross-stage validation: needs, cycles, expression names.
#include "runner/pipeline/checks.hpp"

#include <map>
#include <set>

#include "runner/pipeline/expressions.hpp"
#include "runner/util/graph.hpp"
#include "runner/util/suggest.hpp"

namespace sluice::pipeline {
namespace {

util::Location location(const Reader& reader, Pos pos) {
    return util::Location{reader.file(), pos.line, pos.column};
}

// deps[i]: indices of the stages stage i needs, mistakes reported and left out.
util::DependencyLists resolve_needs(Reader& reader, const Pipeline& pipeline,
                                    std::map<std::pair<int, int>, Pos>& edge_pos) {
    std::map<std::string, int> index;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < pipeline.stages.size(); ++i) {
        index.emplace(pipeline.stages[i].name, static_cast<int>(i));
        names.push_back(pipeline.stages[i].name);
    }
    util::DependencyLists deps(pipeline.stages.size());
    for (std::size_t i = 0; i < pipeline.stages.size(); ++i) {
        const Stage& stage = pipeline.stages[i];
        std::set<std::string> listed;
        for (std::size_t j = 0; j < stage.needs.size(); ++j) {
            const std::string& need = stage.needs[j];
            Pos pos = j < stage.needs_pos.size() ? stage.needs_pos[j] : stage.pos;
            util::Location at = location(reader, pos);
            if (need == stage.name) {
                reader.error(at, "stage " + quote(stage.name) + " needs itself");
                continue;
            }
            auto found = index.find(need);
            if (found == index.end()) {
                // Never suggest the stage itself: that would only trade one error for another.
                std::vector<std::string> others;
                for (const auto& n : names) {
                    if (n != stage.name) others.push_back(n);
                }
                reader.error(at, "unknown stage " + quote(need) + " in `needs`" +
                                     util::did_you_mean(need, others));
                continue;
            }
            if (!listed.insert(need).second) {
                reader.error(at, quote(need) + " is listed twice in `needs`");
                continue;
            }
            deps[i].push_back(found->second);
            edge_pos.emplace(std::pair{static_cast<int>(i), found->second}, pos);
        }
    }
    return deps;
}

void report_cycles(Reader& reader, const Pipeline& pipeline, const util::DependencyLists& deps,
                   const std::map<std::pair<int, int>, Pos>& edge_pos) {
    for (const auto& cycle : util::find_cycles(deps)) {
        std::string text;
        for (int node : cycle)
            text += pipeline.stages[static_cast<std::size_t>(node)].name + " -> ";
        text += pipeline.stages[static_cast<std::size_t>(cycle.front())].name;
        // Point at the first stage's `needs` entry that starts the loop.
        int next = cycle.size() > 1 ? cycle[1] : cycle[0];
        auto pos = edge_pos.find({cycle[0], next});
        Pos at = pos != edge_pos.end() ? pos->second
                                       : pipeline.stages[static_cast<std::size_t>(cycle[0])].pos;
        reader.error(location(reader, at), "dependency cycle: " + text);
    }
}

// Names of the stages `stage` needs directly or through others.
std::vector<std::string> needed_stages(const Pipeline& pipeline, const util::DependencyLists& deps,
                                       int stage) {
    std::vector<bool> seen(deps.size(), false);
    std::vector<int> todo{stage};
    std::vector<std::string> out;
    while (!todo.empty()) {
        int node = todo.back();
        todo.pop_back();
        for (int d : deps[static_cast<std::size_t>(node)]) {
            if (seen[static_cast<std::size_t>(d)]) continue;
            seen[static_cast<std::size_t>(d)] = true;
            out.push_back(pipeline.stages[static_cast<std::size_t>(d)].name);
            todo.push_back(d);
        }
    }
    return out;
}

void check_names(Reader& reader, const Pipeline& pipeline, const util::DependencyLists& deps) {
    std::vector<std::string> variables;
    for (const auto& [name, value] : pipeline.variables) variables.push_back(name);
    std::vector<std::string> stages;
    for (const Stage& s : pipeline.stages) stages.push_back(s.name);

    std::map<int, ExpressionScope> scopes;  // built on first use: most stages have none
    for (const PendingName& p : reader.pending()) {
        auto [it, inserted] = scopes.try_emplace(p.stage);
        ExpressionScope& scope = it->second;
        if (inserted && p.stage >= 0) {
            scope.variables = variables;
            scope.in_stage = true;
            scope.needed_stages = needed_stages(pipeline, deps, p.stage);
            scope.all_stages = stages;
        }
        if (p.stage < 0) {
            // A variable may only use the ones declared before it: that keeps resolution
            // a single pass in file order, and rules out cycles between variables.
            std::size_t count = std::min(p.variable, variables.size());
            scope.variables.assign(variables.begin(),
                                   variables.begin() + static_cast<std::ptrdiff_t>(count));
            scope.all_stages = stages;
        }
        std::string problem = check_name(p.name, scope);
        if (!problem.empty()) reader.error(p.where, problem);
    }
}

}  // namespace

void check_needs_and_names(Reader& reader, const Pipeline& pipeline) {
    std::map<std::pair<int, int>, Pos> edge_pos;
    util::DependencyLists deps = resolve_needs(reader, pipeline, edge_pos);
    report_cycles(reader, pipeline, deps, edge_pos);
    check_names(reader, pipeline, deps);
}

}  // namespace sluice::pipeline
