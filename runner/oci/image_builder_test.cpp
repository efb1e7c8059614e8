// The built-in image builder is reproducible: the same context and settings give the same
// image digest, whatever the files' mtimes and wherever the layout is written; another
// label gives another image with the same layer.
#include "runner/oci/image_builder.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "runner/testing/temp_dir.hpp"

namespace sluice::oci {
namespace {

// Never called: a scratch base needs no registry.
class NoHttp final : public http::HttpClient {
public:
    util::Result<http::Response> send(const http::Request&) override {
        return util::fail(util::ErrorCode::unavailable, "no network in this test");
    }
};

void make_context(const std::filesystem::path& dir, int days_ago) {
    std::filesystem::create_directories(dir / "service");
    std::ofstream(dir / "service" / "app.py") << "print('serving')\n";
    std::ofstream(dir / "model.pkl") << "model bytes";
    auto when = std::filesystem::file_time_type::clock::now() - std::chrono::hours(24 * days_ago);
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
        std::filesystem::last_write_time(e.path(), when);
    }
    std::filesystem::last_write_time(dir, when);
}

BuildSpec spec_for(const std::filesystem::path& context, const std::filesystem::path& layout) {
    BuildSpec spec;
    spec.stage = "image";
    spec.workspace = context;
    spec.context = context;
    spec.tag = "127.0.0.1:5000/churn:abc1234";
    spec.ref_name = "abc1234";
    spec.settings.workdir = "/app";
    spec.settings.cmd = nlohmann::json::array({"python3", "-m", "uvicorn", "app:app"});
    spec.settings.env = {{"MODEL_PATH", "/app/model.pkl"}};
    spec.settings.labels = {{"org.opencontainers.image.revision", "abc1234"}, {"sluice.run", "7"}};
    spec.layout = layout;
    spec.run_id = "7";
    return spec;
}

TEST(ImageBuilder, TheSameInputsOnDifferentDaysGiveTheSameImage) {
    testing::TempDir dir;
    make_context(dir / "monday", 1);
    make_context(dir / "friday", 5);
    NoHttp http;
    auto quiet = [](const std::string&) {};
    auto first = build_image(spec_for(dir / "monday", dir / "a"), http, quiet);
    auto second = build_image(spec_for(dir / "friday", dir / "b"), http, quiet);
    ASSERT_TRUE(first) << first.error().message;
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_EQ(first->manifest.digest, second->manifest.digest);
    EXPECT_EQ(first->layer, second->layer);
    EXPECT_EQ(first->files, second->files);

    // Another run's label: another image, the same layer.
    auto relabelled = spec_for(dir / "friday", dir / "c");
    relabelled.settings.labels["sluice.run"] = "8";
    auto third = build_image(relabelled, http, quiet);
    ASSERT_TRUE(third) << third.error().message;
    EXPECT_NE(third->manifest.digest, first->manifest.digest);
    EXPECT_EQ(third->layer, first->layer);
}

}  // namespace
}  // namespace sluice::oci
