// Scheduler tests: order, -j, failure propagation, allow_failure, retries with backoff,
// presets (resume) and exclusions (--only), driven step by step with a fake clock.
#include "runner/sched/scheduler.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "runner/testing/fake_clock.hpp"

namespace sluice::sched {
namespace {

using namespace std::chrono_literals;

StagePolicy needs(std::vector<int> n) {
    StagePolicy p;
    p.needs = std::move(n);
    return p;
}

// Runs the scheduler to the end, every stage succeeding except those in `fail`;
// returns the order stages were started in.
std::vector<int> drain(Scheduler& s, testing::FakeClock& clock, const std::vector<int>& fail = {}) {
    std::vector<int> order;
    while (!s.done()) {
        auto ready = s.take_ready(clock.now());
        if (ready.empty()) {
            auto wake = s.next_wakeup();
            if (!wake) break;
            clock.advance(std::chrono::duration_cast<std::chrono::milliseconds>(*wake - clock.now()));
            continue;
        }
        for (int st : ready) {
            order.push_back(st);
            bool ok = std::find(fail.begin(), fail.end(), st) == fail.end();
            s.finished(st, ok, clock.now());
        }
    }
    return order;
}

TEST(Scheduler, StartsStagesOnlyWhenTheirNeedsPassed) {
    // 0 -> 1 -> 3, 0 -> 2 -> 3
    Scheduler s({needs({}), needs({0}), needs({0}), needs({1, 2})}, 4);
    testing::FakeClock clock;
    EXPECT_EQ(s.take_ready(clock.now()), (std::vector<int>{0}));
    EXPECT_TRUE(s.take_ready(clock.now()).empty());
    s.finished(0, true, clock.now());
    EXPECT_EQ(s.take_ready(clock.now()), (std::vector<int>{1, 2}));
    s.finished(1, true, clock.now());
    EXPECT_TRUE(s.take_ready(clock.now()).empty()) << "3 still needs 2";
    s.finished(2, true, clock.now());
    EXPECT_EQ(s.take_ready(clock.now()), (std::vector<int>{3}));
    s.finished(3, true, clock.now());
    EXPECT_TRUE(s.done());
    EXPECT_TRUE(s.succeeded());
}

TEST(Scheduler, NeverRunsMoreThanJobsAtOnce) {
    std::vector<StagePolicy> wide(10);
    Scheduler s(wide, 3);
    testing::FakeClock clock;
    auto first = s.take_ready(clock.now());
    EXPECT_EQ(first, (std::vector<int>{0, 1, 2}));
    EXPECT_EQ(s.running(), 3);
    EXPECT_TRUE(s.take_ready(clock.now()).empty());
    s.finished(1, true, clock.now());
    EXPECT_EQ(s.take_ready(clock.now()), (std::vector<int>{3}));
    for (int st : {0, 2, 3}) s.finished(st, true, clock.now());
    EXPECT_EQ(drain(s, clock).size(), 6u);  // the 6 not started yet
    EXPECT_TRUE(s.succeeded());
}

TEST(Scheduler, FailureSkipsDependentsAndLetsIndependentBranchesFinish) {
    // 0 -> 1 -> 2 ; 3 -> 4 (independent)
    Scheduler s({needs({}), needs({0}), needs({1}), needs({}), needs({3})}, 2);
    testing::FakeClock clock;
    auto order = drain(s, clock, {0});
    EXPECT_EQ(s.state(0), State::failed);
    EXPECT_EQ(s.state(1), State::skipped);
    EXPECT_EQ(s.blocked_by(1), 0);
    EXPECT_EQ(s.state(2), State::skipped);
    EXPECT_EQ(s.blocked_by(2), 1);
    EXPECT_EQ(s.state(3), State::passed);
    EXPECT_EQ(s.state(4), State::passed);
    EXPECT_EQ(order, (std::vector<int>{0, 3, 4}));
    EXPECT_FALSE(s.succeeded());
}

TEST(Scheduler, AllowFailureLetsDependentsGoOn) {
    StagePolicy lint;
    lint.allow_failure = true;
    Scheduler s({lint, needs({0})}, 1);
    testing::FakeClock clock;
    drain(s, clock, {0});
    EXPECT_EQ(s.state(0), State::failed);
    EXPECT_EQ(s.state(1), State::passed);
    EXPECT_TRUE(s.succeeded());
}

TEST(Scheduler, RetriesWithDoublingBackoff) {
    StagePolicy flaky;
    flaky.retries = 2;
    flaky.retry_delay = 100ms;
    Scheduler s({flaky}, 1);
    testing::FakeClock clock;
    EXPECT_EQ(s.take_ready(clock.now()).size(), 1u);
    auto retry_at = s.finished(0, false, clock.now());
    ASSERT_TRUE(retry_at.has_value());
    EXPECT_EQ(*retry_at - clock.now(), 100ms);
    EXPECT_EQ(s.state(0), State::retry_wait);
    clock.advance(99ms);
    EXPECT_TRUE(s.take_ready(clock.now()).empty()) << "not due yet";
    clock.advance(1ms);
    EXPECT_EQ(s.take_ready(clock.now()).size(), 1u);
    retry_at = s.finished(0, false, clock.now());
    ASSERT_TRUE(retry_at.has_value());
    EXPECT_EQ(*retry_at - clock.now(), 200ms);
    clock.advance(200ms);
    EXPECT_EQ(s.take_ready(clock.now()).size(), 1u);
    EXPECT_FALSE(s.finished(0, false, clock.now()).has_value()) << "out of retries";
    EXPECT_EQ(s.state(0), State::failed);
    EXPECT_EQ(s.attempts(0), 3);
    EXPECT_TRUE(s.done());
}

TEST(Scheduler, RetrySucceedsAndDependentsRun) {
    StagePolicy flaky;
    flaky.retries = 1;
    flaky.retry_delay = 10ms;
    Scheduler s({flaky, needs({0})}, 1);
    testing::FakeClock clock;
    s.take_ready(clock.now());
    s.finished(0, false, clock.now());
    auto order = drain(s, clock);
    EXPECT_EQ(order, (std::vector<int>{0, 1}));
    EXPECT_EQ(s.attempts(0), 2);
    EXPECT_TRUE(s.succeeded());
}

TEST(Scheduler, PresetPassedStagesAreNotRunAgain) {
    // resume: 0 passed before, 1 was interrupted, 2 never started
    Scheduler s({needs({}), needs({0}), needs({1})}, 2);
    s.preset(0, State::passed);
    testing::FakeClock clock;
    auto order = drain(s, clock);
    EXPECT_EQ(order, (std::vector<int>{1, 2}));
    EXPECT_TRUE(s.succeeded());
}

TEST(Scheduler, PresetSkippedByRuleSatisfiesDependents) {
    Scheduler s({needs({}), needs({0})}, 2);
    s.preset(0, State::skipped, "rule");
    testing::FakeClock clock;
    EXPECT_EQ(drain(s, clock), (std::vector<int>{1}));
}

TEST(Scheduler, ExcludedStagesAreNeitherRunNorCounted) {
    Scheduler s({needs({}), needs({0}), needs({})}, 2);
    s.exclude(2);
    testing::FakeClock clock;
    EXPECT_EQ(drain(s, clock), (std::vector<int>{0, 1}));
    EXPECT_TRUE(s.excluded(2));
    EXPECT_TRUE(s.succeeded());
}

TEST(Scheduler, CancelAllSettlesEverything) {
    Scheduler s({needs({}), needs({0}), needs({})}, 1);
    testing::FakeClock clock;
    EXPECT_EQ(s.take_ready(clock.now()), (std::vector<int>{0}));
    s.cancel_all("interrupted by SIGINT");
    EXPECT_TRUE(s.done());
    for (int i = 0; i < 3; ++i) EXPECT_EQ(s.state(i), State::cancelled);
    EXPECT_EQ(s.reason(1), "interrupted by SIGINT");
    EXPECT_FALSE(s.finished(0, true, clock.now()).has_value()) << "late report is ignored";
    EXPECT_EQ(s.state(0), State::cancelled);
}

TEST(Scheduler, WideGraphOfAThousandStagesRunsEachOnce) {
    std::vector<StagePolicy> wide(1000);
    Scheduler s(wide, 2);
    testing::FakeClock clock;
    auto order = drain(s, clock);
    ASSERT_EQ(order.size(), 1000u);
    std::sort(order.begin(), order.end());
    EXPECT_EQ(std::adjacent_find(order.begin(), order.end()), order.end());
}

}  // namespace
}  // namespace sluice::sched

namespace sluice::sched {
namespace {

TEST(Scheduler, AHeldStageFreesItsSlotAndTheRunStallsWhenNothingElseCanRun) {
    // 0 -> 1 (held for approval) -> 2; 3 independent.
    Scheduler s({needs({}), needs({0}), needs({1}), needs({})}, 1);
    testing::FakeClock clock;
    EXPECT_EQ(s.take_ready(clock.now()), (std::vector<int>{0}));
    s.finished(0, true, clock.now());
    EXPECT_EQ(s.take_ready(clock.now()), (std::vector<int>{1}));
    s.hold(1, "waiting for 1 approval");
    EXPECT_EQ(s.state(1), State::waiting);
    EXPECT_EQ(s.attempts(1), 0);  // it did not start
    EXPECT_FALSE(s.stalled()) << "3 can still run";
    EXPECT_EQ(s.take_ready(clock.now()), (std::vector<int>{3}));  // the slot is free
    s.finished(3, true, clock.now());
    EXPECT_TRUE(s.take_ready(clock.now()).empty());
    EXPECT_TRUE(s.stalled());
    EXPECT_FALSE(s.done());
    EXPECT_EQ(s.state(2), State::pending);  // its dependent waits with it
    EXPECT_FALSE(s.failed_any());
    EXPECT_FALSE(s.succeeded());
}

}  // namespace
}  // namespace sluice::sched
