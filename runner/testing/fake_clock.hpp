// A Clock that only moves when a test says so.
#pragma once

#include "runner/util/clock.hpp"

namespace sluice::testing {

class FakeClock final : public util::Clock {
public:
    util::SteadyTime now() const override { return now_; }
    std::int64_t epoch_ms() const override {
        return 1'700'000'000'000 +
               std::chrono::duration_cast<std::chrono::milliseconds>(now_.time_since_epoch())
                   .count();
    }
    void advance(std::chrono::milliseconds by) { now_ += by; }

private:
    util::SteadyTime now_{};
};

}  // namespace sluice::testing
