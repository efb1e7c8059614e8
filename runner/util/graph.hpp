// Ordering and cycle finding on a dependency graph of nodes 0..n-1, shared by the
// pipeline validator (which reports cycles) and the plan (which orders stages).
#pragma once

#include <optional>
#include <vector>

namespace sluice::util {

// deps[i] lists the nodes node i depends on. Out-of-range entries are ignored.
using DependencyLists = std::vector<std::vector<int>>;

// Every node after the nodes it depends on; among nodes ready at the same time the lowest
// index comes first, so the order is stable (file order for stages). nullopt when the
// graph has a cycle.
std::optional<std::vector<int>> topological_order(const DependencyLists& deps);

// One cycle per strongly connected component that has one: the component's lowest node
// first, then each node the previous one depends on, e.g. {a, b, c} when a depends on
// b, b on c and c on a. A node depending on itself is the cycle {a}. Ordered by first
// node.
std::vector<std::vector<int>> find_cycles(const DependencyLists& deps);

}  // namespace sluice::util
