// Helpers for the loader's tests: load text and look at the errors it produced.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "runner/pipeline/loader.hpp"

namespace sluice::pipeline::test {

// The errors of loading `yaml` (empty when it loaded).
inline util::Errors errors_of(std::string_view yaml) {
    auto result = load_pipeline_string(yaml, "sluice.yml");
    return result ? util::Errors{} : result.error();
}

// Every error as "LINE:COL: message", one per line, for readable failure output.
inline std::string dump(const util::Errors& errors) {
    std::string out;
    for (const auto& e : errors) {
        out += std::to_string(e.where.line) + ":" + std::to_string(e.where.column) + ": " +
               e.message + "\n";
    }
    return out;
}

// Asserts `yaml` fails with exactly one error, at line:column with this message.
inline void expect_one_error(std::string_view yaml, int line, int column,
                             const std::string& message) {
    util::Errors errors = errors_of(yaml);
    ASSERT_EQ(errors.size(), 1u) << dump(errors);
    EXPECT_EQ(errors[0].message, message);
    EXPECT_EQ(errors[0].where.line, line) << dump(errors);
    EXPECT_EQ(errors[0].where.column, column) << dump(errors);
    EXPECT_EQ(errors[0].where.file, "sluice.yml");
    EXPECT_EQ(errors[0].code, util::ErrorCode::bad_input);
}

// Loads `yaml`, failing the test with the errors when it does not load.
inline Pipeline load_ok(std::string_view yaml) {
    auto result = load_pipeline_string(yaml, "sluice.yml");
    EXPECT_TRUE(result.has_value()) << (result ? "" : dump(result.error()));
    return result ? *result : Pipeline{};
}

}  // namespace sluice::pipeline::test
