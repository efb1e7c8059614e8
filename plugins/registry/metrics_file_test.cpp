// Metrics files: both formats, every refusal with the key or line it concerns, reading
// from disk, and garbage that must come back as an error rather than a crash.
#include "plugins/registry/metrics_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include "runner/testing/temp_dir.hpp"

namespace sluice::registry {
namespace {

Metrics parse_ok(std::string_view text, const std::string& file = "metrics.json") {
    auto metrics = parse_metrics(text, file);
    EXPECT_TRUE(metrics.has_value()) << text << ": " << metrics.error().to_string();
    return metrics ? *metrics : Metrics{};
}

// The error as the user sees it: "FILE:LINE: message".
std::string parse_error(std::string_view text, const std::string& file = "metrics.json") {
    auto metrics = parse_metrics(text, file);
    EXPECT_FALSE(metrics.has_value()) << text;
    if (metrics) return "";
    EXPECT_EQ(metrics.error().code, util::ErrorCode::bad_input) << text;
    EXPECT_EQ(metrics.error().where.file, file) << text;
    return metrics.error().to_string();
}

// --- JSON -------------------------------------------------------------------------------

TEST(MetricsFileJson, FlatObjectOfNumbers) {
    EXPECT_EQ(
        parse_ok(R"({"f1": 0.84, "loss": 1, "steps": 18446744073709551615, "d": -2e-3})"),
        (Metrics{{"f1", 0.84}, {"loss", 1}, {"steps", 18446744073709551615.0}, {"d", -2e-3}}));
}

TEST(MetricsFileJson, NestedObjectsFlattenWithDots) {
    EXPECT_EQ(
        parse_ok(R"({"eval": {"f1": 0.8, "deep": {"x": 1}}, "f1": 0.5, "train": {"f1": 0.9}})"),
        (Metrics{{"eval.f1", 0.8}, {"eval.deep.x", 1}, {"f1", 0.5}, {"train.f1", 0.9}}));
    // An empty nested object contributes nothing but is no error.
    EXPECT_EQ(parse_ok(R"({"eval": {}, "f1": 1})"), (Metrics{{"f1", 1}}));
}

TEST(MetricsFileJson, NumbersWrittenAsStringsAreAccepted) {
    EXPECT_EQ(parse_ok(R"({"f1": "0.84", "g": " 1e-3 "})"), (Metrics{{"f1", 0.84}, {"g", 1e-3}}));
}

TEST(MetricsFileJson, LeadingSpaceAndByteOrderMark) {
    EXPECT_EQ(parse_ok("\n\n  {\"f1\": 1}\n"), (Metrics{{"f1", 1}}));
    EXPECT_EQ(parse_ok("\xEF\xBB\xBF{\"f1\": 1}"), (Metrics{{"f1", 1}}));
}

TEST(MetricsFileJson, NonNumbersAreErrorsNamingTheKey) {
    EXPECT_EQ(parse_error(R"({"f1": 1, "ok": true})"),
              "metrics.json: `ok` is a boolean (true), not a number");
    EXPECT_EQ(parse_error(R"({"eval": {"ok": false}})"),
              "metrics.json: `eval.ok` is a boolean (false), not a number");
    EXPECT_EQ(parse_error(R"({"f1": null})"), "metrics.json: `f1` is null, not a number");
    EXPECT_EQ(parse_error(R"({"model": "resnet"})"),
              "metrics.json: `model` is the string \"resnet\", not a number");
    EXPECT_EQ(parse_error(R"({"f1": ""})"), "metrics.json: `f1` is the string \"\", not a number");
    EXPECT_EQ(parse_error(R"({"scores": [0.1, 0.2]})"),
              "metrics.json: `scores` is an array; metrics must be single numbers");
    EXPECT_EQ(parse_error(R"({"eval": {"scores": []}})"),
              "metrics.json: `eval.scores` is an array; metrics must be single numbers");
    EXPECT_EQ(parse_error(R"({"": 1})"), "metrics.json: an empty key is not a metric name");
    EXPECT_EQ(parse_error(R"({"eval": {"": 1}})"),
              "metrics.json: an empty key inside `eval` is not a metric name");
}

TEST(MetricsFileJson, NanAndInfinityAreRefused) {
    // Python's json.dump writes these for float("nan") / float("inf").
    EXPECT_EQ(parse_error(R"({"f1": NaN})"),
              "metrics.json:1:8: NaN is not valid JSON, and metrics must be finite numbers");
    EXPECT_EQ(parse_error("{\n  \"f1\": -Infinity\n}"),
              "metrics.json:2:10: Infinity is not valid JSON, and metrics must be finite numbers");
    EXPECT_EQ(parse_error(R"({"f1": "NaN"})"),
              "metrics.json: `f1` is the string \"NaN\", which is NaN; metrics must be finite "
              "numbers");
    EXPECT_EQ(parse_error(R"({"f1": "-inf"})"),
              "metrics.json: `f1` is the string \"-inf\", which is infinite; metrics must be "
              "finite numbers");
    EXPECT_EQ(parse_error(R"({"f1": 1e400})"), "metrics.json:1:12: a number is out of range");
}

TEST(MetricsFileJson, MalformedJsonHasThePosition) {
    EXPECT_EQ(parse_error("{\n  \"a\": 1,\n}"),
              "metrics.json:3:1: malformed JSON: syntax error while parsing object key - "
              "unexpected '}'; expected string literal");
    EXPECT_EQ(parse_error(R"({"a": 1)"),
              "metrics.json:1:8: malformed JSON: syntax error while parsing object - unexpected "
              "end of input; expected '}'");
    std::string trailing = parse_error(R"({"a": 1} {"b": 2})");
    EXPECT_TRUE(trailing.starts_with("metrics.json:1:10: malformed JSON: ")) << trailing;
    std::string comment = parse_error("{\"a\": 1 // why\n}");
    EXPECT_TRUE(comment.starts_with("metrics.json:1:")) << comment;
}

TEST(MetricsFileJson, KeysMustBeUnique) {
    EXPECT_EQ(parse_error(R"({"f1": 1, "f1": 2})"), "metrics.json: `f1` appears twice");
    EXPECT_EQ(parse_error(R"({"eval.f1": 1, "eval": {"f1": 2}})"),
              "metrics.json: `eval.f1` appears twice (nested keys are joined with dots)");
}

TEST(MetricsFileJson, EmptyObjectIsNoMetrics) {
    EXPECT_EQ(parse_error("{}"), "metrics.json: no metrics: the JSON object is empty");
    EXPECT_EQ(parse_error(R"({"eval": {"test": {}}})"),
              "metrics.json: no metrics: the JSON object is empty");
}

TEST(MetricsFileJson, DeepNestingIsLinear) {
    const int depth = 20000;
    std::string text;
    for (int i = 0; i < depth; ++i) text += "{\"a\":";
    text += "1";
    for (int i = 0; i < depth; ++i) text += "}";
    Metrics metrics = parse_ok(text);
    ASSERT_EQ(metrics.size(), 1u);
    EXPECT_EQ(metrics.begin()->first.size(), static_cast<std::size_t>(2 * depth - 1));
}

// --- key=value lines --------------------------------------------------------------------

TEST(MetricsFileLines, KeyValueLines) {
    EXPECT_EQ(parse_ok("# written by eval.py\n"
                       "f1=0.84\n"
                       "  loss = 0.5  \n"
                       "\n"
                       "eval.acc=1e-3\r\n"
                       "   # indented comment\n"
                       "n = -3",
                       "metrics.txt"),
              (Metrics{{"f1", 0.84}, {"loss", 0.5}, {"eval.acc", 1e-3}, {"n", -3}}));
}

TEST(MetricsFileLines, BadLinesHaveTheirLineNumber) {
    EXPECT_EQ(parse_error("f1=0.8\n\nloss\n", "metrics.txt"),
              "metrics.txt:3: expected `key=value`, found `loss`");
    EXPECT_EQ(parse_error("f1: 0.8", "metrics.txt"),
              "metrics.txt:1: expected `key=value`, found `f1: 0.8`");
    EXPECT_EQ(parse_error(" = 1", "metrics.txt"),
              "metrics.txt:1: expected a key before `=` in `= 1`");
    EXPECT_EQ(parse_error("f1 =", "metrics.txt"), "metrics.txt:1: `f1` has no value");
    EXPECT_EQ(parse_error("f1=abc", "metrics.txt"),
              "metrics.txt:1: the value of `f1` is not a number: `abc`");
    EXPECT_EQ(parse_error("f1=0.8x", "metrics.txt"),
              "metrics.txt:1: the value of `f1` is not a number: `0.8x`");
    EXPECT_EQ(parse_error("f1=0.8 # best", "metrics.txt"),
              "metrics.txt:1: the value of `f1` is not a number: `0.8 # best`");
    EXPECT_EQ(parse_error("a=b=1", "metrics.txt"),
              "metrics.txt:1: the value of `a` is not a number: `b=1`");
    EXPECT_EQ(parse_error("f1=true", "metrics.txt"),
              "metrics.txt:1: the value of `f1` is not a number: `true`");
    EXPECT_EQ(parse_error("f1=0x10", "metrics.txt"),
              "metrics.txt:1: the value of `f1` is not a number: `0x10`");
}

TEST(MetricsFileLines, NanAndInfinityAreRefused) {
    EXPECT_EQ(parse_error("f1=1\nf2=nan", "m.txt"),
              "m.txt:2: the value of `f2` is NaN: `nan`; metrics must be finite numbers");
    EXPECT_EQ(
        parse_error("f1=-Infinity", "m.txt"),
        "m.txt:1: the value of `f1` is infinite: `-Infinity`; metrics must be finite numbers");
    EXPECT_EQ(parse_error("f1=1e999", "m.txt"),
              "m.txt:1: the value of `f1` is out of range: `1e999`");
}

TEST(MetricsFileLines, KeysMustBeUnique) {
    EXPECT_EQ(parse_error("f1=1\n# again\nf1=2", "metrics.txt"),
              "metrics.txt:3: `f1` is already set on line 1");
}

TEST(MetricsFileLines, EmptyOrOnlyCommentsIsNoMetrics) {
    EXPECT_EQ(parse_error("", "m.txt"), "m.txt: no metrics: the file is empty");
    EXPECT_EQ(parse_error(" \n\t\n", "m.txt"), "m.txt: no metrics: the file is empty");
    EXPECT_EQ(parse_error("# nothing yet\n\n", "m.txt"),
              "m.txt: no metrics: the file has only comments and blank lines");
}

TEST(MetricsFileLines, BinaryFilesAreRefused) {
    EXPECT_EQ(parse_error(std::string("PK\x03\x04\0\0", 6), "model.zip"),
              "model.zip: not a text file (it contains NUL bytes); a metrics file is a JSON "
              "object or `key=value` lines");
    // Control characters are not echoed to the terminal.
    EXPECT_EQ(parse_error("\x1b[31mred", "m.txt"),
              "m.txt:1: expected `key=value`, found `?[31mred`");
}

// --- files ------------------------------------------------------------------------------

TEST(MetricsFileRead, ReadsEitherFormat) {
    testing::TempDir dir;
    EXPECT_EQ(read_metrics_file(dir.write("metrics.json", R"({"eval": {"f1": 0.8}})")),
              (Metrics{{"eval.f1", 0.8}}));
    EXPECT_EQ(read_metrics_file(dir.write("metrics.txt", "f1=0.8\n")), (Metrics{{"f1", 0.8}}));
}

TEST(MetricsFileRead, ErrorsNameThePath) {
    testing::TempDir dir;
    const auto path = dir.write("out/metrics.json", "{\n\"f1\": true\n}");
    auto metrics = read_metrics_file(path);
    ASSERT_FALSE(metrics);
    EXPECT_EQ(metrics.error().code, util::ErrorCode::bad_input);
    EXPECT_EQ(metrics.error().to_string(),
              path.string() + ": `f1` is a boolean (true), not a number");
}

TEST(MetricsFileRead, MissingFileIsAnIoError) {
    testing::TempDir dir;
    auto metrics = read_metrics_file(dir / "nope.json");
    ASSERT_FALSE(metrics);
    EXPECT_EQ(metrics.error().code, util::ErrorCode::io);
    EXPECT_EQ(metrics.error().to_string(),
              (dir / "nope.json").string() + ": cannot read the metrics file: no such file");
}

TEST(MetricsFileRead, DirectoryIsAnIoError) {
    testing::TempDir dir;
    auto metrics = read_metrics_file(dir.path());
    ASSERT_FALSE(metrics);
    EXPECT_EQ(metrics.error().code, util::ErrorCode::io);
    EXPECT_EQ(metrics.error().message, "cannot read the metrics file: it is a directory");
    EXPECT_EQ(metrics.error().where.file, dir.path().string());
}

TEST(MetricsFileRead, UnreadableFileIsAnIoError) {
    if (::geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
    testing::TempDir dir;
    const auto path = dir.write("metrics.json", R"({"f1": 1})");
    std::filesystem::permissions(path, std::filesystem::perms::none);
    auto metrics = read_metrics_file(path);
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    ASSERT_FALSE(metrics);
    EXPECT_EQ(metrics.error().code, util::ErrorCode::io);
    EXPECT_EQ(metrics.error().message, "cannot read the metrics file: Permission denied");
}

TEST(MetricsFileRead, HugeFileIsRefused) {
    testing::TempDir dir;
    const auto path = dir / "model.bin";
    std::filesystem::resize_file(dir.write("model.bin", ""), k_max_metrics_file_bytes + 1);
    auto metrics = read_metrics_file(path);
    ASSERT_FALSE(metrics);
    EXPECT_EQ(metrics.error().code, util::ErrorCode::bad_input);
    EXPECT_NE(metrics.error().message.find("too large"), std::string::npos);
}

// --- garbage ----------------------------------------------------------------------------

void check_consistent(std::string_view text) {
    auto metrics = parse_metrics(text, "fuzz.json");
    if (!metrics) {
        EXPECT_EQ(metrics.error().code, util::ErrorCode::bad_input);
        EXPECT_FALSE(metrics.error().message.empty());
        EXPECT_EQ(metrics.error().where.file, "fuzz.json");
        return;
    }
    EXPECT_FALSE(metrics->empty());
    for (const auto& [key, value] : *metrics) {
        EXPECT_FALSE(key.empty());
        EXPECT_TRUE(std::isfinite(value)) << key;
    }
}

TEST(MetricsFileFuzz, GarbageNeverCrashes) {
    std::mt19937 random(1234);
    const std::string alphabet = "{}[]\":,=#.-+e0123456789 \n\tabfnrtuxNaINF\\";
    const std::string seeds[] = {
        R"({"eval": {"f1": 0.8, "loss": "0.2"}, "n": 3})",
        "f1=0.8\n# c\nloss = 1e-3\n",
    };
    for (int i = 0; i < 4000; ++i) {
        std::string text;
        if (i % 2 == 0) {
            const std::size_t length = std::uniform_int_distribution<std::size_t>(0, 60)(random);
            std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
            for (std::size_t k = 0; k < length; ++k) text += alphabet[pick(random)];
            if (i % 4 == 0) text.insert(0, "{");
        } else {
            text = seeds[(i / 2) % 2];
            for (int k = std::uniform_int_distribution<int>(1, 4)(random); k > 0; --k) {
                std::size_t at =
                    std::uniform_int_distribution<std::size_t>(0, text.size() - 1)(random);
                text[at] = static_cast<char>(std::uniform_int_distribution<int>(1, 255)(random));
            }
        }
        SCOPED_TRACE(text);
        check_consistent(text);
    }
}

}  // namespace
}  // namespace sluice::registry
