// Quoting for sh (see shell_quote.hpp).
#include "runner/util/shell_quote.hpp"

namespace sluice::util {

std::string shell_quote(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    return out + "'";
}

}  // namespace sluice::util
