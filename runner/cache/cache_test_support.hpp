// Helpers shared by the stage cache's tests: a clock set by the test, file times, stat.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "runner/util/clock.hpp"

namespace sluice::cache::testing {

// Wall-clock time now, unix ms.
inline std::int64_t real_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A clock whose wall time the test sets. at_real_now_plus(1h) makes files written by
// the test look settled (older than the racy-timestamp slack) to a FileDigests.
class SetClock final : public util::Clock {
  public:
    explicit SetClock(std::int64_t epoch_ms) : epoch_ms_(epoch_ms) {}
    static SetClock at_real_now_plus(std::chrono::milliseconds offset) {
        return SetClock(real_now_ms() + offset.count());
    }
    util::SteadyTime now() const override {
        return util::SteadyTime{} + std::chrono::milliseconds(epoch_ms_);
    }
    std::int64_t epoch_ms() const override { return epoch_ms_; }
    void set(std::int64_t epoch_ms) { epoch_ms_ = epoch_ms; }

  private:
    std::int64_t epoch_ms_;
};

inline struct stat stat_of(const std::filesystem::path& path) {
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0)
        throw std::runtime_error("cannot stat " + path.string());
    return status;
}

inline struct stat lstat_of(const std::filesystem::path& path) {
    struct stat status {};
    if (::lstat(path.c_str(), &status) != 0)
        throw std::runtime_error("cannot lstat " + path.string());
    return status;
}

inline std::int64_t nanoseconds(const timespec& t) {
    return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

// Sets a file's mtime (and atime) to exactly `t`.
inline void set_mtime(const std::filesystem::path& path, const timespec& t) {
    timespec times[2] = {t, t};
    if (::utimensat(AT_FDCWD, path.c_str(), times, 0) != 0) {
        throw std::runtime_error("cannot set the mtime of " + path.string());
    }
}

// Sets the mtime back to `t` until the kernel's clock has moved past `old_ctime`, so
// the file's ctime visibly differs from it (each utimensat sets the ctime to now; a
// coarse clock may need a few calls within one tick). Not a sleep: it ends as soon as
// the clock ticks.
inline void set_mtime_until_ctime_differs(const std::filesystem::path& path, const timespec& t,
                                          const timespec& old_ctime) {
    do {
        set_mtime(path, t);
    } while (nanoseconds(stat_of(path).st_ctim) == nanoseconds(old_ctime));
}

inline std::string mode_string(const std::filesystem::path& path) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(lstat_of(path).st_mode & 07777));
    return text;
}

}  // namespace sluice::cache::testing
