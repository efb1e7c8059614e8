// MemoPrefetch: a thread that claims each stage's checks in turn (an atomic state per
// stage), so that it and the run's thread never look at the same stage twice.
#include "runner/engine/memo_prefetch.hpp"

namespace sluice::engine {

bool all_paths_hold(const StageMemo& stage, int workspace_fd) {
    for (const auto& check : stage.checks) {
        if (!still_holds(check, workspace_fd)) return false;
    }
    return true;
}

MemoPrefetch::MemoPrefetch(const RunMemo& memo, int workspace_fd,
                           std::vector<const StageMemo*> order)
    : memo_(memo),
      workspace_fd_(workspace_fd),
      order_(std::move(order)),
      states_(std::make_unique<std::atomic<std::uint8_t>[]>(memo.stages().size())) {
    for (std::size_t i = 0; i < memo.stages().size(); ++i) states_[i].store(unclaimed);
    thread_ = std::thread([this] { work(); });
}

MemoPrefetch::~MemoPrefetch() {
    stopped_.store(true);
    thread_.join();
}

std::size_t MemoPrefetch::index_of(const StageMemo& stage) const {
    return static_cast<std::size_t>(&stage - memo_.stages().data());
}

void MemoPrefetch::work() {
    for (const StageMemo* stage : order_) {
        if (stopped_.load(std::memory_order_relaxed)) return;
        auto& state = states_[index_of(*stage)];
        std::uint8_t expected = unclaimed;
        if (!state.compare_exchange_strong(expected, checking)) continue;  // asked already
        state.store(all_paths_hold(*stage, workspace_fd_) ? held : changed);
        state.notify_all();
    }
}

bool MemoPrefetch::holds(const StageMemo& stage) {
    auto& state = states_[index_of(stage)];
    if (stopped_.load()) return all_paths_hold(stage, workspace_fd_);
    std::uint8_t seen = unclaimed;
    if (state.compare_exchange_strong(seen, checking)) return all_paths_hold(stage, workspace_fd_);
    if (seen == checking) {
        state.wait(checking);  // the thread is looking at it now
        seen = state.load();
    }
    return seen == held;
}

void MemoPrefetch::stop() { stopped_.store(true); }

}  // namespace sluice::engine
