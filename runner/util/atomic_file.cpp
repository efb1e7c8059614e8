// Atomic file writes through a temporary file and rename(2).
#include "runner/util/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace sluice::util {

Status write_file_atomically(const std::filesystem::path& path, std::string_view text,
                             unsigned mode) {
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    std::string temp = path.string() + ".tmp." + std::to_string(::getpid());
    auto failed = [&](const std::string& doing) {
        std::string why = std::strerror(errno);
        ::unlink(temp.c_str());
        return fail(ErrorCode::io, "cannot " + doing + " " + path.string() + ": " + why);
    };
    ::unlink(temp.c_str());  // a leftover of a crashed writer with our pid: its mode is not ours
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_EXCL,
                    static_cast<mode_t>(mode));
    if (fd < 0) return failed("create a temporary file for");
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ::close(fd);
            return failed("write");
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) return failed("write");
    if (::rename(temp.c_str(), path.c_str()) != 0) return failed("replace");
    return {};
}

}  // namespace sluice::util
