// Stage log files: writing output as timestamped records and reading it back.
#include "runner/exec/log_writer.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace sluice::exec {

namespace {

constexpr std::size_t k_stamp_size = 24;                 // 2026-11-22T16:08:01.123Z
constexpr std::size_t k_header_size = k_stamp_size + 7;  // + " out | "
constexpr char k_whole_line = '|';
constexpr char k_line_piece = '+';
// Writing happens at the end of every write() anyway; this only bounds the buffer within one
// very large write().
constexpr std::size_t k_write_threshold = 256 * 1024;
constexpr std::size_t k_read_block = 1024 * 1024;

std::size_t index_of(Stream stream) { return stream == Stream::out ? 0 : 1; }

void put_digits(char* out, std::int64_t value, int width) {
    for (int i = width - 1; i >= 0; --i) {
        out[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
}

// UTC without gmtime: the days-to-civil algorithm of H. Hinnant, exact for the proleptic
// Gregorian calendar.
void format_stamp(std::int64_t ms, char* out) {
    std::int64_t days = ms >= 0 ? ms / 86'400'000 : (ms - 86'399'999) / 86'400'000;
    std::int64_t ms_of_day = ms - days * 86'400'000;
    std::int64_t z = days + 719'468;
    std::int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
    std::int64_t doe = z - era * 146'097;
    std::int64_t yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;
    std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    std::int64_t mp = (5 * doy + 2) / 153;
    std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
    std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
    std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    put_digits(out, year, 4);
    out[4] = '-';
    put_digits(out + 5, month, 2);
    out[7] = '-';
    put_digits(out + 8, day, 2);
    out[10] = 'T';
    put_digits(out + 11, ms_of_day / 3'600'000, 2);
    out[13] = ':';
    put_digits(out + 14, ms_of_day / 60'000 % 60, 2);
    out[16] = ':';
    put_digits(out + 17, ms_of_day / 1000 % 60, 2);
    out[19] = '.';
    put_digits(out + 20, ms_of_day % 1000, 3);
    out[23] = 'Z';
}

util::Error io_error(const std::string& what, const std::filesystem::path& path, int error) {
    return util::Error{
        util::ErrorCode::io, what + " " + path.string() + ": " + std::strerror(error), {}};
}

}  // namespace

util::Result<LogWriter> LogWriter::open(const std::filesystem::path& path, bool append) {
    int mode = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (append ? 0 : O_TRUNC);
    util::UniqueFd fd(::open(path.c_str(), mode, 0644));
    if (!fd) return std::unexpected(io_error("cannot open the log", path, errno));
    return LogWriter(path, std::move(fd));
}

LogWriter::LogWriter(std::filesystem::path path, util::UniqueFd fd)
    : path_(std::move(path)), fd_(std::move(fd)) {
    buffer_.reserve(k_write_threshold + k_log_max_record_text + k_header_size + 1);
}

LogWriter::~LogWriter() { (void)close(); }

util::Status LogWriter::write(Stream stream, std::string_view data) {
    return write(stream, data, std::chrono::system_clock::now());
}

util::Status LogWriter::write(Stream stream, std::string_view data, TimePoint now) {
    if (failed_) return std::unexpected(*failed_);
    if (!fd_) return util::fail(util::ErrorCode::io, "the log " + path_.string() + " is closed");
    while (!data.empty()) {
        const void* newline = std::memchr(data.data(), '\n', data.size());
        if (newline == nullptr) {
            add_piece(stream, data, now, false);
            break;
        }
        auto length = static_cast<std::size_t>(static_cast<const char*>(newline) - data.data());
        add_piece(stream, data.substr(0, length), now, true);
        data.remove_prefix(length + 1);
        if (buffer_.size() >= k_write_threshold) {
            if (auto written = write_buffer(); !written) return written;
        }
    }
    return write_buffer();
}

void LogWriter::add_piece(Stream stream, std::string_view piece, TimePoint now, bool ends_line) {
    Partial& partial = partial_[index_of(stream)];
    if (partial.text.empty()) {
        // The common case: a whole line inside one chunk goes straight to the buffer.
        if (ends_line && piece.size() <= k_log_max_record_text) {
            add_record(stream, now, piece, true);
            return;
        }
        partial.started = now;
    }
    while (!piece.empty()) {
        std::size_t room = k_log_max_record_text - partial.text.size();
        std::size_t take = std::min(room, piece.size());
        partial.text.append(piece.substr(0, take));
        piece.remove_prefix(take);
        bool full = partial.text.size() == k_log_max_record_text;
        if (full && (!piece.empty() || !ends_line)) {
            add_record(stream, partial.started, partial.text, false);
            partial.text.clear();
            partial.started = now;
        }
    }
    if (ends_line) {
        add_record(stream, partial.started, partial.text, true);
        partial.text.clear();
    }
}

void LogWriter::add_record(Stream stream, TimePoint time, std::string_view text, bool whole_line) {
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
    if (ms != stamp_ms_) {
        format_stamp(ms, stamp_.data());
        stamp_ms_ = ms;
    }
    std::size_t at = buffer_.size();
    buffer_.resize(at + k_header_size + text.size() + 1);
    char* out = buffer_.data() + at;
    std::memcpy(out, stamp_.data(), k_stamp_size);
    out += k_stamp_size;
    std::memcpy(out, stream == Stream::out ? " out " : " err ", 5);
    out += 5;
    *out++ = whole_line ? k_whole_line : k_line_piece;
    *out++ = ' ';
    if (!text.empty()) std::memcpy(out, text.data(), text.size());
    out[text.size()] = '\n';
}

util::Status LogWriter::write_buffer() {
    std::size_t done = 0;
    while (done < buffer_.size()) {
        ssize_t n = ::write(fd_.get(), buffer_.data() + done, buffer_.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            failed_ = io_error("cannot write the log", path_, errno);
            buffer_.clear();
            return std::unexpected(*failed_);
        }
        done += static_cast<std::size_t>(n);
    }
    buffer_.clear();
    return {};
}

util::Status LogWriter::close() {
    if (!fd_) return failed_ ? util::Status(std::unexpected(*failed_)) : util::Status{};
    if (!failed_) {
        for (Stream stream : {Stream::out, Stream::err}) {
            Partial& partial = partial_[index_of(stream)];
            if (partial.text.empty()) continue;
            add_record(stream, partial.started, partial.text, false);
            partial.text.clear();
        }
        (void)write_buffer();
    }
    fd_.reset();
    if (failed_) return std::unexpected(*failed_);
    return {};
}

std::size_t LogDecoder::decode(std::string_view data, std::string& out) {
    std::size_t consumed = 0;
    while (consumed < data.size()) {
        const void* newline = std::memchr(data.data() + consumed, '\n', data.size() - consumed);
        if (newline == nullptr) break;
        auto end = static_cast<std::size_t>(static_cast<const char*>(newline) - data.data());
        std::string_view record = data.substr(consumed, end - consumed);
        consumed = end + 1;
        if (record.size() < k_header_size || record[k_stamp_size] != ' ' ||
            record[k_stamp_size + 4] != ' ' || record[k_header_size - 1] != ' ') {
            continue;
        }
        std::string_view name = record.substr(k_stamp_size + 1, 3);
        Stream stream;
        if (name == "out") {
            stream = Stream::out;
        } else if (name == "err") {
            stream = Stream::err;
        } else {
            continue;
        }
        char marker = record[k_stamp_size + 5];
        if (marker != k_whole_line && marker != k_line_piece) continue;
        bool& continuing = continuing_[index_of(stream)];
        bool was_continuing = continuing;
        continuing = marker == k_line_piece;
        if (options_.stream && *options_.stream != stream) continue;
        if (options_.timestamps && !was_continuing) {
            out.append(record.substr(0, k_stamp_size));
            out.push_back(' ');
        }
        out.append(record.substr(k_header_size));
        if (marker == k_whole_line) out.push_back('\n');
    }
    return consumed;
}

util::Result<std::uint64_t> read_log_from(const std::filesystem::path& path, LogDecoder& decoder,
                                          const std::function<void(std::string_view)>& sink,
                                          std::uint64_t from) {
    util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        int error = errno;
        if (error == ENOENT) {
            return util::fail(util::ErrorCode::not_found, "no log " + path.string());
        }
        return std::unexpected(io_error("cannot read the log", path, error));
    }
    std::string pending;
    std::string out;
    std::uint64_t offset = from;  // of pending's first byte
    for (;;) {
        std::size_t have = pending.size();
        pending.resize(have + k_read_block);
        ssize_t n = ::pread(fd.get(), pending.data() + have, k_read_block,
                            static_cast<off_t>(offset + have));
        if (n < 0) {
            if (errno == EINTR) {
                pending.resize(have);
                continue;
            }
            return std::unexpected(io_error("cannot read the log", path, errno));
        }
        pending.resize(have + static_cast<std::size_t>(n));
        if (n == 0) break;
        out.clear();
        std::size_t used = decoder.decode(pending, out);
        if (!out.empty() && sink) sink(out);
        pending.erase(0, used);
        offset += used;
    }
    return offset;
}

util::Result<std::string> read_log(const std::filesystem::path& path,
                                   const LogReadOptions& options) {
    std::string output;
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0 && info.st_size > 0) {
        output.reserve(static_cast<std::size_t>(info.st_size));
    }
    LogDecoder decoder(options);
    auto done =
        read_log_from(path, decoder, [&output](std::string_view text) { output.append(text); });
    if (!done) return std::unexpected(done.error());
    return output;
}

}  // namespace sluice::exec
