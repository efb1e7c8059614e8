// Remembered runs (see run_memo.hpp). The file is a compact binary record (read at
// every run, so no JSON/CBOR tree of 10,000 paths is built): a format line, the cache
// generation, then the stages; integers little-endian, strings length-prefixed. Any
// inconsistency while reading makes the memo empty.
#include "runner/engine/run_memo.hpp"

#include <fcntl.h>

#include <limits>

#include "runner/util/atomic_file.hpp"
#include "runner/util/byte_codec.hpp"
#include "runner/util/executable_identity.hpp"
#include "runner/util/keep_newest.hpp"
#include "runner/util/read_whole_file.hpp"
#include "runner/util/sha256.hpp"

namespace sluice::engine {
namespace {

constexpr std::string_view k_format = "sluice-run-memo 2\n";
constexpr std::int64_t k_billion = 1'000'000'000;

// Nanoseconds since the epoch, saturated (a time that cannot be represented is "late").
std::int64_t ns_of(const struct timespec& t) {
    constexpr std::int64_t k_max = std::numeric_limits<std::int64_t>::max();
    if (t.tv_sec >= k_max / k_billion || t.tv_sec <= -(k_max / k_billion)) return k_max;
    return t.tv_sec * k_billion + t.tv_nsec;
}

using Writer = util::ByteWriter;
using Reader = util::ByteReader;

void write_check(Writer& w, const PathCheck& c) {
    w.str(c.path);
    w.u64((c.listed ? 1U : 0U) | (c.present ? 2U : 0U));
    w.u64(c.dev);
    w.u64(c.ino);
    w.u64(c.size);
    w.u64(c.mode);
    w.u64(static_cast<std::uint64_t>(c.mtime_ns));
    w.u64(static_cast<std::uint64_t>(c.ctime_ns));
}

PathCheck read_check(Reader& r) {
    PathCheck c;
    c.path = r.str();
    auto flags = r.u64();
    c.listed = (flags & 1U) != 0;
    c.present = (flags & 2U) != 0;
    c.dev = r.u64();
    c.ino = r.u64();
    c.size = r.u64();
    c.mode = static_cast<std::uint32_t>(r.u64());
    c.mtime_ns = r.i64();
    c.ctime_ns = r.i64();
    return c;
}

void write_stage(Writer& w, const StageMemo& m) {
    w.str(m.stage);
    w.str(m.key);
    w.u64(m.needs.size());
    for (const auto& [need, key] : m.needs) {
        w.str(need);
        w.str(key);
    }
    w.u64(m.lookups.size());
    for (const auto& [name, value] : m.lookups) {
        w.str(name);
        w.u64(value ? 1 : 0);
        w.str(value.value_or(""));
    }
    w.u64(m.checks.size());
    for (const auto& c : m.checks) write_check(w, c);
    w.u64(static_cast<std::uint64_t>(m.entry.run_id));
    w.str(m.entry.stage_outputs.dump());
    w.u64(m.entry.paths.size());
    for (const auto& p : m.entry.paths) {
        w.str(p.path);
        w.str(cache::type_name(p.type));
        w.str(p.digest);
        w.u64(p.size);
        w.u64(p.executable ? 1 : 0);
        w.str(p.target);
    }
}

bool read_stage(Reader& r, StageMemo& m) {
    constexpr std::size_t k_min_string = 8;
    m.stage = r.str();
    m.key = r.str();
    for (auto n = r.count(2 * k_min_string); n > 0; --n) {
        auto need = r.str();
        m.needs.emplace_back(std::move(need), r.str());
    }
    for (auto n = r.count(3 * k_min_string); n > 0; --n) {
        auto name = r.str();
        bool known = r.u64() != 0;
        auto value = r.str();
        m.lookups.emplace_back(std::move(name), known ? std::optional(std::move(value)) : std::nullopt);
    }
    auto checks = r.count(8 * k_min_string);
    m.checks.reserve(checks);
    for (; checks > 0; --checks) m.checks.push_back(read_check(r));
    m.entry.key = m.key;
    m.entry.stage = m.stage;
    m.entry.run_id = r.i64();
    auto outputs = nlohmann::json::parse(r.str(), nullptr, false);
    if (outputs.is_discarded() || !outputs.is_object()) return false;
    m.entry.stage_outputs = std::move(outputs);
    for (auto n = r.count(6 * k_min_string); n > 0; --n) {
        cache::CachedPath p;
        p.path = r.str();
        auto type = cache::parse_type(r.str());
        if (!type) return false;
        p.type = *type;
        p.digest = r.str();
        p.size = r.u64();
        p.executable = r.u64() != 0;
        p.target = r.str();
        m.entry.paths.push_back(std::move(p));
    }
    return r.ok();
}

}  // namespace

std::optional<PathCheck> path_check(const SeenPath& seen, std::int64_t trusted_before_ns) {
    PathCheck c;
    c.path = seen.path;
    c.listed = seen.listed;
    c.present = seen.present;
    if (!seen.present) return c;
    c.dev = seen.st.st_dev;
    c.ino = seen.st.st_ino;
    c.size = static_cast<std::uint64_t>(seen.st.st_size);
    c.mode = seen.st.st_mode;
    c.mtime_ns = ns_of(seen.st.st_mtim);
    c.ctime_ns = ns_of(seen.st.st_ctim);
    if (c.mtime_ns >= trusted_before_ns || c.ctime_ns >= trusted_before_ns) return std::nullopt;
    return c;
}

bool still_holds(const PathCheck& check, int workspace_fd) {
    struct stat st {};
    const char* path = check.path.empty() ? "." : check.path.c_str();
    int rc = ::fstatat(workspace_fd, path, &st, check.listed ? 0 : AT_SYMLINK_NOFOLLOW);
    bool present = rc == 0 && (!check.listed || S_ISDIR(st.st_mode));
    if (!check.present) {
        // Not there (or, for a listing, not a directory): it must still be so; any other
        // failure (EACCES, ...) is not the same answer.
        return rc == 0 ? !present : (errno == ENOENT || errno == ENOTDIR);
    }
    return present && st.st_dev == check.dev && st.st_ino == check.ino &&
           static_cast<std::uint64_t>(st.st_size) == check.size && st.st_mode == check.mode &&
           ns_of(st.st_mtim) == check.mtime_ns && ns_of(st.st_ctim) == check.ctime_ns;
}

std::filesystem::path RunMemo::file_for(const std::filesystem::path& dir,
                                        std::string_view pipeline_digest,
                                        const std::filesystem::path& workspace) {
    std::string identity = util::executable_identity();
    if (identity.empty()) return {};
    util::Sha256 hash;
    for (std::string_view part : {k_format, std::string_view(identity), pipeline_digest,
                                  std::string_view(workspace.native())}) {
        hash.update(std::to_string(part.size()));
        hash.update(":");
        hash.update(part);
    }
    return dir / (util::digest_hex(hash.finish()) + ".memo");
}

RunMemo RunMemo::load(const std::filesystem::path& file, const std::string& generation) {
    RunMemo memo;
    auto bytes = util::read_whole_file(file);
    if (!bytes || !std::string_view(*bytes).starts_with(k_format)) return memo;
    Reader r(std::string_view(*bytes).substr(k_format.size()));
    if (r.str() != generation || !r.ok()) return memo;
    memo.touched_ms_ = r.i64();
    auto stages = r.count(8);
    memo.stages_.reserve(stages);
    memo.by_stage_.reserve(stages);
    for (auto n = stages; n > 0; --n) {
        StageMemo stage;
        if (!read_stage(r, stage)) return RunMemo();
        memo.add(std::move(stage));
    }
    if (!r.ok() || !r.at_end()) return RunMemo();
    return memo;
}

const StageMemo* RunMemo::find(std::string_view stage) const {
    auto it = by_stage_.find(stage);
    return it == by_stage_.end() ? nullptr : &stages_[it->second];
}

void RunMemo::add(StageMemo memo) {
    auto [it, added] = by_stage_.try_emplace(memo.stage, stages_.size());
    if (added) {
        stages_.push_back(std::move(memo));
    } else {
        stages_[it->second] = std::move(memo);
    }
}

util::Status RunMemo::save(const std::filesystem::path& file, const std::string& generation) const {
    Writer w;
    w.bytes().append(k_format);
    w.str(generation);
    w.u64(static_cast<std::uint64_t>(touched_ms_));
    w.u64(stages_.size());
    for (const auto& stage : stages_) write_stage(w, stage);
    auto written = util::write_file_atomically(file, w.bytes());
    if (written) util::keep_newest(file.parent_path(), ".memo", k_remembered_runs);
    return written;
}

}  // namespace sluice::engine
