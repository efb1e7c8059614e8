// Layers: libarchive writes the tar into a callback that hashes it (the diff id) and
// deflates it with zlib into a temporary file of the layout, hashed as it is written.
#include "runner/oci/layer_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <vector>

#include "runner/oci/media_types.hpp"
#include "runner/rules/glob.hpp"
#include "runner/util/sha256.hpp"

namespace sluice::oci {

namespace {

struct ArchiveFree {
    void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
    void operator()(archive_entry* e) const { archive_entry_free(e); }
};
struct FileClose {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

// The sink libarchive writes into: tar bytes -> sha256 (diff id) -> deflate -> file.
class GzipSink {
public:
    explicit GzipSink(std::FILE* out) : out_(out) {
        // windowBits 15 + 16: a gzip wrapper; zlib's default header has no name, mtime 0.
        ok_ = deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                           Z_DEFAULT_STRATEGY) == Z_OK;
    }
    ~GzipSink() { deflateEnd(&z_); }
    GzipSink(const GzipSink&) = delete;
    GzipSink& operator=(const GzipSink&) = delete;

    bool write(const void* data, std::size_t n) {
        tar_sha_.update(std::string_view(static_cast<const char*>(data), n));
        z_.next_in = static_cast<Bytef*>(const_cast<void*>(data));
        z_.avail_in = static_cast<uInt>(n);
        return pump(Z_NO_FLUSH);
    }
    bool finish() { return pump(Z_FINISH); }
    bool ok() const { return ok_; }
    Digest diff_id() { return Digest{util::digest_hex(tar_sha_.finish())}; }
    Digest digest() { return Digest{util::digest_hex(gz_sha_.finish())}; }
    std::int64_t size() const { return size_; }

private:
    bool pump(int flush) {
        if (!ok_) return false;
        unsigned char buffer[1 << 15];
        for (;;) {
            z_.next_out = buffer;
            z_.avail_out = sizeof buffer;
            int rc = deflate(&z_, flush);
            if (rc == Z_STREAM_ERROR) return ok_ = false;
            std::size_t produced = sizeof buffer - z_.avail_out;
            if (produced > 0) {
                if (std::fwrite(buffer, 1, produced, out_) != produced) return ok_ = false;
                gz_sha_.update(std::string_view(reinterpret_cast<char*>(buffer), produced));
                size_ += static_cast<std::int64_t>(produced);
            }
            if (flush == Z_FINISH ? rc == Z_STREAM_END : z_.avail_out != 0) return true;
        }
    }

    std::FILE* out_;
    z_stream z_{};
    bool ok_ = false;
    util::Sha256 tar_sha_;
    util::Sha256 gz_sha_;
    std::int64_t size_ = 0;
};

la_ssize_t on_write(archive*, void* user, const void* data, std::size_t n) {
    return static_cast<GzipSink*>(user)->write(data, n) ? static_cast<la_ssize_t>(n) : -1;
}

bool ignored(const std::vector<std::string>& patterns, const std::string& path) {
    return rules::match_list(patterns, path).matched;
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.pop_back();
    std::size_t start = s.find_first_not_of(" \t");
    return start == std::string::npos ? std::string() : s.substr(start);
}

}  // namespace

std::vector<std::string> ignore_patterns(const std::filesystem::path& context,
                                         const std::vector<std::string>& ignore) {
    std::vector<std::string> patterns = {".git"};
    patterns.insert(patterns.end(), ignore.begin(), ignore.end());
    std::ifstream in(context / ".dockerignore");
    for (std::string line; std::getline(in, line);) {
        line = trim(line);
        if (line.empty() || line.front() == '#') continue;
        bool negated = line.front() == '!';
        std::string body = negated ? line.substr(1) : line;
        while (body.starts_with("/")) body.erase(0, 1);
        while (body.size() > 1 && body.ends_with("/")) body.pop_back();
        patterns.push_back((negated ? "!" : "") + body);
    }
    return patterns;
}

util::Result<std::vector<std::string>> context_entries(const std::filesystem::path& context,
                                                       const std::vector<std::string>& patterns) {
    std::error_code ec;
    if (!std::filesystem::is_directory(context, ec)) {
        return util::fail(util::ErrorCode::not_found,
                          "the image context " + context.string() + " is not a directory");
    }
    std::vector<std::string> entries;
    std::filesystem::recursive_directory_iterator it(context, ec), end;
    if (ec) return util::fail(util::ErrorCode::io, "cannot list " + context.string() + ": " + ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) return util::fail(util::ErrorCode::io, "cannot list " + context.string() + ": " + ec.message());
        std::string rel = it->path().lexically_relative(context).generic_string();
        if (ignored(patterns, rel)) {
            // A directory that is ignored takes what it holds with it (as .dockerignore).
            if (it->is_directory(ec) && !it->is_symlink(ec)) it.disable_recursion_pending();
            continue;
        }
        entries.push_back(std::move(rel));
    }
    std::ranges::sort(entries);
    return entries;
}

util::Result<Layer> write_layer(ImageLayout& layout, const LayerSource& source) {
    auto patterns = ignore_patterns(source.context, source.ignore);
    auto entries = context_entries(source.context, patterns);
    if (!entries) return std::unexpected(entries.error());

    auto temp = layout.temp_path();
    std::unique_ptr<std::FILE, FileClose> out(std::fopen(temp.c_str(), "wb"));
    if (!out) return util::fail(util::ErrorCode::io, "cannot write " + temp.string());
    auto fail_io = [&](const std::string& message) {
        out.reset();
        std::error_code ignored_ec;
        std::filesystem::remove(temp, ignored_ec);
        return util::fail(util::ErrorCode::io, message);
    };
    GzipSink sink(out.get());
    if (!sink.ok()) return fail_io("zlib could not start");
    std::unique_ptr<archive, ArchiveFree> tar(archive_write_new());
    if (!tar || archive_write_set_format_pax_restricted(tar.get()) != ARCHIVE_OK ||
        archive_write_add_filter_none(tar.get()) != ARCHIVE_OK ||
        archive_write_open2(tar.get(), &sink, nullptr, on_write, nullptr, nullptr) != ARCHIVE_OK) {
        return fail_io("libarchive could not start a tar");
    }

    std::string prefix = source.destination;
    while (prefix.starts_with("/")) prefix.erase(0, 1);
    while (prefix.ends_with("/")) prefix.pop_back();

    std::size_t count = 0;
    auto add = [&](const std::string& name, const std::filesystem::path* file) -> util::Status {
        std::unique_ptr<archive_entry, EntryFree> entry(archive_entry_new());
        archive_entry_set_pathname(entry.get(), name.c_str());
        archive_entry_set_mtime(entry.get(), 0, 0);
        archive_entry_set_uid(entry.get(), 0);
        archive_entry_set_gid(entry.get(), 0);
        struct stat st {};
        if (file != nullptr && ::lstat(file->c_str(), &st) != 0) {
            return util::fail(util::ErrorCode::io, "cannot read " + file->string());
        }
        std::string content;
        if (file == nullptr || S_ISDIR(st.st_mode)) {
            archive_entry_set_filetype(entry.get(), AE_IFDIR);
            archive_entry_set_perm(entry.get(), 0755);
        } else if (S_ISLNK(st.st_mode)) {
            std::error_code ec;
            auto target = std::filesystem::read_symlink(*file, ec);
            if (ec) return util::fail(util::ErrorCode::io, "cannot read link " + file->string());
            archive_entry_set_filetype(entry.get(), AE_IFLNK);
            archive_entry_set_perm(entry.get(), 0777);
            archive_entry_set_symlink(entry.get(), target.c_str());
        } else if (S_ISREG(st.st_mode)) {
            archive_entry_set_filetype(entry.get(), AE_IFREG);
            archive_entry_set_perm(entry.get(), (st.st_mode & S_IXUSR) ? 0755 : 0644);
            archive_entry_set_size(entry.get(), st.st_size);
        } else {
            return {};  // sockets, fifos and devices have no place in an image context
        }
        if (archive_write_header(tar.get(), entry.get()) != ARCHIVE_OK) {
            return util::fail(util::ErrorCode::io, std::string("cannot write the tar entry ") +
                                                       name + ": " +
                                                       archive_error_string(tar.get()));
        }
        if (file != nullptr && S_ISREG(st.st_mode)) {
            std::unique_ptr<std::FILE, FileClose> in(std::fopen(file->c_str(), "rb"));
            if (!in) return util::fail(util::ErrorCode::io, "cannot read " + file->string());
            std::vector<char> buffer(1 << 16);
            std::int64_t left = st.st_size;
            while (left > 0) {
                std::size_t n = std::fread(buffer.data(), 1, buffer.size(), in.get());
                if (n == 0) break;
                n = static_cast<std::size_t>(std::min<std::int64_t>(left, static_cast<std::int64_t>(n)));
                if (archive_write_data(tar.get(), buffer.data(), n) < 0) {
                    return util::fail(util::ErrorCode::io, "cannot write the tar entry " + name);
                }
                left -= static_cast<std::int64_t>(n);
            }
            if (left != 0) {
                return util::fail(util::ErrorCode::io, file->string() + " changed while it was read");
            }
        }
        ++count;
        return {};
    };

    // The destination's directories first, so the layer makes them.
    if (!prefix.empty()) {
        std::size_t pos = 0;
        while (pos != std::string::npos) {
            pos = prefix.find('/', pos + 1);
            if (auto ok = add(prefix.substr(0, pos), nullptr); !ok) return fail_io(ok.error().message);
        }
    }
    for (const auto& rel : *entries) {
        std::filesystem::path file = source.context / rel;
        std::string name = prefix.empty() ? rel : prefix + "/" + rel;
        if (auto ok = add(name, &file); !ok) return fail_io(ok.error().message);
    }
    if (archive_write_close(tar.get()) != ARCHIVE_OK) return fail_io("cannot finish the tar");
    if (!sink.finish() || std::fflush(out.get()) != 0) return fail_io("cannot write " + temp.string());
    out.reset();

    Layer layer;
    layer.diff_id = sink.diff_id();
    Digest digest = sink.digest();
    auto blob = layout.adopt_file(temp, std::string(media::k_oci_layer_gzip), digest, sink.size());
    if (!blob) return std::unexpected(blob.error());
    layer.blob = *blob;
    layer.entries = count;
    return layer;
}

}  // namespace sluice::oci
