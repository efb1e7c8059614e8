// Quoting text for sh, for the scripts sluice writes (git hooks, a deploy's kubectl lines).
#pragma once

#include <string>
#include <string_view>

namespace sluice::util {

// `text` quoted for sh: 'it'\''s'.
std::string shell_quote(std::string_view text);

}  // namespace sluice::util
