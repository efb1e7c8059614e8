// Layers: reproducible bytes whatever the mtimes and listing order, ignore patterns, and
// a tar that reads back with the right content.
#include "runner/oci/layer_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "runner/testing/temp_dir.hpp"

namespace sluice::oci {
namespace {

void set_mtime(const std::filesystem::path& path, long days_ago) {
    timespec times[2];
    times[0].tv_sec = 1'700'000'000 - days_ago * 86'400;
    times[0].tv_nsec = 0;
    times[1] = times[0];
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

void make_context(const std::filesystem::path& root, long days_ago) {
    std::filesystem::create_directories(root / "src" / "deep");
    std::filesystem::create_directories(root / ".git");
    std::ofstream(root / "app.py") << "print('hi')\n";
    std::ofstream(root / "src" / "model.py") << "weights = 1\n";
    std::ofstream(root / "src" / "deep" / "x.txt") << "x";
    std::ofstream(root / "run.sh") << "#!/bin/sh\n";
    std::filesystem::permissions(root / "run.sh", std::filesystem::perms::owner_exec,
                                 std::filesystem::perm_options::add);
    std::ofstream(root / ".git" / "HEAD") << "ref: refs/heads/main\n";
    std::ofstream(root / "debug.log") << "noise";
    std::filesystem::create_symlink("app.py", root / "link.py");
    for (const auto& p : {root / "app.py", root / "src" / "model.py", root / "src" / "deep" / "x.txt",
                          root / "run.sh", root / "debug.log", root / "link.py", root / "src" / "deep",
                          root / "src"}) {
        set_mtime(p, days_ago);
    }
}

// name -> content (directories: "<dir>", symlinks: "-> target") of a gzip tar.
std::map<std::string, std::string> read_layer(const std::filesystem::path& file) {
    std::map<std::string, std::string> out;
    archive* a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    EXPECT_EQ(archive_read_open_filename(a, file.c_str(), 1 << 16), ARCHIVE_OK);
    archive_entry* e = nullptr;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        std::string name = archive_entry_pathname(e);
        EXPECT_EQ(archive_entry_mtime(e), 0) << name;
        EXPECT_EQ(archive_entry_uid(e), 0) << name;
        if (archive_entry_filetype(e) == AE_IFDIR) {
            out[name] = "<dir>";
        } else if (archive_entry_filetype(e) == AE_IFLNK) {
            out[name] = std::string("-> ") + archive_entry_symlink(e);
        } else {
            std::string content(static_cast<std::size_t>(archive_entry_size(e)), '\0');
            archive_read_data(a, content.data(), content.size());
            out[name] = content + ((archive_entry_perm(e) & 0100) ? " (x)" : "");
        }
    }
    archive_read_free(a);
    return out;
}

TEST(LayerWriter, SameContentSameDigestWhateverTheMtimes) {
    testing::TempDir dir;
    make_context(dir / "one", 3);
    make_context(dir / "two", 40);  // another day, another directory
    auto layout = ImageLayout::create(dir / "img");
    ASSERT_TRUE(layout);
    auto first = write_layer(*layout, {dir / "one", "app", {"*.log"}});
    auto second = write_layer(*layout, {dir / "two", "app", {"*.log"}});
    ASSERT_TRUE(first) << first.error().message;
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_EQ(first->blob.digest, second->blob.digest);
    EXPECT_EQ(first->diff_id, second->diff_id);
    EXPECT_NE(first->blob.digest, first->diff_id);
    EXPECT_TRUE(layout->verify_blob(first->blob));

    // Different content: a different layer.
    std::ofstream(dir / "two" / "app.py") << "print('bye')\n";
    auto third = write_layer(*layout, {dir / "two", "app", {"*.log"}});
    ASSERT_TRUE(third);
    EXPECT_NE(third->blob.digest, first->blob.digest);
}

TEST(LayerWriter, ContentAndIgnorePatterns) {
    testing::TempDir dir;
    make_context(dir / "ctx", 1);
    std::ofstream(dir / "ctx" / ".dockerignore") << "# comment\n/src/deep/\n";
    auto layout = ImageLayout::create(dir / "img");
    ASSERT_TRUE(layout);
    auto layer = write_layer(*layout, {dir / "ctx", "/srv/app/", {"*.log", "!keep.log"}});
    ASSERT_TRUE(layer) << layer.error().message;
    auto entries = read_layer(layout->blob_path(layer->blob.digest));
    std::map<std::string, std::string> expected = {
        {"srv", "<dir>"},
        {"srv/app", "<dir>"},
        {"srv/app/.dockerignore", "# comment\n/src/deep/\n"},
        {"srv/app/app.py", "print('hi')\n"},
        {"srv/app/link.py", "-> app.py"},
        {"srv/app/run.sh", "#!/bin/sh\n (x)"},
        {"srv/app/src", "<dir>"},
        {"srv/app/src/model.py", "weights = 1\n"},
    };
    // libarchive may write directories with a trailing slash.
    std::map<std::string, std::string> normalised;
    for (auto& [k, v] : entries) normalised[k.ends_with("/") ? k.substr(0, k.size() - 1) : k] = v;
    EXPECT_EQ(normalised, expected);
    EXPECT_EQ(layer->entries, expected.size());

    auto patterns = ignore_patterns(dir / "ctx", {"*.log"});
    auto listed = context_entries(dir / "ctx", patterns);
    ASSERT_TRUE(listed);
    EXPECT_TRUE(std::is_sorted(listed->begin(), listed->end()));
    EXPECT_EQ(std::count(listed->begin(), listed->end(), ".git/HEAD"), 0);
    EXPECT_FALSE(context_entries(dir / "missing", patterns));
}

}  // namespace
}  // namespace sluice::oci
