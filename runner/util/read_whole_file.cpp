// read_whole_file: size first, then one read into a buffer that is not zero-filled first.
#include "runner/util/read_whole_file.hpp"

#include <algorithm>
#include <fstream>

namespace sluice::util {

std::optional<std::string> read_whole_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) return std::nullopt;
    auto size = static_cast<std::size_t>(std::max<std::streamoff>(in.tellg(), 0));
    in.seekg(0);
    std::string bytes;
    bool read = false;
    bytes.resize_and_overwrite(size, [&](char* data, std::size_t n) {
        read = static_cast<bool>(in.read(data, static_cast<std::streamsize>(n)));
        return n;
    });
    if (!read) return std::nullopt;
    return bytes;
}

}  // namespace sluice::util
