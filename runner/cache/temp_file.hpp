// A file written under a unique temporary name and then renamed into place, so
// readers see the old file or the whole new one and two writers (threads or
// processes) never share a half-written file. Removed unless it was committed.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "runner/util/error.hpp"
#include "runner/util/unique_fd.hpp"

namespace sluice::cache {

class TempFile {
  public:
    // Creates `dir/PREFIX.XXXXXX` (mode 0600, the directory must exist) open for
    // reading and writing.
    static util::Result<TempFile> create(const std::filesystem::path& dir, std::string_view prefix);

    TempFile(TempFile&& other) noexcept;
    TempFile& operator=(TempFile&&) = delete;
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    ~TempFile();  // unlinks the file unless it was committed

    // A prefix for a temporary file beside `destination`: hidden, and short enough
    // that the temporary name fits NAME_MAX even when the destination's name does not
    // leave room.
    static std::string prefix_beside(const std::filesystem::path& destination);

    int fd() const { return fd_.get(); }
    const std::filesystem::path& path() const { return path_; }

    // Writes all of `bytes` at the current offset.
    util::Status write_all(std::string_view bytes);

    // Sets the mode, closes (reporting a late write error) and renames the file over
    // `destination`, which is replaced atomically when it exists (not a directory).
    util::Status commit(const std::filesystem::path& destination, mode_t mode);

  private:
    TempFile(util::UniqueFd fd, std::filesystem::path path)
        : fd_(std::move(fd)), path_(std::move(path)) {}

    util::UniqueFd fd_;
    std::filesystem::path path_;  // empty once committed or moved from
};

}  // namespace sluice::cache
