// The loader's view of yaml-cpp: reads typed values out of nodes, turning every mistake
// into an error with the file, line and column of the offending key or value, and keeps
// going so that all of a file's mistakes are reported at once. Internal to the loader.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runner/pipeline/model.hpp"
#include "runner/pipeline/source_text.hpp"
#include "runner/util/error.hpp"

namespace sluice::pipeline {

// One key of a map, in file order.
struct Entry {
    std::string key;    // as written
    std::string label;  // for messages: the key with its parents, e.g. `approval.required`
    YAML::Node key_node;
    YAML::Node value;
};

// A `${{ name }}` found while reading, checked once all stages and variables are known.
struct PendingName {
    std::string name;
    util::Location where;
    int stage = -1;            // the stage it appears in; -1 for `variables` values
    std::size_t variable = 0;  // for `variables` values: the variable's index
};

// "a map", "a list", "nothing", or the scalar quoted (shortened): for "got ..." messages.
std::string describe(const YAML::Node& node);

class Reader {
  public:
    Reader(const SourceText& source, std::string file, util::Errors& errors);

    const std::string& file() const { return file_; }
    util::Location where(const YAML::Node& node) const;
    util::Location where_offset(std::size_t offset) const;
    // The value's position, or its key's when the value is empty (yaml-cpp marks an empty
    // value at the start of the next token, which is somewhere else entirely).
    util::Location where_value(const Entry& entry) const;
    Pos pos(const YAML::Node& node) const;
    // Where the column-th character (1-based) of a scalar's value is in the file: exact
    // for one-line plain and quoted scalars written without escapes, else the scalar's
    // start.
    util::Location where_inside(const YAML::Node& scalar, int column) const;
    Pos pos(const util::Location& where) const { return Pos{where.line, where.column}; }

    void error(const util::Location& where, std::string message);
    void error(const YAML::Node& at, std::string message) { error(where(at), std::move(message)); }
    void error_at_value(const Entry& entry, std::string message) {
        error(where_value(entry), std::move(message));
    }
    std::size_t error_count() const { return errors_.size(); }

    // A map's entries; non-string keys and repeated keys are reported and left out.
    // `parent` prefixes labels ("approval" gives `approval.required`); `noun` names the
    // keys in the duplicate message ("duplicate stage `train`").
    std::vector<Entry> entries(const YAML::Node& map, std::string_view parent = {},
                               std::string_view noun = "key");

    // "unknown key `x` in WHERE; did you mean `y`?" Returns the suggestion, if any.
    std::optional<std::string> unknown_key(const Entry& entry,
                                           std::span<const std::string_view> known,
                                           std::string_view where);

    // Typed values. Each reports its mistake and returns nullopt.
    std::optional<std::string> string(const Entry& entry, bool allow_empty = false);
    std::optional<bool> boolean(const Entry& entry);
    std::optional<int> integer(const Entry& entry, int min, int max);
    // `allow_zero` false: a timeout of 0 makes no sense.
    std::optional<Millis> duration(const Entry& entry, bool allow_zero);
    // A list of non-empty strings; a single string is a one-item list. `what` names the
    // items for messages ("stage names", "path globs").
    std::optional<std::vector<std::string>> strings(const Entry& entry, std::string_view what);
    // One of `allowed`, with a suggestion when it is not.
    std::optional<std::string> choice(const Entry& entry,
                                      std::span<const std::string_view> allowed);
    // A map of NAME: scalar where NAME is an environment variable name; values are
    // scanned for expressions (in `stage`, or in `variables` when stage is -1).
    std::optional<VarList> env_map(const Entry& entry, int stage);

    // Reports malformed `${{ }}` in a scalar now and records its names for later.
    void scan_expressions(const YAML::Node& scalar, int stage, std::size_t variable = 0);
    std::vector<PendingName>& pending() { return pending_; }

  private:
    const SourceText& source_;
    std::string file_;
    util::Errors& errors_;
    std::vector<PendingName> pending_;
};

// Environment variable names: a letter or `_`, then letters, digits and `_`.
bool is_env_name(std::string_view name);

// `text` in backticks, as every message quotes keys, names and values.
std::string quote(std::string_view text);

// Only spaces, tabs and line breaks (or nothing).
bool is_blank(std::string_view text);

}  // namespace sluice::pipeline
