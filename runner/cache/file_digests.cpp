// The digest memo: an in-memory table keyed by (device, inode) and its on-disk form.
//
// File format (version 1), native byte order, written whole and renamed into place:
//   header  "sluicefd" | u32 version | u32 record size (80) | u64 record count
//   records count x { u64 device, u64 inode, u64 size, i64 mtime_ns, i64 ctime_ns,
//                     u32 last used day (unix days), u32 zero, u8[32] digest }
//   trailer SHA-256 of everything before it
// so loading is one read, one hash and a table fill (10,000 entries: 800 KB).
#include "runner/cache/file_digests.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <unordered_map>
#include <vector>

#include "runner/cache/temp_file.hpp"
#include "runner/util/sha256.hpp"
#include "runner/util/unique_fd.hpp"

namespace sluice::cache {

using util::ErrorCode;
using util::fail;

namespace {

constexpr char k_magic[8] = {'s', 'l', 'u', 'i', 'c', 'e', 'f', 'd'};
constexpr std::uint32_t k_format_version = 1;
constexpr std::size_t k_read_buffer_size = 256 * 1024;
constexpr std::int64_t k_ms_per_day = 86'400'000;

struct Header {
    char magic[8];
    std::uint32_t version;
    std::uint32_t record_size;
    std::uint64_t count;
};
static_assert(sizeof(Header) == 24);

struct Record {
    std::uint64_t device;
    std::uint64_t inode;
    std::uint64_t size;
    std::int64_t mtime_ns;
    std::int64_t ctime_ns;
    std::uint32_t used_day;
    std::uint32_t reserved;
    util::Sha256Digest digest;
};
static_assert(sizeof(Record) == 80);

constexpr std::size_t k_trailer_size = 32;

struct FileId {
    std::uint64_t device;
    std::uint64_t inode;
    bool operator==(const FileId&) const = default;
};

struct FileIdHash {
    std::size_t operator()(const FileId& id) const noexcept {
        std::uint64_t h = id.inode * 0x9e3779b97f4a7c15ULL ^ id.device;
        return static_cast<std::size_t>(h ^ (h >> 29));
    }
};

struct Remembered {
    std::uint64_t size;
    std::int64_t mtime_ns;
    std::int64_t ctime_ns;
    std::uint32_t used_day;
    util::Sha256Digest digest;
};

std::int64_t nanoseconds(const timespec& t) {
    return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

FileId id_of(const struct stat& status) {
    return {static_cast<std::uint64_t>(status.st_dev), static_cast<std::uint64_t>(status.st_ino)};
}

bool same_stat(const Remembered& entry, const struct stat& status) {
    return entry.size == static_cast<std::uint64_t>(status.st_size) &&
           entry.mtime_ns == nanoseconds(status.st_mtim) &&
           entry.ctime_ns == nanoseconds(status.st_ctim);
}

std::unexpected<util::Error> cannot_hash(const std::filesystem::path& path, int error) {
    return fail(error == ENOENT || error == ENOTDIR ? ErrorCode::not_found : ErrorCode::io,
                "cannot hash " + path.string() + ": " + std::strerror(error));
}

std::unexpected<util::Error> not_a_regular_file(const std::filesystem::path& path,
                                                const struct stat& status) {
    const char* what = S_ISDIR(status.st_mode)    ? "a directory"
                       : S_ISLNK(status.st_mode)  ? "a symbolic link"
                       : S_ISFIFO(status.st_mode) ? "a named pipe"
                       : S_ISSOCK(status.st_mode) ? "a socket"
                                                  : "a device";
    return fail(ErrorCode::bad_input,
                "cannot hash " + path.string() + ": it is " + what + ", not a regular file");
}

}  // namespace

struct FileDigests::Impl {
    std::filesystem::path memo_file;
    const util::Clock* clock = nullptr;
    util::SystemClock system_clock;
    std::unordered_map<FileId, Remembered, FileIdHash> entries;
    std::uint32_t today = 0;
    bool dirty = false;
    Counters counters;
    std::unique_ptr<char[]> read_buffer;  // allocated at the first file read

    explicit Impl(const util::Clock* c) : clock(c != nullptr ? c : &system_clock) {
        today = static_cast<std::uint32_t>(clock->epoch_ms() / k_ms_per_day);
    }

    std::int64_t now_ns() const { return clock->epoch_ms() * 1'000'000; }

    // Old enough that a later change cannot hide inside the same timestamp.
    static bool settled(std::int64_t mtime_ns, std::int64_t ctime_ns, std::int64_t now_ns) {
        std::int64_t limit =
            now_ns -
            std::chrono::duration_cast<std::chrono::nanoseconds>(k_timestamp_slack).count();
        return mtime_ns < limit && ctime_ns < limit;
    }

    void load_from(const std::filesystem::path& path);
    util::Result<util::Sha256Digest> hash(const std::filesystem::path& path,
                                          const struct stat& looked_up);
    void drop_excess();
};

void FileDigests::Impl::load_from(const std::filesystem::path& path) {
    util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    struct stat status {};
    if (!fd || ::fstat(fd.get(), &status) != 0 || !S_ISREG(status.st_mode)) return;
    auto file_size = static_cast<std::uint64_t>(status.st_size);
    if (file_size < sizeof(Header) + k_trailer_size ||
        file_size > sizeof(Header) + k_trailer_size + 4 * k_max_entries * sizeof(Record)) {
        return;
    }
    std::vector<char> bytes(file_size);
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // a short file: garbled
        done += static_cast<std::size_t>(n);
    }
    Header header{};
    std::memcpy(&header, bytes.data(), sizeof header);
    if (std::memcmp(header.magic, k_magic, sizeof k_magic) != 0 ||
        header.version != k_format_version || header.record_size != sizeof(Record) ||
        header.count != (file_size - sizeof(Header) - k_trailer_size) / sizeof(Record) ||
        file_size != sizeof(Header) + header.count * sizeof(Record) + k_trailer_size) {
        return;
    }
    std::string_view body(bytes.data(), file_size - k_trailer_size);
    util::Sha256 checksum;
    checksum.update(body);
    if (std::memcmp(checksum.finish().data(), bytes.data() + body.size(), k_trailer_size) != 0) {
        return;
    }

    std::int64_t now = now_ns();
    entries.reserve(static_cast<std::size_t>(header.count));
    const char* at = bytes.data() + sizeof(Header);
    for (std::uint64_t i = 0; i < header.count; ++i, at += sizeof(Record)) {
        Record r{};
        std::memcpy(&r, at, sizeof r);
        // An entry younger than now (a clock that stepped back) vouches for nothing; an
        // idle one is dropped so the memo does not grow forever.
        if (!settled(r.mtime_ns, r.ctime_ns, now) ||
            static_cast<std::int64_t>(r.used_day) + k_max_idle_days < today) {
            dirty = true;
            continue;
        }
        entries.insert_or_assign(FileId{r.device, r.inode},
                                 Remembered{r.size, r.mtime_ns, r.ctime_ns, r.used_day, r.digest});
    }
}

util::Result<util::Sha256Digest> FileDigests::Impl::hash(const std::filesystem::path& path,
                                                         const struct stat& looked_up) {
    // The clock is read before the file: a change after this moment gets a timestamp
    // at least this late (give or take the slack) and so cannot match what is kept.
    std::int64_t started_ns = now_ns();
    // O_NONBLOCK: should the file have become a FIFO since it was looked up, open
    // must not wait for a writer.
    util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) return cannot_hash(path, errno);
    struct stat opened {};
    if (::fstat(fd.get(), &opened) != 0) return cannot_hash(path, errno);
    if (!S_ISREG(opened.st_mode)) return not_a_regular_file(path, opened);

    if (!read_buffer) read_buffer = std::make_unique<char[]>(k_read_buffer_size);
    util::Sha256 sha;
    std::uint64_t total = 0;
    while (true) {
        ssize_t n = ::read(fd.get(), read_buffer.get(), k_read_buffer_size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return cannot_hash(path, errno);
        if (n == 0) break;
        sha.update(std::string_view(read_buffer.get(), static_cast<std::size_t>(n)));
        total += static_cast<std::uint64_t>(n);
    }
    util::Sha256Digest digest = sha.finish();
    ++counters.hashed_files;
    counters.hashed_bytes += total;

    // Kept under the stat data of what was read (the file may have been replaced since
    // the caller's stat); a stale entry of the looked-up inode goes.
    if (id_of(looked_up) != id_of(opened)) {
        if (entries.erase(id_of(looked_up)) > 0) dirty = true;
    }
    std::int64_t mtime = nanoseconds(opened.st_mtim);
    std::int64_t ctime = nanoseconds(opened.st_ctim);
    if (settled(mtime, ctime, started_ns) && total == static_cast<std::uint64_t>(opened.st_size)) {
        entries.insert_or_assign(
            id_of(opened),
            Remembered{static_cast<std::uint64_t>(opened.st_size), mtime, ctime, today, digest});
        dirty = true;
    } else if (entries.erase(id_of(opened)) > 0) {
        dirty = true;
    }
    return digest;
}

void FileDigests::Impl::drop_excess() {
    if (entries.size() <= k_max_entries) return;
    std::vector<std::uint32_t> days;
    days.reserve(entries.size());
    for (const auto& [id, entry] : entries) days.push_back(entry.used_day);
    auto cut = days.begin() + static_cast<std::ptrdiff_t>(k_max_entries);
    std::nth_element(days.begin(), cut, days.end(), std::greater<>());
    std::uint32_t oldest_kept = *cut;  // the newest day that does not fit whole
    std::size_t kept_at_cut_day = 0;
    std::size_t room_at_cut_day =
        k_max_entries - static_cast<std::size_t>(std::count_if(
                            days.begin(), days.end(), [&](auto d) { return d > oldest_kept; }));
    for (auto it = entries.begin(); it != entries.end();) {
        bool keep = it->second.used_day > oldest_kept ||
                    (it->second.used_day == oldest_kept && kept_at_cut_day++ < room_at_cut_day);
        it = keep ? std::next(it) : entries.erase(it);
    }
}

FileDigests::FileDigests() : impl_(std::make_unique<Impl>(nullptr)) {}
FileDigests::FileDigests(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FileDigests::FileDigests(FileDigests&&) noexcept = default;
FileDigests& FileDigests::operator=(FileDigests&&) noexcept = default;
FileDigests::~FileDigests() = default;

FileDigests FileDigests::load(const std::filesystem::path& memo_file, const util::Clock* clock) {
    auto impl = std::make_unique<Impl>(clock);
    impl->memo_file = memo_file;
    impl->load_from(memo_file);
    return FileDigests(std::move(impl));
}

util::Result<std::string> FileDigests::digest(const std::filesystem::path& path) {
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0) return cannot_hash(path, errno);
    return digest(path, status);
}

util::Result<std::string> FileDigests::digest(const std::filesystem::path& path,
                                              const struct stat& status) {
    if (!S_ISREG(status.st_mode)) return not_a_regular_file(path, status);
    auto found = impl_->entries.find(id_of(status));
    if (found != impl_->entries.end() && same_stat(found->second, status)) {
        ++impl_->counters.remembered;
        if (found->second.used_day != impl_->today) {
            found->second.used_day = impl_->today;
            impl_->dirty = true;
        }
        return util::digest_hex(found->second.digest);
    }
    auto hashed = impl_->hash(path, status);
    if (!hashed) return std::unexpected(hashed.error());
    return util::digest_hex(*hashed);
}

util::Status FileDigests::save() {
    if (impl_->memo_file.empty() || !impl_->dirty) return {};
    impl_->drop_excess();

    Header header{};
    std::memcpy(header.magic, k_magic, sizeof k_magic);
    header.version = k_format_version;
    header.record_size = sizeof(Record);
    header.count = impl_->entries.size();
    std::string bytes(sizeof(Header) + impl_->entries.size() * sizeof(Record) + k_trailer_size,
                      '\0');
    std::memcpy(bytes.data(), &header, sizeof header);
    char* at = bytes.data() + sizeof(Header);
    for (const auto& [id, entry] : impl_->entries) {
        Record r{id.device,      id.inode,       entry.size, entry.mtime_ns,
                 entry.ctime_ns, entry.used_day, 0,          entry.digest};
        std::memcpy(at, &r, sizeof r);
        at += sizeof r;
    }
    util::Sha256 checksum;
    checksum.update(std::string_view(bytes.data(), bytes.size() - k_trailer_size));
    auto sum = checksum.finish();
    std::memcpy(at, sum.data(), sum.size());

    const auto& file = impl_->memo_file;
    std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : ".";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(ErrorCode::io, "cannot create " + dir.string() + ": " + ec.message());
    auto temp = TempFile::create(dir, TempFile::prefix_beside(file));
    if (!temp) return std::unexpected(temp.error());
    if (auto written = temp->write_all(bytes); !written) return written;
    if (auto moved = temp->commit(file, 0644); !moved) return moved;
    impl_->dirty = false;
    return {};
}

const FileDigests::Counters& FileDigests::counters() const { return impl_->counters; }
std::size_t FileDigests::size() const { return impl_->entries.size(); }
const std::filesystem::path& FileDigests::memo_file() const { return impl_->memo_file; }

}  // namespace sluice::cache
