// The YAML in the docs is valid: every ```yaml block of docs/yaml-reference.md and
// docs/user-guide.md that is a whole pipeline (top-level `name:` and `stages:`) passes
// `sluice validate`, and so do the reference's stage snippets (a block whose top-level
// keys are stages with a `kind:`), put together into one pipeline with its
// `environments:` snippet and the `train` stage with metrics they refer to.
#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "runner/testing/command.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice {
namespace {

using testing::run_command;
using testing::sluice_binary;
using testing::TempDir;

std::filesystem::path source_dir() {
    std::filesystem::path file(__FILE__);  // tests/docs_snippets_test.cpp
    if (file.is_relative()) file = testing::build_dir() / file;
    return file.parent_path().parent_path();
}

struct Block {
    int line = 0;  // of the opening fence
    std::string text;
};

std::vector<Block> yaml_blocks(const std::filesystem::path& markdown) {
    std::ifstream in(markdown);
    EXPECT_TRUE(in) << "cannot read " << markdown;
    std::vector<Block> out;
    std::optional<Block> open;
    int n = 0;
    for (std::string line; std::getline(in, line);) {
        ++n;
        if (!open && line.rfind("```yaml", 0) == 0) {
            open = Block{n, {}};
        } else if (open && line.rfind("```", 0) == 0) {
            out.push_back(std::move(*open));
            open.reset();
        } else if (open) {
            open->text += line + "\n";
        }
    }
    return out;
}

bool has_top_level_key(const std::string& text, const std::string& key) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(key + ":", 0) == 0) return true;
    }
    return false;
}

// A block of stages: every top-level entry is a map, and the second line of the first
// one is `  kind: ...`.
bool is_stage_snippet(const std::string& text) {
    std::istringstream in(text);
    std::string first, second;
    std::getline(in, first);
    std::getline(in, second);
    return !first.empty() && first[0] != ' ' && first.back() == ':' && second.rfind("  kind:", 0) == 0;
}

std::string indented(const std::string& text) {
    std::istringstream in(text);
    std::string out;
    for (std::string line; std::getline(in, line);) out += (line.empty() ? "" : "  ") + line + "\n";
    return out;
}

class DocsSnippets : public ::testing::Test {
protected:
    // `sluice validate` of this text; "" when it is valid, else what it said.
    std::string validate(const std::string& text) {
        dir_.write("sluice.yml", text);
        auto r = run_command({sluice_binary(), "--state", (dir_ / "state").string(), "validate"},
                             {dir_.path(), {}});
        return r.exit_code == 0 ? "" : "exit " + std::to_string(r.exit_code) + ": " + r.out + r.err;
    }
    TempDir dir_;
};

TEST_F(DocsSnippets, WholePipelinesValidate) {
    int checked = 0;
    for (const char* doc : {"docs/yaml-reference.md", "docs/user-guide.md"}) {
        for (const auto& block : yaml_blocks(source_dir() / doc)) {
            if (!has_top_level_key(block.text, "stages") || !has_top_level_key(block.text, "name")) {
                continue;
            }
            ++checked;
            EXPECT_EQ(validate(block.text), "") << doc << ":" << block.line << ":\n" << block.text;
        }
    }
    EXPECT_GE(checked, 2) << "the docs' pipelines were not found";
}

TEST_F(DocsSnippets, ReferenceStageSnippetsValidateTogether) {
    std::string environments;
    std::string stages;
    int snippets = 0;
    for (const auto& block : yaml_blocks(source_dir() / "docs/yaml-reference.md")) {
        if (has_top_level_key(block.text, "environments") && !has_top_level_key(block.text, "stages")) {
            environments = block.text;
        } else if (is_stage_snippet(block.text)) {
            stages += indented(block.text);
            ++snippets;
        }
    }
    ASSERT_GE(snippets, 3) << "the reference's stage snippets were not found";
    std::string pipeline = "name: churn\n" + environments +
                           "stages:\n  train:\n    run: echo train\n    metrics: metrics.json\n" +
                           stages;
    EXPECT_EQ(validate(pipeline), "") << pipeline;
}

}  // namespace
}  // namespace sluice
