// Stable topological order (Kahn) and cycle extraction (Tarjan), both iterative so a
// long chain of stages cannot overflow the stack.
#include "runner/util/graph.hpp"

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <queue>

namespace sluice::util {
namespace {

bool valid(int node, std::size_t n) { return node >= 0 && static_cast<std::size_t>(node) < n; }

std::size_t at(int node) { return static_cast<std::size_t>(node); }

// Strongly connected components (Tarjan), each as a list of nodes.
std::vector<std::vector<int>> components(const DependencyLists& deps) {
    const std::size_t n = deps.size();
    std::vector<int> index(n, -1), low(n, 0);
    std::vector<bool> on_stack(n, false);
    std::vector<int> stack;
    std::vector<std::vector<int>> out;
    int counter = 0;
    struct Frame {
        int node;
        std::size_t next_edge;
    };
    for (std::size_t root = 0; root < n; ++root) {
        if (index[root] >= 0) continue;
        std::vector<Frame> frames{{static_cast<int>(root), 0}};
        index[root] = low[root] = counter++;
        stack.push_back(static_cast<int>(root));
        on_stack[root] = true;
        while (!frames.empty()) {
            Frame& f = frames.back();
            const auto& edges = deps[at(f.node)];
            if (f.next_edge < edges.size()) {
                int to = edges[f.next_edge++];
                if (!valid(to, n)) continue;
                if (index[at(to)] < 0) {
                    index[at(to)] = low[at(to)] = counter++;
                    stack.push_back(to);
                    on_stack[at(to)] = true;
                    frames.push_back({to, 0});
                } else if (on_stack[at(to)]) {
                    low[at(f.node)] = std::min(low[at(f.node)], index[at(to)]);
                }
                continue;
            }
            int node = f.node;
            frames.pop_back();
            if (!frames.empty()) {
                int parent = frames.back().node;
                low[at(parent)] = std::min(low[at(parent)], low[at(node)]);
            }
            if (low[at(node)] == index[at(node)]) {
                std::vector<int> component;
                int member = -1;
                do {
                    member = stack.back();
                    stack.pop_back();
                    on_stack[at(member)] = false;
                    component.push_back(member);
                } while (member != node);
                out.push_back(std::move(component));
            }
        }
    }
    return out;
}

// The shortest path start -> ... -> start inside `members` (breadth first).
std::vector<int> shortest_cycle(const DependencyLists& deps, int start,
                                const std::vector<bool>& members) {
    const std::size_t n = deps.size();
    std::vector<int> parent(n, -1);
    std::vector<bool> seen(n, false);
    std::deque<int> queue{start};
    seen[at(start)] = true;
    while (!queue.empty()) {
        int node = queue.front();
        queue.pop_front();
        for (int to : deps[at(node)]) {
            if (!valid(to, n) || !members[at(to)]) continue;
            if (to == start) {
                std::vector<int> path;
                for (int p = node; p != -1; p = parent[at(p)]) path.push_back(p);
                std::reverse(path.begin(), path.end());
                return path;
            }
            if (!seen[at(to)]) {
                seen[at(to)] = true;
                parent[at(to)] = node;
                queue.push_back(to);
            }
        }
    }
    return {start};  // not reached for a real component
}

}  // namespace

std::optional<std::vector<int>> topological_order(const DependencyLists& deps) {
    const std::size_t n = deps.size();
    std::vector<int> unmet(n, 0);
    std::vector<std::vector<int>> dependents(n);
    for (std::size_t i = 0; i < n; ++i) {
        for (int d : deps[i]) {
            if (!valid(d, n)) continue;
            ++unmet[i];
            dependents[at(d)].push_back(static_cast<int>(i));
        }
    }
    std::priority_queue<int, std::vector<int>, std::greater<>> ready;
    for (std::size_t i = 0; i < n; ++i) {
        if (unmet[i] == 0) ready.push(static_cast<int>(i));
    }
    std::vector<int> order;
    order.reserve(n);
    while (!ready.empty()) {
        int node = ready.top();
        ready.pop();
        order.push_back(node);
        for (int dependent : dependents[at(node)]) {
            if (--unmet[at(dependent)] == 0) ready.push(dependent);
        }
    }
    if (order.size() != n) return std::nullopt;
    return order;
}

std::vector<std::vector<int>> find_cycles(const DependencyLists& deps) {
    const std::size_t n = deps.size();
    std::vector<std::vector<int>> cycles;
    for (auto& component : components(deps)) {
        int first = *std::min_element(component.begin(), component.end());
        if (component.size() == 1) {
            const auto& edges = deps[at(first)];
            if (std::find(edges.begin(), edges.end(), first) != edges.end()) {
                cycles.push_back({first});
            }
            continue;
        }
        std::vector<bool> members(n, false);
        for (int m : component) members[at(m)] = true;
        cycles.push_back(shortest_cycle(deps, first, members));
    }
    std::sort(cycles.begin(), cycles.end(),
              [](const auto& a, const auto& b) { return a.front() < b.front(); });
    return cycles;
}

}  // namespace sluice::util
