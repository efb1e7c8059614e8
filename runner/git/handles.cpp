// libgit2 initialisation and errors.
#include "runner/git/handles.hpp"

#include <mutex>

namespace sluice::git {

void ensure_initialized() {
    static std::once_flag once;
    std::call_once(once, [] { git_libgit2_init(); });
}

std::string last_error() {
    const git_error* e = git_error_last();
    return e != nullptr && e->message != nullptr ? e->message : "unknown libgit2 error";
}

}  // namespace sluice::git
