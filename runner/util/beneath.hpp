// Opening paths beneath a directory (a workspace, the directory `sluice artifacts`
// copies into) so that nothing outside it is read or written through a symbolic link
// or `..`. openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) where the kernel has it,
// else a walk one component at a time with O_NOFOLLOW that follows a link only while
// its target stays beneath. Either way a link that stays beneath the directory is
// followed; a link with an absolute target, or whose `..` climbs out, is refused and
// named in the message. Linux-specific code lives here only.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string_view>

#include "runner/util/error.hpp"
#include "runner/util/unique_fd.hpp"

namespace sluice::util {

// Opens the directory `dir` as a root for the functions below (O_PATH | O_DIRECTORY;
// `dir` itself may be reached through links: it is the caller's choice).
Result<UniqueFd> open_root(const std::filesystem::path& dir);

// Opens `relative` ('/'-separated; "" or "." is the root itself) beneath the directory
// `root_fd` with open(2)'s `flags` and `mode` (O_CLOEXEC is added; with O_NOFOLLOW a link
// as the last component is not followed). `root_name` names the root in messages ("the
// workspace"). Errors: ErrorCode::bad_input when the path leads out of the root,
// "REL resolves outside ROOT (through LINK -> TARGET)" (LINK relative to the root);
// ErrorCode::not_found when a component does not exist; ErrorCode::io otherwise (a
// component that is a file, permissions).
Result<UniqueFd> open_beneath(int root_fd, std::string_view relative, int flags,
                              std::string_view root_name, mode_t mode = 0);

// open_beneath without openat2, as on a kernel that lacks it (for tests).
Result<UniqueFd> open_beneath_by_walking(int root_fd, std::string_view relative, int flags,
                                         std::string_view root_name, mode_t mode = 0);

// Opens the directory `relative` beneath `root_fd` (O_PATH), first creating what is
// missing one directory at a time, each inside the one resolved before it. Errors as
// open_beneath.
Result<UniqueFd> make_directories_beneath(int root_fd, std::string_view relative,
                                          std::string_view root_name);

// ErrorCode::bad_input (as open_beneath, naming `shown` instead of `relative` when
// given) when `relative` leads out of the root; fine otherwise, also when it does not
// exist or is not a directory: nothing leads out through what is not there, and the
// caller's own look at the path reports it.
Status check_beneath(int root_fd, std::string_view relative, std::string_view root_name,
                     std::string_view shown = {});

}  // namespace sluice::util
