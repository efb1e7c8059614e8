// Metrics files: what a training or evaluation stage writes for a gate to judge and for
// the registry to record. Two formats, told apart by the first non-space character:
//
//   JSON     {"f1": 0.84, "eval": {"roc_auc": 0.91}}   nested objects flatten with dots
//                                                     ("eval.roc_auc"); a string that is
//                                                     a number ("0.84") is accepted
//   lines    f1 = 0.84                                 `key=value`, one a line; blank
//            # a comment                               lines and `#` lines are ignored
//
// Every value must be a finite number: booleans, null, arrays, text, NaN and Infinity are
// errors naming the key, and so is a key given twice. A file without metrics is an error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "plugins/registry/registry.hpp"

namespace sluice::registry {

// Parses the text of a metrics file. Errors are ErrorCode::bad_input with where.file =
// file_name and, when known, where.line (and column for malformed JSON); so
// Error::to_string() reads "metrics.json:3: ...". The message itself does not repeat
// the file name.
Result<Metrics> parse_metrics(std::string_view text, const std::string& file_name);

// Metrics files are small; anything bigger is almost certainly the wrong file.
inline constexpr std::uintmax_t k_max_metrics_file_bytes = 16 * 1024 * 1024;

// Reads and parses a metrics file. A file that is missing, unreadable or not a regular
// file is an ErrorCode::io error, one larger than k_max_metrics_file_bytes a bad_input
// error; where.file is the path either way (print Error::to_string(), not the message).
Result<Metrics> read_metrics_file(const std::filesystem::path& path);

}  // namespace sluice::registry
