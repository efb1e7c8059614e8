// The scan of a workspace against its index: the index's paths become a tree of expected
// directories, each directory is listed once (openat from its parent's descriptor, so a
// symlink a stage put in place of a directory is never followed), and each tracked name
// found is lstat'ed relative to its directory, which costs no path walk from the top.
// Reading the index file follows git's Documentation/gitformat-index.txt.
#include "runner/git/work_tree_scan.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <unordered_map>

#include "runner/git/full_checkout.hpp"

namespace sluice::git {

namespace {

constexpr std::size_t k_header_size = 12;       // "DIRC", version, entry count
constexpr std::size_t k_checksum_size = 20;     // the trailing SHA-1
constexpr std::size_t k_entry_fixed_size = 62;  // stat data, object id, flags
constexpr std::uint16_t k_assume_valid = 0x8000;
constexpr std::uint16_t k_extended = 0x4000;
constexpr std::uint16_t k_stage_mask = 0x3000;
constexpr std::uint16_t k_name_mask = 0x0fff;
constexpr std::uint16_t k_skip_worktree = 0x4000;  // in the extended flags
constexpr std::uint16_t k_intent_to_add = 0x2000;
constexpr std::uint32_t k_mode_link = 0120000;
constexpr std::uint32_t k_mode_file = 0100644;
constexpr std::uint32_t k_mode_executable = 0100755;
constexpr std::uint32_t k_mode_submodule = 0160000;

std::uint32_t be32(const char* p) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) |
           std::uint32_t{u[3]};
}

std::uint16_t be16(const char* p) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return static_cast<std::uint16_t>((u[0] << 8) | u[1]);
}

std::string hex(std::string_view raw) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : raw) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 0xf]);
    }
    return out;
}

struct Child {
    const TrackedEntry* entry = nullptr;  // a tracked file, symlink or submodule
    int dir = -1;                         // or a tracked directory: its place in dirs
    bool seen = false;                    // found in the directory's listing
};

struct Dir {
    std::string path;  // "" at the top, else "a/b"
    std::unordered_map<std::string_view, Child> children;
};

std::string join(const std::string& dir, std::string_view name) {
    return dir.empty() ? std::string(name) : dir + "/" + std::string(name);
}

util::Status unusable(const std::string& why) {
    return util::fail(util::ErrorCode::conflict, "the index cannot be trusted: " + why);
}

util::Status malformed(const std::filesystem::path& path) {
    return util::fail(util::ErrorCode::io, "malformed index " + path.string());
}

// The entries of `bytes`, the whole index file.
util::Status parse_entries(const std::filesystem::path& file, IndexSnapshot& index) {
    const std::string& bytes = index.bytes;
    if (bytes.size() < k_header_size + k_checksum_size || bytes.compare(0, 4, "DIRC") != 0) {
        return malformed(file);
    }
    const std::uint32_t version = be32(bytes.data() + 4);
    if (version == 4) return unusable("index version 4");
    if (version != 2 && version != 3) return malformed(file);
    const std::uint32_t count = be32(bytes.data() + 8);
    const std::size_t end = bytes.size() - k_checksum_size;
    index.checksum = hex(std::string_view(bytes).substr(end));
    // No more entries than fit (a broken count must not reserve gigabytes).
    index.entries.reserve(std::min<std::size_t>(count, (end - k_header_size) / k_entry_fixed_size));
    std::size_t pos = k_header_size;
    for (std::uint32_t i = 0; i < count; ++i) {
        if (pos + k_entry_fixed_size > end) return malformed(file);
        const char* p = bytes.data() + pos;
        const std::uint16_t flags = be16(p + 60);
        std::size_t header = k_entry_fixed_size;
        if ((flags & k_extended) != 0) {
            if (version < 3 || pos + header + 2 > end) return malformed(file);
            if ((be16(p + header) & (k_skip_worktree | k_intent_to_add)) != 0) {
                return unusable("skip-worktree or intent-to-add entries");
            }
            header += 2;
        }
        if ((flags & k_assume_valid) != 0) return unusable("assume-valid entries");
        if ((flags & k_stage_mask) != 0) return unusable("unmerged entries");
        const std::size_t name_start = pos + header;
        std::size_t length = flags & k_name_mask;
        if (length == k_name_mask) {
            const void* nul = std::memchr(bytes.data() + name_start, '\0', end - name_start);
            if (nul == nullptr) return malformed(file);
            length = static_cast<const char*>(nul) - (bytes.data() + name_start);
        }
        if (name_start + length >= end || bytes[name_start + length] != '\0') {
            return malformed(file);
        }
        TrackedEntry e;
        e.path = std::string_view(bytes).substr(name_start, length);
        e.ctime_s = be32(p);
        e.ctime_ns = be32(p + 4);
        e.mtime_s = be32(p + 8);
        e.mtime_ns = be32(p + 12);
        e.ino = be32(p + 20);
        e.mode = be32(p + 24);
        e.uid = be32(p + 28);
        e.gid = be32(p + 32);
        e.size = be32(p + 36);
        if (e.path.empty()) return malformed(file);
        index.entries.push_back(e);
        pos += (header + length + 8) & ~std::size_t{7};  // NUL-padded to 8 bytes
    }
    if (pos > end) return malformed(file);
    return {};
}

// The index's paths as a tree of directories (std::deque: a Dir keeps its place while
// others are added).
util::Status build_tree(const IndexSnapshot& index, std::deque<Dir>& dirs) {
    dirs.emplace_back();
    std::vector<int> chain{0};              // the directories of the previous path
    std::vector<std::string_view> names{};  // and their names, below the top
    for (const TrackedEntry& e : index.entries) {
        std::string_view path = e.path;
        std::size_t start = 0;
        std::size_t depth = 0;
        int current = 0;
        for (std::size_t slash = path.find('/'); slash != std::string_view::npos;
             slash = path.find('/', start)) {
            std::string_view name = path.substr(start, slash - start);
            if (unsafe_component(name)) return unusable("the path " + std::string(path));
            ++depth;
            // Index order keeps a directory's paths together: mostly the same as before.
            if (depth < chain.size() && names[depth - 1] == name) {
                current = chain[depth];
            } else {
                chain.resize(depth);
                names.resize(depth - 1);
                auto [it, added] = dirs[current].children.try_emplace(name);
                if (added) {
                    it->second.dir = static_cast<int>(dirs.size());
                    dirs.push_back(Dir{std::string(path.substr(0, slash)), {}});
                } else if (it->second.dir < 0) {
                    return unusable(std::string(path.substr(0, slash)) +
                                    " is a file and a directory");
                }
                current = it->second.dir;
                chain.push_back(current);
                names.push_back(name);
            }
            start = slash + 1;
        }
        if (unsafe_component(path.substr(start))) return unusable("the path " + std::string(path));
        if (!dirs[current].children.try_emplace(path.substr(start), Child{&e}).second) {
            return unusable(std::string(path) + " is listed twice");
        }
    }
    return {};
}

bool racily_clean(const TrackedEntry& e, const timespec& index_mtime) {
    // 32-bit seconds, as git keeps them: good until 2106.
    auto index_seconds = static_cast<std::uint32_t>(index_mtime.tv_sec);
    return e.mtime_s > index_seconds ||
           (e.mtime_s == index_seconds && static_cast<long>(e.mtime_ns) >= index_mtime.tv_nsec);
}

// The index mode a file of this type and permissions would have; 0 for a directory,
// a FIFO or anything else git does not track.
std::uint32_t index_mode(const struct stat& st) {
    if (S_ISLNK(st.st_mode)) return k_mode_link;
    if (S_ISREG(st.st_mode)) return (st.st_mode & S_IXUSR) != 0 ? k_mode_executable : k_mode_file;
    return 0;
}

bool same_type(std::uint32_t a, std::uint32_t b) {
    auto regular = [](std::uint32_t m) { return m == k_mode_file || m == k_mode_executable; };
    return a == b || (regular(a) && regular(b));
}

// What libgit2's checkout compares before it trusts a file to hold its index entry
// (seconds only: whether it compares nanoseconds depends on how it was built).
bool trusted_by_libgit2(const TrackedEntry& e, const struct stat& st, const timespec& index_mtime) {
    return e.mode == index_mode(st) && e.size == static_cast<std::uint32_t>(st.st_size) &&
           e.mtime_s == static_cast<std::uint32_t>(st.st_mtim.tv_sec) &&
           !racily_clean(e, index_mtime);
}

// Whether the file is as sluice left it, by the fields git compares (not the device,
// which git leaves out too).
bool same_stat(const TrackedEntry& e, const struct stat& st, const timespec& index_mtime) {
    return trusted_by_libgit2(e, st, index_mtime) &&
           e.mtime_ns == static_cast<std::uint32_t>(st.st_mtim.tv_nsec) &&
           e.ino == static_cast<std::uint32_t>(st.st_ino) && e.uid == st.st_uid &&
           e.gid == st.st_gid && e.ctime_s == static_cast<std::uint32_t>(st.st_ctim.tv_sec) &&
           e.ctime_ns == static_cast<std::uint32_t>(st.st_ctim.tv_nsec);
}

class Scanner {
public:
    Scanner(std::deque<Dir>& dirs, const timespec& index_mtime, std::stop_token stop)
        : dirs_(dirs), index_mtime_(index_mtime), stop_(std::move(stop)) {}

    // Lists the directory open at `fd` (taken over) that should be `dir`.
    util::Status scan(int fd, Dir& dir) {
        if (stop_.stop_requested()) {
            ::close(fd);
            return util::fail(util::ErrorCode::conflict, "the scan was stopped");
        }
        DIR* listing = ::fdopendir(fd);
        if (listing == nullptr) {
            ::close(fd);
            return util::fail(util::ErrorCode::io,
                              "cannot list " + dir.path + ": " + std::strerror(errno));
        }
        std::vector<Child*> subdirs;
        int list_error = 0;
        for (;;) {
            errno = 0;  // readdir's end and its failure differ only in errno
            const dirent* d = ::readdir(listing);
            if (d == nullptr) {
                list_error = errno;
                break;
            }
            std::string_view name = d->d_name;
            if (name == "." || name == ".." || (dir.path.empty() && name == ".git")) continue;
            auto it = dir.children.find(name);
            if (it == dir.children.end()) {
                out_.leftovers.push_back(join(dir.path, name));
                continue;
            }
            Child& child = it->second;
            child.seen = true;
            struct stat st {};
            bool is_dir = d->d_type == DT_DIR;
            if (child.dir < 0 || d->d_type == DT_UNKNOWN) {
                if (::fstatat(::dirfd(listing), d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                    child.seen = false;  // gone meanwhile: missing
                    continue;
                }
                is_dir = S_ISDIR(st.st_mode);
            }
            if (child.dir >= 0) {
                if (is_dir) {
                    subdirs.push_back(&child);
                } else {
                    out_.leftovers.push_back(join(dir.path, name));
                    child.seen = false;
                }
                continue;
            }
            const TrackedEntry& e = *child.entry;
            if (e.mode == k_mode_submodule) {
                // A submodule's directory; its files are its own checkout's business.
                if (!is_dir) replace(e);
            } else if (is_dir || !same_type(e.mode, index_mode(st))) {
                replace(e);
            } else if (!same_stat(e, st, index_mtime_)) {
                if (trusted_by_libgit2(e, st, index_mtime_)) {
                    replace(e);
                } else {
                    out_.changed.emplace_back(e.path);
                }
            }
        }
        for (auto& [name, child] : dir.children) {
            if (!child.seen) all_changed(child);
        }
        util::Status status;
        if (list_error != 0) {
            status = util::fail(util::ErrorCode::io,
                                "cannot list " + dir.path + ": " + std::strerror(list_error));
        }
        for (Child* child : subdirs) {
            if (!status) break;
            Dir& sub = dirs_[child->dir];
            std::string_view name =
                std::string_view(sub.path).substr(dir.path.empty() ? 0 : dir.path.size() + 1);
            int sub_fd = ::openat(::dirfd(listing), std::string(name).c_str(),
                                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub_fd < 0) {
                // Unreadable (a stage's chmod) or replaced meanwhile: written afresh.
                out_.leftovers.push_back(sub.path);
                all_changed(*child);
                continue;
            }
            status = scan(sub_fd, sub);
        }
        ::closedir(listing);
        return status;
    }

    WorkTreeScan take() { return std::move(out_); }

private:
    void replace(const TrackedEntry& e) {
        out_.replaced.emplace_back(e.path);
        out_.changed.emplace_back(e.path);
    }

    // Every tracked path at or below `child`: none of them is there as recorded.
    void all_changed(const Child& child) {
        if (child.dir < 0) {
            out_.changed.emplace_back(child.entry->path);
            return;
        }
        for (const auto& [name, below] : dirs_[child.dir].children) all_changed(below);
    }

    std::deque<Dir>& dirs_;
    timespec index_mtime_;
    std::stop_token stop_;
    WorkTreeScan out_;
};

}  // namespace

util::Result<IndexSnapshot> read_index_snapshot(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return util::fail(util::ErrorCode::io,
                          "cannot open " + path.string() + ": " + std::strerror(errno));
    }
    IndexSnapshot index;
    struct stat st {};
    bool ok = ::fstat(fd, &st) == 0;
    if (ok) {
        index.mtime = st.st_mtim;
        index.bytes.resize(static_cast<std::size_t>(st.st_size));
        std::size_t done = 0;
        while (ok && done < index.bytes.size()) {
            ssize_t n = ::read(fd, index.bytes.data() + done, index.bytes.size() - done);
            if (n < 0 && errno == EINTR) continue;
            ok = n > 0;
            if (ok) done += static_cast<std::size_t>(n);
        }
    }
    int read_error = errno;
    ::close(fd);
    if (!ok) {
        return util::fail(util::ErrorCode::io,
                          "cannot read " + path.string() + ": " + std::strerror(read_error));
    }
    if (auto parsed = parse_entries(path, index); !parsed) return std::unexpected(parsed.error());
    return index;
}

util::Result<WorkTreeScan> scan_work_tree(const std::filesystem::path& work_dir,
                                          const IndexSnapshot& index, std::stop_token stop) {
    std::deque<Dir> dirs;
    if (auto st = build_tree(index, dirs); !st) return std::unexpected(st.error());
    int fd = ::open(work_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return util::fail(util::ErrorCode::io,
                          "cannot open " + work_dir.string() + ": " + std::strerror(errno));
    }
    Scanner scanner(dirs, index.mtime, std::move(stop));
    if (auto st = scanner.scan(fd, dirs.front()); !st) return std::unexpected(st.error());
    return scanner.take();
}

}  // namespace sluice::git
