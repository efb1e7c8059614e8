// The Clock seam: code that waits or measures asks a Clock, so tests can drive time.
#pragma once

#include <chrono>
#include <cstdint>

namespace sluice::util {

using SteadyTime = std::chrono::steady_clock::time_point;

class Clock {
public:
    virtual ~Clock() = default;
    virtual SteadyTime now() const = 0;
    // Wall-clock time, unix epoch milliseconds (for records people read).
    virtual std::int64_t epoch_ms() const = 0;
};

class SystemClock final : public Clock {
public:
    SteadyTime now() const override { return std::chrono::steady_clock::now(); }
    std::int64_t epoch_ms() const override {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
};

}  // namespace sluice::util
