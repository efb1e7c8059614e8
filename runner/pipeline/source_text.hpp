// The text of a pipeline file and the mapping from byte offsets (what yaml-cpp's marks
// hold) to the 1-based line and column a person sees in an editor.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runner/pipeline/model.hpp"

namespace sluice::pipeline {

class SourceText {
  public:
    explicit SourceText(std::string text);

    const std::string& text() const { return text_; }

    // 1-based line and column of a byte offset. Columns count characters (UTF-8 code
    // points), not bytes, so `é: x` puts `x` in column 4 as editors do. Offsets past the
    // end clamp to the end.
    Pos position_of(std::size_t offset) const;

    // The offset of the first byte that is not valid UTF-8, if any.
    std::optional<std::size_t> first_invalid_utf8() const;

  private:
    std::string text_;
    std::vector<std::size_t> line_starts_;
};

}  // namespace sluice::pipeline
