// parse_size and format_size.
#include "runner/cache/byte_size.hpp"

#include <gtest/gtest.h>

namespace sluice::cache {
namespace {

TEST(ByteSize, ParsesNumbersWithUnits) {
    struct Case {
        const char* text;
        std::uint64_t bytes;
    };
    for (auto [text, bytes] : std::initializer_list<Case>{
             {"1234", 1234},
             {"0", 0},
             {"12B", 12},
             {"500M", 500'000'000},
             {"500MB", 500'000'000},
             {"10G", 10'000'000'000},
             {"10g", 10'000'000'000},
             {"2KiB", 2048},
             {"2ki", 2048},
             {"3 MiB", 3 * 1024 * 1024},
             {"1Gi", 1024ULL * 1024 * 1024},
             {"1TiB", 1024ULL * 1024 * 1024 * 1024},
             {"1.5G", 1'500'000'000},
             {"0.5KiB", 512},
             {" 7k ", 7000},
             {"18446744073709551615", 18446744073709551615ULL},
         }) {
        auto parsed = parse_size(text);
        ASSERT_TRUE(parsed) << text << ": " << parsed.error().message;
        EXPECT_EQ(*parsed, bytes) << text;
    }
}

TEST(ByteSize, RefusesWhatIsNotASize) {
    for (const char* text : {"", "  ", "M", "ten", "10X", "10 GBs", "-5M", "1.2.3G", "0.3B",
                             "18446744073709551616", "20000000T", "1e9"}) {
        auto parsed = parse_size(text);
        ASSERT_FALSE(parsed) << text << " parsed as " << *parsed;
        EXPECT_EQ(parsed.error().code, util::ErrorCode::bad_input) << text;
        EXPECT_FALSE(parsed.error().message.empty());
    }
    auto unit = parse_size("10X");
    EXPECT_NE(unit.error().message.find("`10X`"), std::string::npos) << unit.error().message;
    EXPECT_NE(unit.error().message.find("unknown unit `X`"), std::string::npos);
}

TEST(ByteSize, FormatsForPeople) {
    EXPECT_EQ(format_size(0), "0 B");
    EXPECT_EQ(format_size(1023), "1023 B");
    EXPECT_EQ(format_size(1536), "1.5 KiB");
    EXPECT_EQ(format_size(10ULL * 1024 * 1024 * 1024), "10.0 GiB");
}

}  // namespace
}  // namespace sluice::cache
