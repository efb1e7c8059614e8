// Matching `inputs:` / `outputs:` patterns against the workspace (see stage_files.hpp).
#include "runner/engine/stage_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>

#include "runner/rules/glob.hpp"
#include "runner/util/beneath.hpp"

namespace sluice::engine {
namespace {

bool has_glob_chars(std::string_view segment) {
    return segment.find_first_of("*?[\\") != std::string_view::npos;
}

// "./a/b/" -> "a/b"; errors for what leaves the workspace.
util::Result<std::string> normalize(std::string_view pattern) {
    std::string p(pattern);
    while (p.starts_with("./")) p.erase(0, 2);
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    if (p.empty() || p == ".") {
        return util::fail(util::ErrorCode::bad_input, "an empty path pattern");
    }
    if (p.front() == '/') {
        return util::fail(util::ErrorCode::bad_input,
                          "`" + std::string(pattern) + "` is absolute: patterns are relative to the workspace");
    }
    std::string_view rest = p;
    while (!rest.empty()) {
        auto slash = rest.find('/');
        std::string_view segment = rest.substr(0, slash);
        if (segment == "..") {
            return util::fail(util::ErrorCode::bad_input,
                              "`" + std::string(pattern) + "` leaves the workspace (`..`)");
        }
        rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    }
    return p;
}

// The leading directories of a pattern that hold no glob characters ("" for none).
std::string literal_prefix(std::string_view pattern) {
    std::string prefix;
    std::string_view rest = pattern;
    while (true) {
        auto slash = rest.find('/');
        if (slash == std::string_view::npos) return prefix;  // the last segment is the name
        std::string_view segment = rest.substr(0, slash);
        if (has_glob_chars(segment)) return prefix;
        prefix += (prefix.empty() ? "" : "/") + std::string(segment);
        rest = rest.substr(slash + 1);
    }
}

class Walker {
public:
    Walker(const std::filesystem::path& root, const std::filesystem::path& skip,
           std::vector<SeenPath>* seen)
        : root_(root),
          skip_(skip.empty() ? std::filesystem::path() : skip.lexically_normal()),
          seen_(seen) {}

    // Calls visit(relative path, stat) for everything under `relative` ("" = the root),
    // directories before what is in them; visit returns false to not descend. A
    // directory descended into that holds nothing is passed to empty(path, stat).
    template <class Visit, class Empty>
    util::Status walk(const std::string& relative, Visit&& visit, Empty&& empty,
                      const struct stat* self = nullptr) {
        std::filesystem::path dir = relative.empty() ? root_ : root_ / relative;
        DIR* d = ::opendir(dir.c_str());
        if (d == nullptr) {
            if (errno == ENOENT || errno == ENOTDIR) {
                if (seen_ != nullptr) seen_->push_back({relative, true, false, {}});
                return {};
            }
            return util::fail(util::ErrorCode::io,
                              "cannot list " + dir.string() + ": " + std::strerror(errno));
        }
        if (seen_ != nullptr) {
            SeenPath listed{relative, true, true, {}};
            if (::fstat(::dirfd(d), &listed.st) != 0) {
                listed.st.st_mtim.tv_sec = std::numeric_limits<time_t>::max();  // never trusted
            }
            seen_->push_back(std::move(listed));
        }
        std::vector<std::pair<std::string, struct stat>> entries;
        while (dirent* e = ::readdir(d)) {
            std::string_view name = e->d_name;
            if (name == "." || name == "..") continue;
            if (relative.empty() && name == ".git") continue;
            struct stat st {};
            if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
            entries.emplace_back(std::string(name), st);
        }
        ::closedir(d);
        if (entries.empty() && self != nullptr) empty(relative, *self);
        std::sort(entries.begin(), entries.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        for (auto& [name, st] : entries) {
            std::string path = relative.empty() ? name : relative + "/" + name;
            if (S_ISDIR(st.st_mode) && !skip_.empty() && (root_ / path) == skip_) continue;
            bool descend = visit(path, st);
            if (descend && S_ISDIR(st.st_mode)) {
                if (auto done = walk(path, visit, empty, &st); !done) return done;
            }
        }
        return {};
    }

private:
    std::filesystem::path root_;
    std::filesystem::path skip_;
    std::vector<SeenPath>* seen_;
};

std::optional<MatchedPath::Type> type_of(const struct stat& st) {
    if (S_ISREG(st.st_mode)) return MatchedPath::Type::file;
    if (S_ISLNK(st.st_mode)) return MatchedPath::Type::symlink;
    if (S_ISDIR(st.st_mode)) return MatchedPath::Type::dir;
    return std::nullopt;  // sockets, fifos, devices: never inputs or outputs
}

}  // namespace

util::Result<MatchedPaths> match_stage_files(const std::filesystem::path& root,
                                             std::span<const std::string> patterns,
                                             const std::filesystem::path& skip,
                                             std::vector<SeenPath>* seen) {
    std::vector<rules::Glob> excludes;
    struct Include {
        std::string written;
        std::string pattern;
        rules::Glob glob;
    };
    std::vector<Include> includes;
    for (const auto& written : patterns) {
        bool exclude = !written.empty() && written.front() == '!';
        auto p = normalize(exclude ? std::string_view(written).substr(1) : std::string_view(written));
        if (!p) return std::unexpected(p.error());
        if (exclude) {
            excludes.emplace_back(*p);
        } else {
            includes.push_back({written, *p, rules::Glob(*p)});
        }
    }
    auto excluded = [&](const std::string& path) {
        return std::ranges::any_of(excludes, [&](const rules::Glob& g) { return g.matches(path); });
    };

    Walker walker(root, skip, seen);
    std::vector<MatchedPath> found;
    // Everything in a matched directory belongs to the match; an empty one is listed.
    auto add_tree = [&](const std::string& path, const struct stat& st) -> util::Status {
        auto type = type_of(st);
        if (!type || excluded(path)) return {};
        if (*type != MatchedPath::Type::dir) {
            found.push_back({path, *type, st});
            return {};
        }
        auto walked = walker.walk(
            path,
            [&](const std::string& inner, const struct stat& s) {
                auto t = type_of(s);
                if (!t || excluded(inner)) return false;
                if (*t != MatchedPath::Type::dir) found.push_back({inner, *t, s});
                return true;
            },
            [&](const std::string& inner, const struct stat& s) {
                found.push_back({inner, MatchedPath::Type::dir, s});
            },
            &st);  // a directory with nothing in it is listed itself
        return walked;
    };

    // The directories a pattern starts from must not lead out of the workspace through
    // a link (what the walk meets below them is listed, never followed).
    auto root_fd = util::open_root(root);
    auto check_start = [&](const Include& inc, std::string_view dir) -> util::Status {
        if (!root_fd || dir.empty()) return {};
        return util::check_beneath(root_fd->get(), dir, "the workspace", inc.written);
    };
    MatchedPaths out;
    for (const auto& inc : includes) {
        std::size_t before = found.size();
        // A literal path's last component is looked at itself (a link is an output), so
        // only its parent is resolved; a glob lists from its literal prefix.
        std::string start;
        if (has_glob_chars(inc.pattern)) {
            start = literal_prefix(inc.pattern);
        } else if (auto slash = inc.pattern.rfind('/'); slash != std::string::npos) {
            start = inc.pattern.substr(0, slash);
        }
        if (auto checked = check_start(inc, start); !checked) return std::unexpected(checked.error());
        if (!has_glob_chars(inc.pattern)) {
            struct stat st {};
            std::filesystem::path full = root / inc.pattern;
            if (::lstat(full.c_str(), &st) == 0) {
                if (seen != nullptr) seen->push_back({inc.pattern, false, true, st});
                if (auto added = add_tree(inc.pattern, st); !added) return std::unexpected(added.error());
            } else if (errno != ENOENT && errno != ENOTDIR) {
                return util::fail(util::ErrorCode::io,
                                  "cannot read " + full.string() + ": " + std::strerror(errno));
            } else if (seen != nullptr) {
                seen->push_back({inc.pattern, false, false, {}});
            }
        } else {
            std::string prefix = literal_prefix(inc.pattern);
            // Without `**` a pattern matches nothing deeper than its own segments.
            bool any_depth = inc.pattern.find("**") != std::string::npos;
            auto segments = std::ranges::count(inc.pattern, '/') + 1;
            util::Status inner;
            auto walked = walker.walk(prefix, [&](const std::string& path, const struct stat& st) {
                if (!inner) return false;
                if (inc.glob.matches(path)) {
                    inner = add_tree(path, st);
                    return false;  // add_tree took the whole directory
                }
                return S_ISDIR(st.st_mode) != 0 &&
                       (any_depth || std::ranges::count(path, '/') + 1 < segments);
            }, [](const std::string&, const struct stat&) {});
            if (!walked) return std::unexpected(walked.error());
            if (!inner) return std::unexpected(inner.error());
        }
        if (found.size() == before) out.unmatched.push_back(inc.written);
    }
    std::sort(found.begin(), found.end(),
              [](const MatchedPath& a, const MatchedPath& b) { return a.path < b.path; });
    found.erase(std::unique(found.begin(), found.end(),
                            [](const MatchedPath& a, const MatchedPath& b) { return a.path == b.path; }),
                found.end());
    out.paths = std::move(found);
    return out;
}

}  // namespace sluice::engine
