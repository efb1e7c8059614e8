// Tests of reading OCI image layouts and unpacking their layers into a root.
#include "runner/deploy/oci_image.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "runner/deploy/layer_unpack.hpp"
#include "runner/deploy/oci_layout_test_support.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice::deploy {
namespace {

using test_support::LayerEntry;
using test_support::write_layout;

nlohmann::json settings() {
    return {{"Entrypoint", {"python3"}},
            {"Cmd", {"/app/server.py", "--verbose"}},
            {"Env", {"PATH=/usr/local/bin:/usr/bin:/bin", "MODEL_PATH=/app/model.pkl", "EMPTY="}},
            {"WorkingDir", "/app"}};
}

TEST(OciImage, ReadsTheConfigAndLayersOfALayout) {
    testing::TempDir dir;
    std::string digest = write_layout(
        dir / "layout", {{{"app/", "", 0755, ""}}, {{"app/x", "x", 0644, ""}}}, settings());
    auto image = read_oci_layout(dir / "layout");
    ASSERT_TRUE(image) << image.error().message;
    EXPECT_EQ(image->digest, digest);
    EXPECT_EQ(image->entrypoint, std::vector<std::string>{"python3"});
    EXPECT_EQ(image->cmd, (std::vector<std::string>{"/app/server.py", "--verbose"}));
    ASSERT_EQ(image->env.size(), 3u);
    EXPECT_EQ(image->env[1], (std::pair<std::string, std::string>{"MODEL_PATH", "/app/model.pkl"}));
    EXPECT_EQ(image->env[2].second, "");
    EXPECT_EQ(image->working_dir, "/app");
    ASSERT_EQ(image->layers.size(), 2u);
    EXPECT_EQ(image->layers[0].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
}

TEST(OciImage, ADirectoryWithoutALayoutIsAClearError) {
    testing::TempDir dir;
    std::filesystem::create_directories(dir / "empty");
    auto image = read_oci_layout(dir / "empty");
    ASSERT_FALSE(image);
    EXPECT_EQ(image.error().code, util::ErrorCode::bad_input);
    EXPECT_EQ(image.error().message,
              (dir / "empty").string() + " is not an OCI image layout (no oci-layout file)");
}

TEST(OciImage, ADamagedLayerIsRefused) {
    testing::TempDir dir;
    write_layout(dir / "layout", {{{"a", "a", 0644, ""}}}, settings());
    auto image = read_oci_layout(dir / "layout");
    ASSERT_TRUE(image);
    std::ofstream(image->layers[0].blob, std::ios::app) << "tampered";
    auto again = read_oci_layout(dir / "layout");
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message.find("does not match its digest"), std::string::npos)
        << again.error().message;
}

TEST(LayerUnpack, LayersStackWithWhiteoutsModesAndSymlinks) {
    testing::TempDir dir;
    write_layout(dir / "layout",
                 {{{"app/", "", 0755, ""},
                   {"app/server.py", "print('v1')\n", 0755, ""},
                   {"app/old.txt", "old", 0644, ""},
                   {"data/", "", 0755, ""},
                   {"data/a", "a", 0644, ""},
                   {"data/b", "b", 0644, ""}},
                  {{"app/.wh.old.txt", "", 0644, ""},
                   {"app/server.py", "print('v2')\n", 0755, ""},
                   {"data/c", "c", 0644, ""},
                   {"data/.wh..wh..opq", "", 0644, ""},
                   {"app/link", "", 0777, "server.py"}}},
                 settings());
    auto image = read_oci_layout(dir / "layout");
    ASSERT_TRUE(image) << image.error().message;
    auto root = dir / "root";
    auto done = unpack_image(*image, root);
    ASSERT_TRUE(done) << done.error().message;
    EXPECT_EQ(testing::read_file(root / "app/server.py"), "print('v2')\n");
    EXPECT_FALSE(std::filesystem::exists(root / "app/old.txt"));      // whiteout
    EXPECT_FALSE(std::filesystem::exists(root / "app/.wh.old.txt"));  // markers are not written
    EXPECT_FALSE(std::filesystem::exists(root / "data/a"));           // opaque: lower layers' gone
    EXPECT_FALSE(std::filesystem::exists(root / "data/.wh..wh..opq"));
    EXPECT_EQ(testing::read_file(root / "data/c"), "c");  // its own layer's kept
    EXPECT_EQ(std::filesystem::read_symlink(root / "app/link"), "server.py");
    struct stat st {};
    ASSERT_EQ(::stat((root / "app/server.py").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0755u);
}

TEST(LayerUnpack, AnEntryLeavingTheRootIsRefused) {
    testing::TempDir dir;
    write_layout(dir / "layout", {{{"../escaped", "x", 0644, ""}}}, settings());
    auto image = read_oci_layout(dir / "layout");
    ASSERT_TRUE(image);
    auto done = unpack_image(*image, dir / "root");
    ASSERT_FALSE(done);
    EXPECT_NE(done.error().message.find("outside the image root"), std::string::npos)
        << done.error().message;
    EXPECT_FALSE(std::filesystem::exists(dir / "escaped"));
}

TEST(LayerUnpack, NothingIsWrittenThroughASymlink) {
    testing::TempDir dir;
    std::filesystem::create_directories(dir / "outside");
    write_layout(dir / "layout",
                 {{{"out", "", 0777, (dir / "outside").string()}, {"out/file", "x", 0644, ""}}},
                 settings());
    auto image = read_oci_layout(dir / "layout");
    ASSERT_TRUE(image);
    // libarchive removes the symlink in the way (SECURE_SYMLINKS with UNLINK) and writes
    // the file inside the root.
    auto done = unpack_image(*image, dir / "root");
    EXPECT_TRUE(done) << done.error().message;
    EXPECT_FALSE(std::filesystem::exists(dir / "outside/file"));
    EXPECT_FALSE(std::filesystem::is_symlink(dir / "root/out"));
    EXPECT_EQ(testing::read_file(dir / "root/out/file"), "x");
}

}  // namespace
}  // namespace sluice::deploy
