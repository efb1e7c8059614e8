// This executable's identity (see executable_identity.hpp).
#include "runner/util/executable_identity.hpp"

#include <sys/stat.h>

namespace sluice::util {

std::string executable_identity() {
    struct stat st {};
    if (::stat("/proc/self/exe", &st) != 0) return {};
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
           std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec);
}

}  // namespace sluice::util
