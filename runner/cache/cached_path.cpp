// Names and validation of CachedPath (see cached_path.hpp).
#include "runner/cache/cached_path.hpp"

namespace sluice::cache {

using util::ErrorCode;
using util::fail;

std::string_view type_name(CachedPath::Type type) {
    switch (type) {
        case CachedPath::Type::file:
            return "file";
        case CachedPath::Type::symlink:
            return "symlink";
        case CachedPath::Type::dir:
            return "dir";
    }
    return "file";
}

util::Result<CachedPath::Type> parse_type(std::string_view name) {
    if (name == "file") return CachedPath::Type::file;
    if (name == "symlink") return CachedPath::Type::symlink;
    if (name == "dir") return CachedPath::Type::dir;
    return fail(ErrorCode::bad_input, "unknown cached path type `" + std::string(name) + "`");
}

bool is_digest(std::string_view text) {
    if (text.size() != 64) return false;
    for (char c : text) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

util::Status check_relative_path(std::string_view path) {
    auto bad = [&](std::string_view why) {
        return fail(ErrorCode::bad_input,
                    "cached path `" + std::string(path) + "` " + std::string(why));
    };
    if (path.empty()) return fail(ErrorCode::bad_input, "a cached path is empty");
    if (path.front() == '/') return bad("is absolute; it must be relative to the workspace");
    if (path.find('\0') != std::string_view::npos) return bad("contains a NUL byte");
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t slash = path.find('/', start);
        if (slash == std::string_view::npos) slash = path.size();
        std::string_view part = path.substr(start, slash - start);
        if (part.empty()) return bad("has an empty component (`//` or a trailing `/`)");
        if (part == "." || part == "..") return bad("has a `.` or `..` component");
        start = slash + 1;
    }
    return {};
}

util::Status check_cached_path(const CachedPath& path) {
    if (auto ok = check_relative_path(path.path); !ok) return ok;
    switch (path.type) {
        case CachedPath::Type::file:
            if (!is_digest(path.digest)) {
                return fail(ErrorCode::bad_input, "cached file `" + path.path + "` has digest `" +
                                                      path.digest +
                                                      "`, not 64 lowercase hex digits");
            }
            break;
        case CachedPath::Type::symlink:
            if (path.target.empty()) {
                return fail(ErrorCode::bad_input,
                            "cached symlink `" + path.path + "` has an empty target");
            }
            break;
        case CachedPath::Type::dir:
            break;
    }
    return {};
}

}  // namespace sluice::cache
