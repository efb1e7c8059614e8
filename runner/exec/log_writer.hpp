// A stage's log file: LogWriter appends the stage's output as it arrives, one record per output
// line, and read_log/LogDecoder give the raw output back (for `sluice logs`).
//
// Each record is one line of text:
//
//   2026-11-22T16:08:01.123Z out | a line the stage wrote to stdout
//   2026-11-22T16:08:01.124Z err | a line it wrote to stderr
//   2026-11-22T16:08:02.001Z out + a piece of a line that did not end (yet)
//
// '|' records are whole lines (the newline is implied); '+' records are pieces of a line
// without its newline: the output's unterminated last line, or slices of a line longer than
// k_log_max_record_text. The text is the output's bytes unchanged (binary too), so decoding the
// records gives each stream back byte for byte. The timestamp (UTC) is when the line's first
// byte arrived. Lines of the two streams interleave in the order they were completed.
//
// Writing and reading are fast enough for 100 MB of output in about a second each way: whole
// lines inside a chunk are copied once into a buffer written with one write(2) per chunk.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "runner/exec/process.hpp"
#include "runner/util/error.hpp"
#include "runner/util/unique_fd.hpp"

namespace sluice::exec {

// Longer lines are split into '+' records, so a reader never needs more than this per record
// and a stage printing megabytes without a newline cannot make the writer hold them all.
inline constexpr std::size_t k_log_max_record_text = 64 * 1024;

class LogWriter {
public:
    using TimePoint = std::chrono::system_clock::time_point;

    // Opens the log file, creating it; append=false starts it afresh (a stage's first attempt),
    // append=true adds to it (a retry keeps the earlier attempts' output).
    static util::Result<LogWriter> open(const std::filesystem::path& path, bool append = true);

    LogWriter(LogWriter&&) noexcept = default;
    // Deleted: assigning over an open writer would drop its unfinished lines.
    LogWriter& operator=(LogWriter&&) = delete;
    // close(), ignoring its error.
    ~LogWriter();

    // Adds output of one stream. Complete lines are written to the file before it returns
    // (so `sluice logs -f` sees them); an unfinished line waits for its end. After a write
    // error every call returns that error.
    util::Status write(Stream stream, std::string_view data);
    util::Status write(Stream stream, std::string_view data, TimePoint now);

    // Writes unfinished lines as '+' records and closes the file. Idempotent; write() after
    // close() is an error.
    util::Status close();

    const std::filesystem::path& path() const { return path_; }

private:
    struct Partial {
        std::string text;
        TimePoint started;
    };

    LogWriter(std::filesystem::path path, util::UniqueFd fd);
    void add_piece(Stream stream, std::string_view piece, TimePoint now, bool ends_line);
    void add_record(Stream stream, TimePoint time, std::string_view text, bool whole_line);
    util::Status write_buffer();

    std::filesystem::path path_;
    util::UniqueFd fd_;
    std::array<Partial, 2> partial_;
    std::string buffer_;  // records not yet written
    std::int64_t stamp_ms_ = std::numeric_limits<std::int64_t>::min();  // of stamp_
    std::array<char, 24> stamp_{};
    std::optional<util::Error> failed_;
};

struct LogReadOptions {
    std::optional<Stream> stream;  // only this stream; both when empty
    bool timestamps = false;       // prefix each output line with its record's timestamp
};

// Turns records back into output. Feed it a log file's bytes in order; it keeps the state that
// spans records (a line continued over '+' records).
class LogDecoder {
public:
    explicit LogDecoder(LogReadOptions options = {}) : options_(options) {}

    // Appends the output of data's complete records to out and returns how many bytes of data
    // they took; a trailing incomplete record is left for the next call. Malformed lines are
    // skipped.
    std::size_t decode(std::string_view data, std::string& out);

private:
    LogReadOptions options_;
    std::array<bool, 2> continuing_{};  // the stream's last record was a '+' piece
};

// The output recorded in a log file.
util::Result<std::string> read_log(const std::filesystem::path& path,
                                   const LogReadOptions& options = {});

// Decodes the log from byte offset `from` on, handing output to sink as it goes; returns the
// offset just past the last complete record, where a follower (`sluice logs -f`) continues
// with the same decoder once the file has grown.
util::Result<std::uint64_t> read_log_from(const std::filesystem::path& path, LogDecoder& decoder,
                                          const std::function<void(std::string_view)>& sink,
                                          std::uint64_t from = 0);

}  // namespace sluice::exec
