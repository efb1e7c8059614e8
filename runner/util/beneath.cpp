// openat2(RESOLVE_BENEATH) and the component walk behind it (see beneath.hpp).
#include "runner/util/beneath.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace sluice::util {
namespace {

constexpr int k_max_links = 40;  // as the kernel's MAXSYMLINKS

// A link the walk followed: its path from the root and its target as written.
struct Link {
    std::string path;
    std::string target;
};

// What walking a path found: an open descriptor, the link that leads out of the root
// (`climbed` when a `..` of the path itself does), or an errno.
struct Walked {
    UniqueFd fd;
    std::optional<Link> escape;
    bool climbed = false;
    int error = 0;
};

// glibc 2.36 has no wrapper. ENOSYS (an old kernel) or EPERM (a seccomp filter that
// does not know the call) means: walk instead.
int openat2_beneath(int root_fd, const char* relative, int flags, mode_t mode) {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    while (true) {
        long fd = ::syscall(SYS_openat2, root_fd, relative, &how, sizeof how);
        if (fd >= 0 || errno != EINTR) return static_cast<int>(fd);
    }
}

void push_components(std::deque<std::string>& todo, std::string_view path) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t slash = path.find('/', start);
        if (slash == std::string_view::npos) slash = path.size();
        parts.emplace_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_front(std::move(*it));
}

std::optional<std::string> read_link_at(int dir_fd, const std::string& name) {
    std::string target(256, '\0');
    while (true) {
        ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
        if (n < 0) return std::nullopt;
        if (static_cast<std::size_t>(n) < target.size()) {
            target.resize(static_cast<std::size_t>(n));
            return target;
        }
        target.resize(target.size() * 2);
    }
}

// Resolves `relative` one component at a time: each directory opened with O_NOFOLLOW
// inside the one before (so a component swapped for a link meanwhile fails), each link
// read and followed by hand, `..` going back up the directories opened, never above
// the root.
Walked walk_beneath(int root_fd, std::string_view relative, int flags, mode_t mode) {
    Walked out;
    std::vector<UniqueFd> dirs;  // the directories below the root the walk is in
    std::vector<std::string> names;
    auto current = [&] { return dirs.empty() ? root_fd : dirs.back().get(); };
    auto path_of = [&](const std::string& name) {
        std::string path;
        for (const auto& n : names) path += n + "/";
        return path + name;
    };
    std::optional<Link> last_link;
    int links = 0;
    std::deque<std::string> todo;
    push_components(todo, relative);
    while (!todo.empty()) {
        std::string name = std::move(todo.front());
        todo.pop_front();
        bool last = todo.empty();
        if (name == "..") {
            if (dirs.empty()) {
                out.escape = last_link;
                out.climbed = !last_link;
                return out;
            }
            dirs.pop_back();
            names.pop_back();
            name = ".";
        }
        if (name.empty() || name == ".") {
            if (!last) continue;
            out.fd.reset(::openat(current(), ".", flags | O_CLOEXEC, mode));
            if (!out.fd) out.error = errno;
            return out;
        }
        struct stat st {};
        if (::fstatat(current(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (!(errno == ENOENT && last && (flags & O_CREAT) != 0)) {
                out.error = errno;
                return out;
            }
        } else if (S_ISLNK(st.st_mode) && (!last || (flags & O_NOFOLLOW) == 0)) {
            if (++links > k_max_links) {
                out.error = ELOOP;
                return out;
            }
            auto target = read_link_at(current(), name);
            if (!target) {
                out.error = errno;
                return out;
            }
            Link link{path_of(name), *target};
            if (target->empty()) {
                out.error = ENOENT;
                return out;
            }
            if (target->front() == '/') {
                out.escape = std::move(link);
                return out;
            }
            last_link = std::move(link);
            push_components(todo, *target);
            continue;
        }
        if (!last) {
            UniqueFd dir(::openat(current(), name.c_str(),
                                  O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!dir) {
                out.error = errno;
                return out;
            }
            dirs.push_back(std::move(dir));
            names.push_back(std::move(name));
            continue;
        }
        out.fd.reset(::openat(current(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode));
        if (!out.fd) out.error = errno;
        return out;
    }
    out.fd.reset(::openat(current(), ".", flags | O_CLOEXEC, mode));  // an empty path
    if (!out.fd) out.error = errno;
    return out;
}

std::unexpected<Error> escaped(std::string_view shown, std::string_view root_name,
                               const Walked& walked) {
    std::string message = std::string(shown) + " resolves outside " + std::string(root_name);
    if (walked.escape) {
        message += " (through " + walked.escape->path + " -> " + walked.escape->target + ")";
    } else if (walked.climbed) {
        message += " (`..`)";
    }
    return fail(ErrorCode::bad_input, std::move(message));
}

std::unexpected<Error> open_error(std::string_view relative, std::string_view root_name,
                                  int error) {
    return fail(error == ENOENT ? ErrorCode::not_found : ErrorCode::io,
                "cannot open " + std::string(relative) + " in " + std::string(root_name) + ": " +
                    std::strerror(error));
}

Result<UniqueFd> open_beneath_as(int root_fd, std::string_view relative, int flags,
                                 std::string_view root_name, mode_t mode, std::string_view shown,
                                 bool try_openat2 = true) {
    if (!relative.empty() && relative.front() == '/') {
        return fail(ErrorCode::bad_input,
                    std::string(shown) + " is absolute: it must be relative to " +
                        std::string(root_name));
    }
    std::string path = relative.empty() ? std::string(".") : std::string(relative);
    int fd = try_openat2 ? openat2_beneath(root_fd, path.c_str(), flags, mode) : -1;
    if (fd >= 0) return UniqueFd(fd);
    int error = try_openat2 ? errno : ENOSYS;
    if (error != ENOSYS && error != EPERM && error != EXDEV && error != ELOOP) {
        return open_error(relative, root_name, error);
    }
    // No openat2 here, or it refused a link: the walk resolves it (and names the link).
    Walked walked = walk_beneath(root_fd, path, flags, mode);
    if (walked.escape || walked.climbed) return escaped(shown, root_name, walked);
    if (error == EXDEV) {
        // The walk found its way where openat2 did not: the tree changed meanwhile.
        return fail(ErrorCode::bad_input,
                    std::string(shown) + " resolves outside " + std::string(root_name));
    }
    if (walked.fd) return std::move(walked.fd);
    return open_error(relative, root_name, walked.error);
}

}  // namespace

Result<UniqueFd> open_root(const std::filesystem::path& dir) {
    UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        return fail(errno == ENOENT ? ErrorCode::not_found : ErrorCode::io,
                    "cannot open directory " + dir.string() + ": " + std::strerror(errno));
    }
    return fd;
}

Result<UniqueFd> open_beneath(int root_fd, std::string_view relative, int flags,
                              std::string_view root_name, mode_t mode) {
    return open_beneath_as(root_fd, relative, flags, root_name, mode, relative);
}

Result<UniqueFd> open_beneath_by_walking(int root_fd, std::string_view relative, int flags,
                                         std::string_view root_name, mode_t mode) {
    return open_beneath_as(root_fd, relative, flags, root_name, mode, relative, false);
}

Result<UniqueFd> make_directories_beneath(int root_fd, std::string_view relative,
                                          std::string_view root_name) {
    constexpr int k_dir_flags = O_PATH | O_DIRECTORY;
    auto opened = open_beneath(root_fd, relative, k_dir_flags, root_name);
    if (opened || opened.error().code != ErrorCode::not_found) return opened;
    std::size_t slash = relative.rfind('/');
    std::string_view name = slash == std::string_view::npos ? relative : relative.substr(slash + 1);
    if (name.empty() || name == "." || name == "..") return opened;
    UniqueFd parent;
    if (slash != std::string_view::npos) {
        auto made = make_directories_beneath(root_fd, relative.substr(0, slash), root_name);
        if (!made) return made;
        parent = std::move(*made);
    }
    std::string leaf(name);
    if (::mkdirat(parent ? parent.get() : root_fd, leaf.c_str(), 0777) != 0 && errno != EEXIST) {
        return fail(ErrorCode::io, "cannot create directory " + std::string(relative) + " in " +
                                       std::string(root_name) + ": " + std::strerror(errno));
    }
    return open_beneath(root_fd, relative, k_dir_flags, root_name);
}

Status check_beneath(int root_fd, std::string_view relative, std::string_view root_name,
                     std::string_view shown) {
    auto opened = open_beneath_as(root_fd, relative, O_PATH, root_name, 0,
                                  shown.empty() ? relative : shown);
    if (!opened && opened.error().code == ErrorCode::bad_input) {
        return std::unexpected(opened.error());
    }
    return {};
}

}  // namespace sluice::util
