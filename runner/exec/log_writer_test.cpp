// Tests of the stage log format: what records look like, and that decoding gives the output
// back byte for byte.
#include "runner/exec/log_writer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <random>
#include <string>

#include "runner/testing/temp_dir.hpp"

namespace sluice::exec {
namespace {

using namespace std::chrono_literals;
using sluice::testing::TempDir;
using TimePoint = std::chrono::system_clock::time_point;

// 2026-11-22T16:08:01.123Z
const TimePoint k_time = TimePoint(std::chrono::milliseconds(1795363681123));

LogWriter open_log(const std::filesystem::path& path, bool append = false) {
    auto log = LogWriter::open(path, append);
    EXPECT_TRUE(log.has_value());
    return std::move(*log);
}

std::string read_stream(const std::filesystem::path& path, std::optional<Stream> stream,
                        bool timestamps = false) {
    LogReadOptions options;
    options.stream = stream;
    options.timestamps = timestamps;
    auto text = read_log(path, options);
    EXPECT_TRUE(text.has_value());
    return text.value_or("");
}

TEST(LogWriterTest, WritesOneTimestampedRecordPerLine) {
    TempDir dir;
    auto log = open_log(dir / "log");
    ASSERT_TRUE(log.write(Stream::out, "hello\nwor", k_time).has_value());
    ASSERT_TRUE(log.write(Stream::err, "oops\n", k_time + 1ms).has_value());
    ASSERT_TRUE(log.write(Stream::out, "ld\n\nlast", k_time + 2ms).has_value());
    ASSERT_TRUE(log.close().has_value());
    EXPECT_EQ(sluice::testing::read_file(dir / "log"),
              "2026-11-22T16:08:01.123Z out | hello\n"
              "2026-11-22T16:08:01.124Z err | oops\n"
              "2026-11-22T16:08:01.123Z out | world\n"  // stamped when the line began
              "2026-11-22T16:08:01.125Z out | \n"
              "2026-11-22T16:08:01.125Z out + last\n");
}

TEST(LogWriterTest, FormatsTimestampsInUtc) {
    TempDir dir;
    auto log = open_log(dir / "log");
    ASSERT_TRUE(log.write(Stream::out, "a\n", TimePoint{}).has_value());
    // 2024-02-29T23:59:59.999Z, a leap day
    ASSERT_TRUE(log.write(Stream::out, "b\n", TimePoint(1709251199999ms)).has_value());
    ASSERT_TRUE(log.close().has_value());
    EXPECT_EQ(sluice::testing::read_file(dir / "log"),
              "1970-01-01T00:00:00.000Z out | a\n2024-02-29T23:59:59.999Z out | b\n");
}

TEST(LogWriterTest, GivesEachStreamBackByteForByte) {
    TempDir dir;
    std::mt19937 random(42);
    std::string expected[2];
    auto log = open_log(dir / "log");
    // Binary bytes with many newlines, CRs and NULs, cut into chunks of random sizes.
    for (int chunk = 0; chunk < 2000; ++chunk) {
        int stream = static_cast<int>(random() % 2);
        std::string data(random() % 300, '\0');
        for (char& c : data) {
            auto roll = random() % 10;
            c = roll < 2 ? '\n' : roll < 3 ? '\r' : static_cast<char>(random() % 256);
        }
        expected[stream] += data;
        ASSERT_TRUE(log.write(stream == 0 ? Stream::out : Stream::err, data).has_value());
    }
    ASSERT_TRUE(log.close().has_value());
    EXPECT_TRUE(read_stream(dir / "log", Stream::out) == expected[0]);
    EXPECT_TRUE(read_stream(dir / "log", Stream::err) == expected[1]);
    EXPECT_EQ(read_stream(dir / "log", std::nullopt).size(),
              expected[0].size() + expected[1].size());
}

TEST(LogWriterTest, SplitsVeryLongLinesIntoPieces) {
    TempDir dir;
    std::string line(3 * k_log_max_record_text + 17, 'x');
    auto log = open_log(dir / "log");
    ASSERT_TRUE(log.write(Stream::out, line.substr(0, 1000)).has_value());
    ASSERT_TRUE(log.write(Stream::out, line.substr(1000) + "\nshort\n").has_value());
    ASSERT_TRUE(log.close().has_value());
    EXPECT_EQ(read_stream(dir / "log", Stream::out), line + "\nshort\n");
    std::string file = sluice::testing::read_file(dir / "log");
    std::size_t records = 0;
    for (std::size_t at = 0; (at = file.find('\n', at)) != std::string::npos; ++at) ++records;
    EXPECT_EQ(records, 5u);  // four for the long line, one for "short"
}

TEST(LogWriterTest, ExactMultipleOfTheRecordSizeEndsCleanly) {
    TempDir dir;
    std::string line(k_log_max_record_text, 'y');
    auto log = open_log(dir / "log");
    ASSERT_TRUE(log.write(Stream::err, line + "\n" + line).has_value());
    ASSERT_TRUE(log.close().has_value());
    EXPECT_EQ(read_stream(dir / "log", Stream::err), line + "\n" + line);
}

TEST(LogWriterTest, ReadsWithTimestampsAndPerStream) {
    TempDir dir;
    auto log = open_log(dir / "log");
    ASSERT_TRUE(log.write(Stream::out, "one\ntw", k_time).has_value());
    ASSERT_TRUE(log.write(Stream::err, "warn\n", k_time).has_value());
    ASSERT_TRUE(log.close().has_value());
    EXPECT_EQ(read_stream(dir / "log", std::nullopt), "one\nwarn\ntw");
    EXPECT_EQ(read_stream(dir / "log", Stream::err, true), "2026-11-22T16:08:01.123Z warn\n");
    EXPECT_EQ(read_stream(dir / "log", Stream::out, true),
              "2026-11-22T16:08:01.123Z one\n2026-11-22T16:08:01.123Z tw");
}

TEST(LogWriterTest, AppendKeepsAndTruncateDropsEarlierAttempts) {
    TempDir dir;
    {
        auto log = open_log(dir / "log");
        ASSERT_TRUE(log.write(Stream::out, "first\n").has_value());
    }
    {
        auto log = open_log(dir / "log", true);
        ASSERT_TRUE(log.write(Stream::out, "second\n").has_value());
    }
    EXPECT_EQ(read_stream(dir / "log", Stream::out), "first\nsecond\n");
    {
        auto log = open_log(dir / "log", false);
        ASSERT_TRUE(log.write(Stream::out, "third\n").has_value());
    }
    EXPECT_EQ(read_stream(dir / "log", Stream::out), "third\n");
}

TEST(LogWriterTest, WriteAfterCloseFails) {
    TempDir dir;
    auto log = open_log(dir / "log");
    ASSERT_TRUE(log.close().has_value());
    EXPECT_TRUE(log.close().has_value());
    EXPECT_FALSE(log.write(Stream::out, "late\n").has_value());
}

TEST(LogWriterTest, MissingLogIsNotFound) {
    TempDir dir;
    auto text = read_log(dir / "nope");
    ASSERT_FALSE(text.has_value());
    EXPECT_EQ(text.error().code, util::ErrorCode::not_found);
}

TEST(LogWriterTest, FollowerContinuesFromTheReturnedOffset) {
    TempDir dir;
    auto log = open_log(dir / "log");
    LogDecoder decoder;
    std::string seen;
    auto sink = [&seen](std::string_view text) { seen.append(text); };

    ASSERT_TRUE(log.write(Stream::out, "a\nb").has_value());
    auto offset = read_log_from(dir / "log", decoder, sink);
    ASSERT_TRUE(offset.has_value());
    EXPECT_EQ(seen, "a\n");

    ASSERT_TRUE(log.write(Stream::out, "c\nd\n").has_value());
    offset = read_log_from(dir / "log", decoder, sink, *offset);
    ASSERT_TRUE(offset.has_value());
    EXPECT_EQ(seen, "a\nbc\nd\n");
    // A record cut in the middle (the writer is between two writes) waits for its end.
    std::string partial_record = "2026-11-22T16:08:01.123Z out | hal";
    std::string decoded;
    EXPECT_EQ(decoder.decode(partial_record, decoded), 0u);
    EXPECT_EQ(decoded, "");
}

TEST(LogWriterTest, HundredMegabytesTakeAboutASecond) {
    TempDir dir;
    // base64-like lines of 76 characters, as `base64` prints them.
    std::string chunk;
    std::mt19937 random(7);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    while (chunk.size() < 64 * 1024 - 77) {
        for (int i = 0; i < 76; ++i) chunk.push_back(alphabet[random() % 64]);
        chunk.push_back('\n');
    }
    const std::size_t chunks = 100'000'000 / chunk.size() + 1;
    auto started = std::chrono::steady_clock::now();
    {
        auto log = open_log(dir / "log");
        for (std::size_t i = 0; i < chunks; ++i) {
            ASSERT_TRUE(log.write(i % 2 == 0 ? Stream::out : Stream::err, chunk).has_value());
        }
        ASSERT_TRUE(log.close().has_value());
    }
    auto written = std::chrono::steady_clock::now();
    auto text = read_log(dir / "log");
    auto read = std::chrono::steady_clock::now();
    ASSERT_TRUE(text.has_value());
    EXPECT_EQ(text->size(), chunks * chunk.size());
    auto ms = [](auto d) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    };
    std::cout << "100 MB: write " << ms(written - started) << " ms, read " << ms(read - written)
              << " ms\n";
}

}  // namespace
}  // namespace sluice::exec
