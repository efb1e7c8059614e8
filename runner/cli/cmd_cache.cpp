// `sluice cache ls | gc`: what the stage cache holds, and keeping it bounded.
#include <iostream>

#include "runner/cache/byte_size.hpp"
#include "runner/cache/cache_gc.hpp"
#include "runner/cache/cache_generation.hpp"
#include "runner/cli/commands.hpp"
#include "runner/util/clock.hpp"

namespace sluice::cli {
namespace {

struct OpenCache {
    cache::ObjectStore objects;
    cache::CacheIndex index;
    std::filesystem::path root;  // STATE/cache
};

util::Result<OpenCache> open_cache(const GlobalOptions& global) {
    auto session = open_session(global, std::filesystem::current_path());
    if (!session) return std::unexpected(session.error());
    auto root = session->state.cache_dir();
    auto objects = cache::ObjectStore::open(root);
    if (!objects) return std::unexpected(objects.error());
    auto index = cache::CacheIndex::open(root / "cache.db");
    if (!index) return std::unexpected(index.error());
    return OpenCache{std::move(*objects), std::move(*index), root};
}

int list_cache(const GlobalOptions& global, bool json) {
    auto c = open_cache(global);
    if (!c) return report_error(c.error());
    auto entries = c->index.list();
    if (!entries) return report_error(entries.error());
    auto size = cache::cache_size(c->index, c->objects);
    if (!size) return report_error(size.error());
    if (json) {
        nlohmann::json out = {{"entries", nlohmann::json::array()},
                              {"objects", size->objects},
                              {"bytes", size->bytes}};
        for (const auto& e : *entries) {
            std::uint64_t bytes = 0;
            for (const auto& p : e.paths) bytes += p.size;
            out["entries"].push_back({{"key", e.key}, {"pipeline", e.pipeline}, {"stage", e.stage},
                                      {"run", e.run_id}, {"created_ms", e.created_ms},
                                      {"used_ms", e.used_ms}, {"paths", e.paths.size()},
                                      {"bytes", bytes}});
        }
        std::cout << out.dump(2) << "\n";
        return util::exit_status::k_ok;
    }
    std::cout << "KEY           PIPELINE/STAGE                 RUN  PATHS  SIZE        LAST USED\n";
    for (const auto& e : *entries) {
        std::uint64_t bytes = 0;
        for (const auto& p : e.paths) bytes += p.size;
        std::string name = e.pipeline + "/" + e.stage;
        std::printf("%-13s %-30s %4lld  %5zu  %-10s  %s\n", e.key.substr(0, 12).c_str(),
                    name.c_str(), static_cast<long long>(e.run_id), e.paths.size(),
                    cache::format_size(bytes).c_str(), local_time(e.used_ms).c_str());
    }
    std::fflush(stdout);
    std::cout << size->entries << " entries, " << size->objects << " objects, "
              << cache::format_size(size->bytes) << "\n";
    return util::exit_status::k_ok;
}

int gc_cache(const GlobalOptions& global, int keep, const std::string& max_size) {
    cache::GcPolicy policy;
    policy.keep_per_stage = keep;
    policy.now_ms = util::SystemClock().epoch_ms();
    if (!max_size.empty()) {
        auto bytes = cache::parse_size(max_size);
        if (!bytes) {
            return report_error({util::ErrorCode::bad_input, "--max-size: " + bytes.error().message, {}});
        }
        policy.max_bytes = *bytes;
    }
    auto c = open_cache(global);
    if (!c) return report_error(c.error());
    auto report = cache::gc(c->index, c->objects, policy);
    // Remembered runs must not vouch for entries gc removed (even when it stopped halfway).
    auto moved_on = cache::next_generation(c->root);
    if (!report) return report_error(report.error());
    if (!moved_on) return report_error(moved_on.error());
    std::cout << "removed " << report->entries_removed << " entries and " << report->objects_removed
              << " objects (" << cache::format_size(report->bytes_freed) << "), kept "
              << cache::format_size(report->bytes_kept) << "\n";
    return util::exit_status::k_ok;
}

}  // namespace

void add_cache_command(CLI::App& app, const GlobalOptions& global, int& exit_status) {
    auto* cmd = app.add_subcommand("cache", "The stage cache: list it, keep it bounded");
    cmd->require_subcommand(1);

    auto* ls = cmd->add_subcommand("ls", "List cached stage results, most recently used first");
    auto json = std::make_shared<bool>(false);
    ls->add_flag("--json", *json, "JSON instead of a table");
    ls->callback([&global, &exit_status, json] { exit_status = list_cache(global, *json); });

    auto* gc = cmd->add_subcommand("gc", "Drop old cached results and the objects nothing uses");
    auto keep = std::make_shared<int>(-1);
    auto max_size = std::make_shared<std::string>();
    gc->add_option("--keep", *keep, "Keep this many most recently used results per stage")
        ->check(whole_number());
    gc->add_option("--max-size", *max_size,
                   "Then drop the least recently used until the cache is at most this big (500M, 10G)");
    gc->callback([&global, &exit_status, keep, max_size] {
        exit_status = gc_cache(global, *keep, *max_size);
    });
}

}  // namespace sluice::cli
