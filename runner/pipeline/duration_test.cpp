// Durations as written in sluice.yml.
#include "runner/pipeline/duration.hpp"

#include <gtest/gtest.h>

namespace sluice::pipeline {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesEachForm) {
    EXPECT_EQ(parse_duration("500ms"), Millis(500));
    EXPECT_EQ(parse_duration("45s"), 45s);
    EXPECT_EQ(parse_duration("10m"), 10min);
    EXPECT_EQ(parse_duration("1h30m"), 90min);
    EXPECT_EQ(parse_duration("72h"), 72h);
    EXPECT_EQ(parse_duration("2d"), 48h);
    EXPECT_EQ(parse_duration("90"), 90s);
    EXPECT_EQ(parse_duration("0"), 0s);
    EXPECT_EQ(parse_duration(" 5m "), 5min);
    EXPECT_EQ(parse_duration("1d2h3m4s5ms"), 26h + 3min + 4s + Millis(5));
}

TEST(Duration, RejectsEverythingElse) {
    for (const char* bad : {"", "m", "-5s", "1.5h", "10 minutes", "5x", "30m1h", "1h1h", "1h30",
                            "5 m", "400d", "99999999999999999999s", "1sm"}) {
        EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
    }
}

TEST(Duration, FormatsWhatItParses) {
    EXPECT_EQ(format_duration(0s), "0s");
    EXPECT_EQ(format_duration(Millis(500)), "500ms");
    EXPECT_EQ(format_duration(90min), "1h30m");
    EXPECT_EQ(format_duration(Millis(1500)), "1s500ms");
    EXPECT_EQ(format_duration(50h), "2d2h");
    for (Millis d : {Millis(1), Millis(61'001), Millis(86'400'000), Millis(123'456'789)}) {
        EXPECT_EQ(parse_duration(format_duration(d)), d) << format_duration(d);
    }
}

}  // namespace
}  // namespace sluice::pipeline
