// RememberedRun: the load, then a thread that claims each stage's checks in turn (an
// atomic state per stage), so that it and the run's thread never look at the same stage
// twice.
#include "runner/engine/remembered_run.hpp"

#include <fcntl.h>

#include <system_error>

#include "runner/cache/cache_generation.hpp"
#include "runner/util/sha256.hpp"

namespace sluice::engine {

bool all_paths_hold(const StageMemo& stage, int workspace_fd) {
    for (const auto& check : stage.checks) {
        if (!still_holds(check, workspace_fd)) return false;
    }
    return true;
}

RememberedRun::RememberedRun(Key key, bool ahead) : key_(std::move(key)), ahead_(ahead) {
    if (!ahead_) {
        load();
        return;
    }
    start_thread();
}

RememberedRun::RememberedRun(std::filesystem::path cache_dir, std::string text,
                             std::filesystem::path workspace)
    : key_{std::move(cache_dir), {}, std::move(workspace)}, text_(std::move(text)), ahead_(true) {
    start_thread();
}

void RememberedRun::start_thread() {
    try {
        thread_ = std::thread([this] {
            load();
            check_ahead();
        });
    } catch (const std::system_error&) {
        ahead_ = false;  // no thread to be had: loaded here, checked when asked
        load();
    }
}

RememberedRun::~RememberedRun() {
    stopped_.store(true);
    if (thread_.joinable()) thread_.join();
}

void RememberedRun::load() {
    try {
        if (key_.pipeline_digest.empty()) {
            key_.pipeline_digest = util::sha256_hex(text_);
            text_ = {};
        }
        // Read before the cache index is asked anything (cache_generation.hpp).
        generation_ = cache::read_generation(key_.cache_dir);
        workspace_ = util::UniqueFd(::open(key_.workspace.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (workspace_) file_ = RunMemo::file_for(key_.cache_dir / "runs", key_.pipeline_digest, key_.workspace);
        if (!file_.empty()) memo_ = RunMemo::load(file_, generation_);
        states_ = std::make_unique<std::atomic<std::uint8_t>[]>(memo_.stages().size());
        for (std::size_t i = 0; i < memo_.stages().size(); ++i) states_[i].store(unclaimed);
    } catch (const std::exception&) {
        // (Out of memory, OpenSSL failing.) Nothing is remembered, and whoever waits for
        // the load still wakes.
        memo_ = RunMemo();
        file_.clear();
        states_.reset();
    }
    loaded_.store(true);
    loaded_.notify_all();
}

void RememberedRun::wait_loaded() { loaded_.wait(false); }

const RememberedRun::Key& RememberedRun::key() {
    wait_loaded();
    return key_;
}

const RunMemo& RememberedRun::memo() {
    wait_loaded();
    return memo_;
}

const std::string& RememberedRun::generation() {
    wait_loaded();
    return generation_;
}

const std::filesystem::path& RememberedRun::file() {
    wait_loaded();
    return file_;
}

std::size_t RememberedRun::index_of(const StageMemo& stage) const {
    return static_cast<std::size_t>(&stage - memo_.stages().data());
}

void RememberedRun::check_ahead() {
    for (const StageMemo& stage : memo_.stages()) {
        if (stopped_.load(std::memory_order_relaxed)) return;
        auto& state = states_[index_of(stage)];
        std::uint8_t expected = unclaimed;
        if (!state.compare_exchange_strong(expected, checking)) continue;  // asked already
        state.store(all_paths_hold(stage, workspace_.get()) ? held : changed);
        state.notify_all();
    }
}

bool RememberedRun::holds(const StageMemo& stage) {
    wait_loaded();
    if (!ahead_ || stopped_.load()) return all_paths_hold(stage, workspace_.get());
    auto& state = states_[index_of(stage)];
    std::uint8_t seen = unclaimed;
    if (state.compare_exchange_strong(seen, checking)) return all_paths_hold(stage, workspace_.get());
    if (seen == checking) {
        state.wait(checking);  // the thread is looking at it now
        seen = state.load();
    }
    return seen == held;
}

void RememberedRun::stop() { stopped_.store(true); }

}  // namespace sluice::engine
