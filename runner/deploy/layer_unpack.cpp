// Unpacking image layers with libarchive.
#include "runner/deploy/layer_unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <memory>
#include <optional>
#include <set>
#include <string>

namespace sluice::deploy {

namespace {

using util::ErrorCode;
using util::fail;

struct ReadFree {
    void operator()(archive* a) const noexcept { archive_read_free(a); }
};
struct WriteFree {
    void operator()(archive* a) const noexcept { archive_write_free(a); }
};

constexpr std::string_view k_whiteout = ".wh.";
constexpr std::string_view k_opaque = ".wh..wh..opq";

// The entry's name made relative and checked: "./a/b/" → "a/b"; nullopt when it would
// leave the root (absolute after "./", or a `..` component).
std::optional<std::string> clean_name(std::string name) {
    while (name.rfind("./", 0) == 0) name.erase(0, 2);
    while (!name.empty() && name.back() == '/') name.pop_back();
    if (name.empty() || name == ".") return std::string();
    if (name.front() == '/') return std::nullopt;
    std::size_t start = 0;
    while (start <= name.size()) {
        auto end = name.find('/', start);
        if (end == std::string::npos) end = name.size();
        if (name.compare(start, end - start, "..") == 0 && end - start == 2) return std::nullopt;
        start = end + 1;
    }
    return name;
}

std::string archive_message(archive* a) {
    const char* m = archive_error_string(a);
    return m != nullptr ? m : "unknown libarchive error";
}

}  // namespace

util::Status unpack_layer(const std::filesystem::path& layer,
                          const std::filesystem::path& root_in) {
    std::error_code ec;
    auto root = std::filesystem::canonical(root_in, ec);  // SECURE_SYMLINKS checks the prefix too
    if (ec) return fail(ErrorCode::io, "cannot use " + root_in.string() + ": " + ec.message());
    std::unique_ptr<archive, ReadFree> in(archive_read_new());
    std::unique_ptr<archive, WriteFree> out(archive_write_disk_new());
    if (!in || !out) return fail(ErrorCode::internal, "libarchive: out of memory");
    archive_read_support_filter_all(in.get());
    archive_read_support_format_tar(in.get());
    archive_read_support_format_gnutar(in.get());
    archive_write_disk_set_options(
        out.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                       ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_UNLINK);
    if (archive_read_open_filename(in.get(), layer.c_str(), 1 << 16) != ARCHIVE_OK) {
        return fail(ErrorCode::bad_input,
                    "cannot read layer " + layer.string() + ": " + archive_message(in.get()));
    }
    auto where = [&](const std::string& name) { return "layer " + layer.string() + ", " + name; };
    std::set<std::string> written;  // this layer's own paths, which an opaque marker keeps
    while (true) {
        archive_entry* entry = nullptr;
        int r = archive_read_next_header(in.get(), &entry);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            return fail(ErrorCode::bad_input,
                        "cannot read layer " + layer.string() + ": " + archive_message(in.get()));
        }
        const char* raw = archive_entry_pathname(entry);
        std::string original = raw != nullptr ? raw : "";
        auto name = clean_name(original);
        if (!name) {
            return fail(ErrorCode::bad_input,
                        where(original) + ": the entry would be written outside the image root");
        }
        if (name->empty()) continue;  // the root itself
        std::filesystem::path relative(*name);
        std::string base = relative.filename().string();
        if (base == k_opaque) {
            auto dir = root / relative.parent_path();
            for (const auto& child : std::filesystem::directory_iterator(dir, ec)) {
                auto rel = std::filesystem::relative(child.path(), root).generic_string();
                if (!written.contains(rel)) std::filesystem::remove_all(child.path(), ec);
            }
            continue;
        }
        if (base.rfind(k_whiteout, 0) == 0) {
            std::filesystem::remove_all(
                root / relative.parent_path() / base.substr(k_whiteout.size()), ec);
            continue;
        }
        mode_t type = archive_entry_filetype(entry);
        if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO || type == AE_IFSOCK) continue;
        written.insert(*name);
        archive_entry_set_pathname(entry, (root / relative).c_str());
        if (const char* link = archive_entry_hardlink(entry); link != nullptr) {
            auto target = clean_name(link);
            if (!target || target->empty()) {
                return fail(ErrorCode::bad_input,
                            where(original) + ": a hard link to outside the image root");
            }
            archive_entry_set_hardlink(entry, (root / *target).c_str());
        }
        r = archive_write_header(out.get(), entry);
        if (r < ARCHIVE_WARN) {
            return fail(ErrorCode::io, where(original) + ": " + archive_message(out.get()));
        }
        if (archive_entry_size(entry) > 0 && archive_entry_hardlink(entry) == nullptr) {
            const void* block = nullptr;
            size_t size = 0;
            la_int64_t offset = 0;
            while ((r = archive_read_data_block(in.get(), &block, &size, &offset)) == ARCHIVE_OK) {
                if (archive_write_data_block(out.get(), block, size, offset) < ARCHIVE_WARN) {
                    return fail(ErrorCode::io, where(original) + ": " + archive_message(out.get()));
                }
            }
            if (r != ARCHIVE_EOF) {
                return fail(ErrorCode::bad_input,
                            where(original) + ": " + archive_message(in.get()));
            }
        }
        if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN) {
            return fail(ErrorCode::io, where(original) + ": " + archive_message(out.get()));
        }
    }
    if (archive_write_close(out.get()) != ARCHIVE_OK) {
        return fail(ErrorCode::io, "layer " + layer.string() + ": " + archive_message(out.get()));
    }
    return {};
}

util::Status unpack_image(const OciImage& image, const std::filesystem::path& root) {
    std::error_code ec;
    std::filesystem::create_directories(root, ec);
    if (ec) return fail(ErrorCode::io, "cannot create " + root.string() + ": " + ec.message());
    for (const auto& layer : image.layers) {
        if (auto done = unpack_layer(layer.blob, root); !done) return done;
    }
    return {};
}

}  // namespace sluice::deploy
