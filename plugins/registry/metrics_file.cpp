// Reading metrics files: JSON objects (flattened with dots) or `key=value` lines, into
// Metrics, refusing anything that is not a finite number.
#include "plugins/registry/metrics_file.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <expected>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace sluice::registry {
namespace {

using util::ErrorCode;
using util::Location;

constexpr std::string_view k_space = " \t\r\n\f\v";
constexpr std::string_view k_bom = "\xEF\xBB\xBF";
constexpr std::size_t k_max_quote = 60;

std::string_view trim(std::string_view text) {
    const std::size_t begin = text.find_first_not_of(k_space);
    if (begin == std::string_view::npos) return {};
    return text.substr(begin, text.find_last_not_of(k_space) - begin + 1);
}

// A piece of the file for a message: control characters shown as `?`, long text cut.
std::string printable(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < k_max_quote; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        out += c < 0x20 || c == 0x7F ? '?' : text[i];
    }
    if (text.size() > k_max_quote) out += "...";
    return out;
}

std::unexpected<util::Error> bad(const std::string& file, int line, std::string message,
                                 int column = 0) {
    return util::fail(ErrorCode::bad_input, std::move(message), Location{file, line, column});
}

enum class NumberProblem { not_a_number, nan, infinite, out_of_range };

std::string_view to_string(NumberProblem problem) {
    switch (problem) {
        case NumberProblem::not_a_number:
            return "not a number";
        case NumberProblem::nan:
            return "NaN";
        case NumberProblem::infinite:
            return "infinite";
        case NumberProblem::out_of_range:
            return "out of range";
    }
    return "not a number";
}

// A finite number spelled out in full ("0.84", "-1e-3"), or why not.
std::expected<double, NumberProblem> parse_number(std::string_view text) {
    double value = 0;
    const char* first = text.data();
    const char* last = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(first, last, value);
    if (ec == std::errc::result_out_of_range) return std::unexpected(NumberProblem::out_of_range);
    if (ec != std::errc{} || ptr != last) return std::unexpected(NumberProblem::not_a_number);
    if (std::isnan(value)) return std::unexpected(NumberProblem::nan);
    if (std::isinf(value)) return std::unexpected(NumberProblem::infinite);
    return value;
}

// ---------------------------------------------------------------------------------------
// JSON, through nlohmann's SAX interface: it builds no document, reports every value as
// it comes (so the flattened name and the problem are known at once) and does not
// recurse, so deeply nested input cannot exhaust the stack.

class FlatteningHandler final : public nlohmann::json_sax<nlohmann::json> {
  public:
    FlatteningHandler(std::string_view text, const std::string& file) : text_(text), file_(file) {}

    bool null() override { return refuse("`" + name() + "` is null, not a number"); }
    bool boolean(bool value) override {
        return refuse("`" + name() + "` is a boolean (" + (value ? "true" : "false") +
                      "), not a number");
    }
    bool number_integer(number_integer_t value) override { return add(static_cast<double>(value)); }
    bool number_unsigned(number_unsigned_t value) override {
        return add(static_cast<double>(value));
    }
    bool number_float(number_float_t value, const string_t& /*raw*/) override {
        if (!std::isfinite(value)) return refuse("`" + name() + "` is not a finite number");
        return add(value);
    }
    // Some tools write numbers as strings ("0.84"); those are accepted, nothing else.
    bool string(string_t& value) override {
        auto number = parse_number(trim(value));
        if (number) return add(*number);
        std::string message = "`" + name() + "` is the string \"" + printable(value) + "\", ";
        if (number.error() == NumberProblem::not_a_number) return refuse(message + "not a number");
        return refuse(message + "which is " + std::string(to_string(number.error())) +
                      "; metrics must be finite numbers");
    }
    bool binary(binary_t& /*value*/) override {
        return refuse("`" + name() + "` is binary data, not a number");
    }
    bool start_object(std::size_t /*elements*/) override {
        if (!in_root_) {
            in_root_ = true;
            return true;
        }
        std::string nested = name();
        prefix_lengths_.push_back(prefix_.size());
        prefix_ = std::move(nested);
        return true;
    }
    bool key(string_t& key) override {
        if (key.empty()) {
            return refuse(prefix_lengths_.empty() ? "an empty key is not a metric name"
                                                  : "an empty key inside `" + printable(prefix_) +
                                                        "` is not a metric name");
        }
        key_ = key;
        return true;
    }
    bool end_object() override {
        if (!prefix_lengths_.empty()) {
            prefix_.resize(prefix_lengths_.back());
            prefix_lengths_.pop_back();
        }
        return true;
    }
    bool start_array(std::size_t /*elements*/) override {
        return refuse("`" + name() + "` is an array; metrics must be single numbers");
    }
    bool end_array() override { return true; }

    bool parse_error(std::size_t position, const std::string& /*last_token*/,
                     const nlohmann::json::exception& error) override {
        // position counts the characters read, so the offending one is at position - 1.
        const std::size_t at = std::min(position > 0 ? position - 1 : 0, text_.size());
        int line = 1;
        std::size_t line_start = 0;
        for (std::size_t i = 0; i < at; ++i) {
            if (text_[i] == '\n') {
                ++line;
                line_start = i + 1;
            }
        }
        const int column = static_cast<int>(at - line_start) + 1;
        std::string_view rest = text_.substr(at);
        std::string message;
        if (rest.starts_with("NaN") || rest.starts_with("Infinity")) {
            // What Python's json.dump writes for float("nan") and float("inf").
            message = std::string(rest.starts_with("NaN") ? "NaN" : "Infinity") +
                      " is not valid JSON, and metrics must be finite numbers";
        } else if (error.id == 406) {
            message = "a number is out of range";
        } else {
            message = "malformed JSON: " + without_prefix(error.what());
        }
        error_ =
            util::Error{ErrorCode::bad_input, std::move(message), Location{file_, line, column}};
        return false;
    }

    Metrics& metrics() { return metrics_; }
    const std::optional<util::Error>& error() const { return error_; }

  private:
    // The flattened name of the current key: "eval.f1".
    std::string name() const { return prefix_lengths_.empty() ? key_ : prefix_ + "." + key_; }

    bool add(double value) {
        std::string full = name();
        if (!metrics_.emplace(full, value).second) {
            return refuse(
                "`" + full + "` appears twice" +
                (full.find('.') != std::string::npos ? " (nested keys are joined with dots)" : ""));
        }
        return true;
    }

    bool refuse(std::string message) {
        error_ = util::Error{ErrorCode::bad_input, std::move(message), Location{file_}};
        return false;
    }

    // "[json.exception.parse_error.101] parse error at line 1, column 8: syntax error
    // ..." -> "syntax error ...": the position is in Error::where already.
    static std::string without_prefix(std::string_view what) {
        if (what.starts_with("[json.exception.")) {
            const std::size_t close = what.find("] ");
            if (close != std::string_view::npos) what.remove_prefix(close + 2);
        }
        if (what.starts_with("parse error")) {
            const std::size_t colon = what.find(": ");
            if (colon != std::string_view::npos) what.remove_prefix(colon + 2);
        }
        return std::string(what);
    }

    std::string_view text_;
    const std::string& file_;
    Metrics metrics_;
    // The flattened name of the innermost open nested object, and the length it had in
    // each enclosing one (a stack of lengths, not of strings: deep nesting stays linear).
    std::string prefix_;
    std::vector<std::size_t> prefix_lengths_;
    std::string key_;
    bool in_root_ = false;
    std::optional<util::Error> error_;
};

Result<Metrics> parse_json(std::string_view text, const std::string& file) {
    FlatteningHandler handler(text, file);
    bool ok = false;
    try {
        ok = nlohmann::json::sax_parse(text, &handler);
    } catch (const nlohmann::json::exception& e) {
        return bad(file, 0, std::string("malformed JSON: ") + e.what());
    }
    if (handler.error()) return std::unexpected(*handler.error());
    if (!ok) return bad(file, 0, "malformed JSON");
    if (handler.metrics().empty()) return bad(file, 0, "no metrics: the JSON object is empty");
    return std::move(handler.metrics());
}

// ---------------------------------------------------------------------------------------
// key=value lines

Result<Metrics> parse_lines(std::string_view text, const std::string& file) {
    Metrics metrics;
    std::map<std::string, int, std::less<>> line_of;
    int number = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t newline = text.find('\n', start);
        const std::size_t stop = newline == std::string_view::npos ? text.size() : newline;
        const std::string_view line = trim(text.substr(start, stop - start));
        start = stop + 1;
        ++number;
        if (line.empty() || line.front() == '#') continue;

        const std::size_t equals = line.find('=');
        if (equals == std::string_view::npos) {
            return bad(file, number, "expected `key=value`, found `" + printable(line) + "`");
        }
        const std::string key(trim(line.substr(0, equals)));
        const std::string_view value = trim(line.substr(equals + 1));
        if (key.empty()) {
            return bad(file, number, "expected a key before `=` in `" + printable(line) + "`");
        }
        if (value.empty()) return bad(file, number, "`" + key + "` has no value");
        auto parsed = parse_number(value);
        if (!parsed) {
            std::string message = "the value of `" + key + "` is " +
                                  std::string(to_string(parsed.error())) + ": `" +
                                  printable(value) + "`";
            if (parsed.error() == NumberProblem::nan || parsed.error() == NumberProblem::infinite) {
                message += "; metrics must be finite numbers";
            }
            return bad(file, number, std::move(message));
        }
        if (auto seen = line_of.find(key); seen != line_of.end()) {
            return bad(file, number,
                       "`" + key + "` is already set on line " + std::to_string(seen->second));
        }
        line_of.emplace(key, number);
        metrics.emplace(key, *parsed);
    }
    if (metrics.empty()) {
        return bad(file, 0, "no metrics: the file has only comments and blank lines");
    }
    return metrics;
}

struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
};

}  // namespace

Result<Metrics> parse_metrics(std::string_view text, const std::string& file_name) {
    if (text.find('\0') != std::string_view::npos) {
        return bad(file_name, 0,
                   "not a text file (it contains NUL bytes); a metrics file is a JSON object "
                   "or `key=value` lines");
    }
    std::string_view body = text.starts_with(k_bom) ? text.substr(k_bom.size()) : text;
    const std::string_view content = trim(body);
    if (content.empty()) return bad(file_name, 0, "no metrics: the file is empty");
    if (content.front() == '{') return parse_json(text, file_name);
    return parse_lines(body, file_name);
}

Result<Metrics> read_metrics_file(const std::filesystem::path& path) {
    const std::string name = path.string();
    auto io_error = [&](const std::string& why) {
        return util::fail(ErrorCode::io, "cannot read the metrics file: " + why, Location{name});
    };
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (status.type() == std::filesystem::file_type::not_found) {
        return io_error("no such file");
    }
    if (ec) return io_error(ec.message());
    if (std::filesystem::is_directory(status)) return io_error("it is a directory");
    if (!std::filesystem::is_regular_file(status)) return io_error("it is not a regular file");
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec) return io_error(ec.message());
    if (size > k_max_metrics_file_bytes) {
        return util::fail(ErrorCode::bad_input,
                          "the file is too large for a metrics file (" + std::to_string(size) +
                              " bytes; at most " + std::to_string(k_max_metrics_file_bytes) + ")",
                          Location{name});
    }

    std::unique_ptr<std::FILE, FileCloser> file(std::fopen(name.c_str(), "rb"));
    if (!file) return io_error(std::strerror(errno));
    std::string text;
    std::vector<char> buffer(64 * 1024);
    while (true) {
        const std::size_t got = std::fread(buffer.data(), 1, buffer.size(), file.get());
        text.append(buffer.data(), got);
        if (text.size() > k_max_metrics_file_bytes) {
            return util::fail(ErrorCode::bad_input, "the file is too large for a metrics file",
                              Location{name});
        }
        if (got < buffer.size()) break;
    }
    if (std::ferror(file.get())) return io_error(std::strerror(errno));
    return parse_metrics(text, name);
}

}  // namespace sluice::registry
