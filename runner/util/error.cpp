// Formatting of errors and locations.
#include "runner/util/error.hpp"

namespace sluice::util {

std::string Location::to_string() const {
    std::string out = file;
    if (line > 0) {
        out += ":" + std::to_string(line);
        if (column > 0) out += ":" + std::to_string(column);
    }
    return out;
}

std::string Error::to_string() const {
    std::string loc = where.to_string();
    return loc.empty() ? message : loc + ": " + message;
}

}  // namespace sluice::util
