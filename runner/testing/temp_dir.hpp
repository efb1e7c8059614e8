// A fresh directory per test, removed afterwards unless the test failed (then it is
// kept and its path printed, so the state of a failed test can be looked at).
#pragma once

#include <filesystem>
#include <string>

namespace sluice::testing {

class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

    // Writes text to a file below the directory, creating parent directories.
    std::filesystem::path write(const std::string& relative, const std::string& text) const;

private:
    std::filesystem::path path_;
};

// Reads a whole file (empty string when it does not exist).
std::string read_file(const std::filesystem::path& path);

// The build directory (SLUICE_BUILD_DIR, set by CTest), where sluice and sluice-shim are.
std::filesystem::path build_dir();

}  // namespace sluice::testing
