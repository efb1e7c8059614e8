// Line index and UTF-8 checks over a pipeline file's text.
#include "runner/pipeline/source_text.hpp"

#include <algorithm>

namespace sluice::pipeline {
namespace {

bool continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Length of the valid UTF-8 sequence at text[i], or 0 when it is not valid (overlong
// forms, surrogates and code points past U+10FFFF are rejected).
std::size_t utf8_length(std::string_view text, std::size_t i) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    unsigned char c = byte(i);
    std::size_t left = text.size() - i;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return left >= 2 && continuation(byte(i + 1)) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (left < 3 || !continuation(byte(i + 1)) || !continuation(byte(i + 2))) return 0;
        if (c == 0xE0 && byte(i + 1) < 0xA0) return 0;   // overlong
        if (c == 0xED && byte(i + 1) >= 0xA0) return 0;  // surrogate
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (left < 4 || !continuation(byte(i + 1)) || !continuation(byte(i + 2)) ||
            !continuation(byte(i + 3))) {
            return 0;
        }
        if (c == 0xF0 && byte(i + 1) < 0x90) return 0;   // overlong
        if (c == 0xF4 && byte(i + 1) >= 0x90) return 0;  // past U+10FFFF
        return 4;
    }
    return 0;
}

}  // namespace

SourceText::SourceText(std::string text) : text_(std::move(text)) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < text_.size(); ++i) {
        if (text_[i] == '\n') line_starts_.push_back(i + 1);
    }
}

Pos SourceText::position_of(std::size_t offset) const {
    offset = std::min(offset, text_.size());
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    std::size_t line = static_cast<std::size_t>(it - line_starts_.begin());  // 1-based
    std::size_t start = line_starts_[line - 1];
    int column = 1;
    for (std::size_t i = start; i < offset; ++i) {
        if (!continuation(static_cast<unsigned char>(text_[i]))) ++column;
    }
    return Pos{static_cast<int>(line), column};
}

std::optional<std::size_t> SourceText::first_invalid_utf8() const {
    for (std::size_t i = 0; i < text_.size();) {
        std::size_t len = utf8_length(text_, i);
        if (len == 0) return i;
        i += len;
    }
    return std::nullopt;
}

}  // namespace sluice::pipeline
