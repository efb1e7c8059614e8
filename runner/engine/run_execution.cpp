// The run loop: start what the scheduler allows, record what happens, until done.
#include "runner/engine/run_execution.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "runner/cache/cache_generation.hpp"
#include "runner/engine/expression_values.hpp"
#include "runner/engine/promotion.hpp"
#include "runner/engine/stage_outputs.hpp"
#include "runner/exec/log_writer.hpp"
#include "runner/pipeline/expressions.hpp"
#include "runner/pipeline/model_names.hpp"
#include "stages/environment_guard.hpp"

namespace sluice::engine {

using namespace std::chrono_literals;

namespace {
// How often the loop wakes while stages run, so the live view's timers move.
constexpr auto k_tick = 250ms;
// Remembered stages recorded in one go by the loop (see execute).
constexpr std::size_t k_cached_per_record = 64;

void set_var(exec::Environment& env, const std::string& key, std::string value) {
    for (auto& [k, v] : env) {
        if (k == key) {
            v = std::move(value);
            return;
        }
    }
    env.emplace_back(key, std::move(value));
}

const std::string* find_var(const exec::Environment& env, const std::string& key) {
    for (const auto& [k, v] : env) {
        if (k == key) return &v;
    }
    return nullptr;
}
}  // namespace

struct RunExecution::Slot {
    bool included = true;
    bool recorded = false;   // its final state is in the store
    bool active = false;     // a process is running for it
    exec::ProcessId process = 0;
    std::unique_ptr<exec::LogWriter> log;   // opened on the first output
    std::optional<util::Error> log_error;   // the log could not be written
    std::unique_ptr<stages::StageContext> context;
    nlohmann::json outputs = nlohmann::json::object();
    report::StageFinished record;
    util::SteadyTime started{};
    std::optional<StageKey> key;            // a cacheable stage's cache key
    std::optional<cache::CacheEntry> from;  // the entry its result came from
    std::string result_key;                 // what dependents' keys see of it
    std::optional<StageMemo> memo;          // what its cached result rested on (run_memo.hpp)
    const StageMemo* remembered = nullptr;  // taken from the last run's memo (memo())
    bool begun = false;                     // its start is recorded (not when cached)
};

RunExecution::RunExecution(EngineDeps& deps, const pipeline::Pipeline& pipeline, RunFacts facts,
                           std::vector<StageStart> starts)
    : deps_(deps),
      pipeline_(pipeline),
      facts_(std::move(facts)),
      scheduler_(
          [&] {
              std::vector<sched::StagePolicy> policies;
              for (const auto& stage : pipeline.stages) {
                  sched::StagePolicy p;
                  for (const auto& need : stage.needs) p.needs.push_back(pipeline.index_of(need));
                  auto retry = pipeline.retry_of(stage);
                  p.retries = retry.max;
                  p.retry_delay = retry.delay;
                  p.retry_max_delay = retry.max_delay;
                  p.allow_failure = stage.allow_failure;
                  policies.push_back(std::move(p));
              }
              return policies;
          }(),
          facts_.jobs),
      reports_(deps.reporter),
      candidates_(deps.state.root),
      cache_(deps.state.cache_dir(), deps.state.root) {
    for (std::size_t i = 0; i < pipeline.stages.size(); ++i) {
        auto slot = std::make_unique<Slot>();
        const StageStart& start = starts[i];
        slot->included = start.included;
        slot->record = start.record;
        slot->record.stage = pipeline.stages[i].name;
        slot->record.allow_failure = pipeline.stages[i].allow_failure;
        int s = static_cast<int>(i);
        if (!start.included) {
            scheduler_.exclude(s);
        } else if (start.preset) {
            scheduler_.preset(s, *start.preset, start.reason);
            slot->outputs = start.outputs;
            slot->recorded = true;
        }
        slots_.push_back(std::move(slot));
    }
}

RunExecution::~RunExecution() = default;

void RunExecution::check(const util::Status& status) {
    if (status || store_error_) return;
    store_error_ = status.error();
    if (!cancelling_) cancel("the run store failed: " + status.error().message);
}

void RunExecution::commit(util::Status committed) {
    check(committed);
    // A failed commit is reported too (what the stages did), followed by the run's end,
    // failed with the store's error.
    reports_.deliver();
}

util::Result<RunEnd> RunExecution::execute() {
    auto run_start = deps_.clock.now();
    remembered_ = std::move(facts_.remembered);  // started early by the command line
    if (facts_.use_cache && !facts_.resumed && !facts_.pipeline_digest.empty()) {
        RememberedRun::Key key{cache_.root(), facts_.pipeline_digest, facts_.workspace};
        if (!remembered_ || remembered_->key() != key) {
            remembered_ = std::make_shared<RememberedRun>(std::move(key), facts_.jobs > 1);
        }
        touch_remembered_ = deps_.clock.epoch_ms() - memo().touched_ms() >=
                            cache::CacheIndex::k_touch_resolution_ms;
        auto now = std::chrono::milliseconds(deps_.clock.epoch_ms());
        trusted_before_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 now - cache::FileDigests::k_timestamp_slack).count();
    } else {
        remembered_.reset();
    }
    // The loop's writes of one wake-up (stages that ended, stages started) are one
    // transaction, committed before the loop waits again: a commit per wake-up instead
    // of two per stage, and none between a stage's end and the start of the next. What
    // the batch records is reported after its commit (reports_): a stage shown passed is
    // in the store, even if the runner is killed the moment the line is read.
    deps_.store.begin_batch();
    struct EndBatch {
        store::Store& store;
        ~EndBatch() { (void)store.end_batch(); }  // only on an early exit (exceptions)
    } end_batch{deps_.store};
    int planned = 0;
    for (const auto& slot : slots_) planned += slot->included ? 1 : 0;
    std::string sha = facts_.commit ? facts_.commit->sha : "";
    deps_.reporter.run_started({facts_.id, pipeline_.name, sha, facts_.event, planned,
                                facts_.resumed});
    check(deps_.store.add_event(facts_.id, "", facts_.resumed ? "run_resumed" : "run_started",
                                {{"stages", planned}, {"jobs", facts_.jobs}}));

    while (true) {
        if (!cancelling_ && deps_.runner.stop_requested()) cancel("cancelled by a signal");
        bool started = false;
        if (!cancelling_) {
            for (int s : scheduler_.take_ready(deps_.clock.now())) {
                start_stage(s);
                started = true;
            }
            // Recorded a few dozen at a time rather than all before the next wait: the
            // memo's checks of the stages after them go on meanwhile (RememberedRun).
            if (pending_cached_.size() >= k_cached_per_record) flush_cached();
        }
        if (scheduler_.done() && deps_.runner.running() == 0) break;
        if (scheduler_.stalled() && deps_.runner.running() == 0) break;  // approvals due
        if (started && deps_.runner.running() == 0) continue;  // all concluded at once
        std::optional<util::SteadyTime> deadline = scheduler_.next_wakeup();
        if (deps_.runner.running() > 0) {
            auto tick = deps_.clock.now() + k_tick;
            if (!deadline || tick < *deadline) deadline = tick;
        } else if (!deadline) {
            // Nothing runs, nothing is due, yet stages remain: cannot happen with a
            // validated DAG; stop rather than spin.
            cancel("internal error: no stage can start");
            continue;
        }
        // Remembered stages concluded since (they free their job slot at once, so one
        // wake-up may take many rounds of them).
        flush_cached();
        commit(deps_.store.flush_batch());
        deps_.runner.wait_until(deadline);
        deps_.reporter.tick();
    }
    flush_cached();
    commit(deps_.store.end_batch());
    (void)cache_.save();  // remembered digests only: a lost save costs a re-hash
    save_memo();

    std::string status = cancelling_              ? "cancelled"
                         : scheduler_.succeeded() ? "passed"
                                                  : "failed";
    if (!cancelling_ && scheduler_.waiting() > 0) {
        if (scheduler_.failed_any()) {
            // Nothing will be approved on a failed run: what waits is skipped.
            for (std::size_t i = 0; i < slots_.size(); ++i) {
                auto state = scheduler_.state(static_cast<int>(i));
                if (!slots_[i]->included ||
                    (state != sched::State::waiting && state != sched::State::pending)) {
                    continue;
                }
                auto& rec = slots_[i]->record;
                rec.stage = pipeline_.stages[i].name;
                rec.status = "skipped";
                rec.reason = state == sched::State::waiting
                                 ? "the run failed before the approval"
                                 : "the run failed while it waited for an approval";
                check(deps_.store.set_stage_status(facts_.id, rec.stage, rec.status, rec.reason));
            }
        } else {
            status = "waiting";
        }
    }
    if (store_error_) status = "failed";
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deps_.clock.now() - run_start);
    check(deps_.store.finish_run(facts_.id, status));
    check(deps_.store.add_event(facts_.id, "", "run_finished",
                                {{"status", status}, {"duration_ms", ms.count()}}));
    if (!store_error_) {
        // The history into the main file, so the file alone (a copy, or beside a lost
        // WAL) holds this run. Its end is committed already: a failed checkpoint loses
        // nothing, the WAL keeps it.
        (void)deps_.store.checkpoint();
    }
    report::RunFinished end{facts_.id, status, ms.count(), {}, std::nullopt, {}};
    if (store_error_) {
        // Say what the store holds instead, read back (reads work on a full disk).
        end.store_error = store_error_->message;
        auto stored = deps_.store.find_run(facts_.id);
        end.stored_status = stored && *stored ? (*stored)->status : "unknown (unreadable)";
    }
    end.stages.reserve(slots_.size());
    for (const auto& slot : slots_) {  // the run is over: its records move to the summary
        if (slot->included) end.stages.push_back(std::move(slot->record));
    }
    deps_.reporter.run_finished(end);
    if (store_error_) {
        auto error = *store_error_;
        error.message = "the run could not be recorded in full (the store says " +
                        end.stored_status + "; `sluice runs`, `show` and `logs` still read it): " +
                        error.message;
        return std::unexpected(std::move(error));
    }
    return RunEnd{facts_.id, status};
}

void RunExecution::start_stage(int s) {
    Slot& slot = *slots_[static_cast<std::size_t>(s)];
    const pipeline::Stage& stage = pipeline_.stages[static_cast<std::size_t>(s)];
    // What this stage records comes after what the stages before it recorded.
    if (stage.approval || memo().find(stage.name) == nullptr) flush_cached();
    if (stage.approval) {
        auto approved = approval_given(stage);
        if (!approved) {
            check(util::Status(std::unexpected(approved.error())));
        } else if (!*approved) {
            return hold_for_approval(s);
        }
    }
    int attempt = scheduler_.attempts(s);
    slot.record = {};
    slot.record.stage = stage.name;
    slot.record.attempt = attempt;
    slot.record.allow_failure = stage.allow_failure;
    slot.started = deps_.clock.now();
    slot.outputs = nlohmann::json::object();
    slot.key.reset();
    slot.from.reset();
    slot.result_key.clear();
    slot.memo.reset();
    slot.remembered = nullptr;

    // A stage whose result comes from the cache is recorded and shown only as `cached`;
    // every other stage is started first (before it fails, too).
    slot.begun = false;
    auto fail = [&](std::string reason) {
        record_start(s);
        conclude(s, false, std::move(reason), nullptr, {});
    };

    if (attempt > 1 || facts_.resumed) {
        // What an earlier attempt wrote (a new run's directory has nothing yet).
        std::error_code ec;
        std::filesystem::remove(deps_.state.output_file(facts_.id, stage.name), ec);
    }

    const stages::StageKind* kind = deps_.kinds.find(stage.kind);
    if (kind == nullptr) {
        return fail(std::string("this sluice cannot run stages of kind ") +
                    pipeline::to_string(stage.kind));
    }
    // A stage taken from the memo needs nothing resolved: what its key resolved was
    // checked against the memo (take_remembered).
    bool use_cache = cacheable(stage) && facts_.use_cache && stage.cache;
    if (use_cache && take_remembered(s)) return;
    std::vector<std::string> lines;
    for (const auto& line : stage.run) {
        auto resolved = resolve(s, line);
        if (!resolved) return fail(resolved.error().message);
        lines.push_back(std::move(*resolved));
    }
    auto config = resolve_json(s, stage.config);
    if (!config) return fail(config.error().message);
    if (cacheable(stage)) {
        flush_cached();
        if (auto keyed = compute_key(s); !keyed) return fail(keyed.error().message);
        if (use_cache) {
            auto taken = take_from_cache(s);
            if (!taken) return fail(taken.error().message);
            if (*taken) return;
        }
    }
    if (stage.kind == pipeline::StageKind::deploy) {
        // The one check of the writes this stage makes: its deploy, its promotion and the
        // environment's record all happen in this process after it, or not at all.
        auto guarded = stages::check_environment_writes(
            deps_.state.root, stages::environments_of_deploy(pipeline_, stage),
            [this](const std::string& name) -> std::optional<std::string> {
                for (const auto& [k, v] : deps_.runner_env) {
                    if (k == name) return v;
                }
                return std::nullopt;
            });
        if (!guarded) return fail(guarded.error().message);
        for (const auto& w : *guarded) deps_.reporter.warning(w);
    }
    // Only a stage that runs needs its whole environment (a cached one is done above).
    auto env = environment_for(s);
    if (!env) return fail(env.error().message);
    record_start(s);

    slot.context = std::make_unique<stages::StageContext>(stages::StageContext{
        pipeline_, stage, facts_.workspace, std::move(*env), std::move(lines),
        std::move(*config), pipeline_.timeout_of(stage), attempt, std::to_string(facts_.id),
        facts_.commit ? facts_.commit->sha : std::string(),
        facts_.commit ? facts_.commit->branch : std::string(), deps_.state.root,
        deps_.state.stage_dir(facts_.id, stage.name)});
    if (stage.kind == pipeline::StageKind::deploy) {
        slot.context->branches_with_commit = facts_.branches_with_commit;
        slot.context->uncommitted = facts_.uncommitted;
    }
    if (stage.kind == pipeline::StageKind::push) {
        // Only a push reads them (the image it sends): copying every upstream stage's
        // outputs into every stage's context would cost a chain of N stages N^2 copies.
        for (const pipeline::Stage* up : pipeline::upstream_stages(pipeline_, stage)) {
            auto i = static_cast<std::size_t>(up - pipeline_.stages.data());
            slot.context->upstream_outputs[up->name] = slots_[i]->outputs;
        }
    }
    workspace_changes();
    if (auto made = make_run_dirs(); !made) return fail(made.error().message);
    auto spec = kind->prepare(*slot.context);
    if (!spec) return conclude(s, false, spec.error().message, nullptr, {});
    if (!*spec) {
        auto result = kind->finish(*slot.context, nullptr);
        if (stage.kind == pipeline::StageKind::deploy) after_deploy(s, result);
        return conclude(s, result.ok, result.reason, nullptr, std::move(result.report));
    }

    slot.log.reset();
    slot.log_error.reset();
    slot.active = true;
    auto log_path = deps_.state.log_file(facts_.id, stage.name);
    slot.process = deps_.runner.start(
        **spec,
        [this, &slot, log_path, attempt](exec::Stream stream, std::string_view bytes) {
            // The log is created on the first output: a silent stage costs no file.
            if (!slot.log && !slot.log_error) {
                auto log = exec::LogWriter::open(log_path, attempt > 1);
                if (log) {
                    slot.log = std::make_unique<exec::LogWriter>(std::move(*log));
                } else {
                    slot.log_error = log.error();
                }
            }
            if (slot.log && !slot.log_error) {
                if (auto written = slot.log->write(stream, bytes); !written) {
                    slot.log_error = written.error();
                }
            }
            deps_.reporter.stage_output(slot.record.stage, stream == exec::Stream::err, bytes);
        },
        [this, s](exec::ProcessId, const exec::ProcessOutcome& outcome) { on_exit(s, outcome); });
}

void RunExecution::after_deploy(int s, stages::StageResult& result) {
    const pipeline::Stage& stage = pipeline_.stages[static_cast<std::size_t>(s)];
    std::vector<std::string> approved_by;
    if (auto decisions = deps_.store.decisions(facts_.id, stage.name)) {
        for (const auto& d : *decisions) {
            if (d.approve) approved_by.push_back(d.user);
        }
    }
    std::string run_id = std::to_string(facts_.id);
    std::string commit = facts_.commit ? facts_.commit->sha : std::string();
    store::Deployment record;
    record.environment = stage.environment.value_or("");
    record.run_id = facts_.id;
    record.stage = stage.name;
    record.commit = commit;
    record.branch = facts_.commit ? facts_.commit->branch : std::string();
    if (result.ok && stage.promote) {
        std::string actor = "sluice (run " + run_id + ")";
        if (!approved_by.empty()) {
            actor = "";
            for (const auto& a : approved_by) actor += (actor.empty() ? "" : ", ") + a;
        }
        const auto& rb = facts_.rollback;
        bool rolling_back = rb.is_object() && rb.contains("model_version");
        std::string back_to = rolling_back ? rb["model_version"].get<std::string>() : "";
        util::Result<nlohmann::json> promoted = nlohmann::json();  // nothing to move
        if (!rolling_back) {
            promoted = promote_candidate(pipeline_, stage, deps_.state.root, run_id, commit, actor);
        } else if (!back_to.empty()) {
            promoted = restore_version(pipeline_, stage, deps_.state.root, back_to, run_id, actor);
        }
        if (!promoted) {
            // Deployed, but the registry does not say so: the stage fails (fail closed).
            result.ok = false;
            result.reason = "deployed, but the promotion failed: " + promoted.error().message;
        } else if (!promoted->is_null()) {
            result.report["promotion"] = *promoted;
            record.model = stage.promote->model;
            record.model_version = (*promoted)["version"].get<std::string>();
        }
    }
    if (record.model_version.empty()) {
        // No promotion: the history still says which model it deployed when this run
        // logged exactly one candidate (a stage's `metrics:`).
        std::set<std::pair<std::string, std::string>> logged;
        for (const auto& other : slots_) {
            const nlohmann::json& report = other->record.report;
            if (!report.is_object() || !report.contains("candidates")) continue;
            for (const auto& c : report["candidates"]) {
                if (c.is_object() && c.value("model", "") != "" && c.value("version", "") != "") {
                    logged.emplace(c["model"].get<std::string>(), c["version"].get<std::string>());
                }
            }
        }
        if (logged.size() == 1) {
            record.model = logged.begin()->first;
            record.model_version = logged.begin()->second;
        }
    }
    record.reason = result.reason;
    if (facts_.rollback.is_object()) {
        result.report["rollback"] = facts_.rollback;
        if (record.reason.empty()) {
            record.reason = "rollback to the deployment of run " +
                            std::to_string(facts_.rollback.value("from_run", 0));
        }
    }
    record.approved_by = std::move(approved_by);
    record.status = result.ok ? "passed" : "failed";
    if (result.report.contains("image") && result.report["image"].is_string()) {
        record.image = result.report["image"].get<std::string>();
    }
    auto added = deps_.store.add_deployment(record);
    if (!added) check(util::Status(std::unexpected(added.error())));
    result.report["deployment"] = {{"environment", record.environment},
                                   {"approved_by", record.approved_by}};
    if (!record.image.empty()) result.report["deployment"]["image"] = record.image;
}

util::Result<bool> RunExecution::approval_given(const pipeline::Stage& stage) {
    auto request = deps_.store.approval_request(facts_.id, stage.name);
    if (!request) return std::unexpected(request.error());
    if (!*request) return false;
    auto decisions = deps_.store.decisions(facts_.id, stage.name);
    if (!decisions) return std::unexpected(decisions.error());
    int approvals = 0;
    for (const auto& d : *decisions) approvals += d.approve ? 1 : 0;
    return approvals >= (*request)->required;
}

void RunExecution::hold_for_approval(int s) {
    Slot& slot = *slots_[static_cast<std::size_t>(s)];
    const pipeline::Stage& stage = pipeline_.stages[static_cast<std::size_t>(s)];
    const pipeline::Approval& approval = *stage.approval;
    store::ApprovalRequest request;
    request.stage = stage.name;
    request.required = approval.required;
    request.approvers = approval.approvers;
    request.self_approval = approval.self_approval;
    request.timeout_ms = approval.timeout ? approval.timeout->count() : 0;
    request.environment = stage.environment.value_or("");
    check(deps_.store.request_approval(facts_.id, request));
    std::string reason = "waiting for " + std::to_string(approval.required) +
                         (approval.required == 1 ? " approval" : " approvals");
    scheduler_.hold(s, reason);
    slot.record.stage = stage.name;
    slot.record.status = "waiting";
    slot.record.reason = reason;
    slot.recorded = true;
    reports_.stage_finished(slot.record);
}

void RunExecution::on_exit(int s, const exec::ProcessOutcome& outcome) {
    Slot& slot = *slots_[static_cast<std::size_t>(s)];
    slot.active = false;
    if (slot.log) {
        if (auto closed = slot.log->close(); !closed && !slot.log_error) {
            slot.log_error = closed.error();
        }
        slot.log.reset();
    }
    const pipeline::Stage& stage = pipeline_.stages[static_cast<std::size_t>(s)];
    const stages::StageKind* kind = deps_.kinds.find(stage.kind);
    stages::StageResult result = kind->finish(*slot.context, &outcome);
    if (slot.log_error && result.ok) {
        // Output that could not be kept (disk full, ...) fails the stage: nothing passes
        // on a record that is not whole.
        result.ok = false;
        result.reason = "cannot write the stage's log: " + slot.log_error->message;
    }
    auto outputs = read_stage_outputs(deps_.state.output_file(facts_.id, stage.name));
    if (outputs) {
        slot.outputs = std::move(*outputs);
    } else if (result.ok) {
        result.ok = false;
        result.reason = outputs.error().message;
    }
    if (result.ok) {
        if (auto kept = keep_result(s); !kept) {
            result.ok = false;
            result.reason = kept.error().message;
        }
    }
    if (stage.kind == pipeline::StageKind::deploy) after_deploy(s, result);
    if (result.ok && stage.metrics) {
        auto logged = candidates_.log(pipeline_, stage, facts_.workspace, std::to_string(facts_.id),
                                      facts_.commit ? facts_.commit->sha : std::string());
        if (logged) {
            result.report.update(*logged);
        } else {
            result.ok = false;
            result.reason = logged.error().message;
        }
    }
    conclude(s, result.ok, result.reason, &outcome, std::move(result.report));
}

void RunExecution::conclude(int s, bool ok, std::string reason,
                            const exec::ProcessOutcome* outcome, nlohmann::json report) {
    Slot& slot = *slots_[static_cast<std::size_t>(s)];
    const std::string& name = slot.record.stage;
    auto& rec = slot.record;
    rec.reason = std::move(reason);
    rec.report = std::move(report);
    rec.outputs = slot.outputs;
    if (outcome != nullptr) {
        if (!outcome->start_failed && !outcome->timed_out && !outcome->cancelled &&
            outcome->signal == 0) {
            rec.exit_code = outcome->exit_code;
        }
        rec.signal = outcome->signal;
        rec.duration_ms = outcome->duration.count();
        rec.max_rss_kb = outcome->max_rss_kb;
    } else {
        rec.duration_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(deps_.clock.now() - slot.started)
                .count();
    }

    std::optional<util::SteadyTime> retry_at;
    if (cancelling_) {
        rec.status = "cancelled";
        if (rec.reason.empty() || (outcome != nullptr && outcome->cancelled)) {
            rec.reason = cancel_reason_;
        }
    } else {
        retry_at = scheduler_.finished(s, ok, deps_.clock.now());
        rec.status = sched::to_string(scheduler_.state(s));
        if (ok && slot.from) rec.status = "cached";
    }
    if (ok && slot.result_key.empty()) {
        slot.result_key = slot.key ? slot.key->key : result_key(name, nlohmann::json::object(), rec.outputs);
    }
    if (retry_at) {
        auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(
                         *retry_at - deps_.clock.now()).count();
        rec.status = "failed";
        check(deps_.store.set_stage_status(
            facts_.id, name, "pending",
            "attempt " + std::to_string(rec.attempt) + " failed (" + rec.reason + "), retrying",
            store::EventNote{"stage_retrying", {{"attempt", rec.attempt},
                                                {"reason", rec.reason},
                                                {"retry_in_ms", delay}}}));
        reports_.stage_retrying(rec, delay);
        return;
    }
    store::StageFinish finish{rec.status,      rec.reason,     rec.exit_code,
                              rec.signal,      rec.duration_ms, rec.max_rss_kb,
                              rec.outputs,     rec.report,      rec.allow_failure};
    if (defer_record_) {
        pending_cached_.push_back({name, std::move(finish), std::move(deferred_artifacts_)});
    } else {
        nlohmann::json data = {{"status", rec.status}, {"attempt", rec.attempt},
                               {"duration_ms", rec.duration_ms}};
        if (rec.exit_code) data["exit_code"] = *rec.exit_code;
        if (rec.signal != 0) data["signal"] = rec.signal;
        if (!rec.reason.empty()) data["reason"] = rec.reason;
        check(deps_.store.finish_stage(facts_.id, name, finish,
                                       store::EventNote{"stage_finished", std::move(data)}));
    }
    slot.recorded = true;
    reports_.stage_finished(rec);
    if (!ok) record_settled();
}

void RunExecution::record_start(int s) {
    Slot& slot = *slots_[static_cast<std::size_t>(s)];
    if (slot.begun) return;
    slot.begun = true;
    const std::string& name = pipeline_.stages[static_cast<std::size_t>(s)].name;
    check(deps_.store.start_stage(facts_.id, name, deps_.state.log_file(facts_.id, name).string(),
                                  store::EventNote{"stage_started", {{"attempt", slot.record.attempt}}}));
    reports_.stage_started(name, slot.record.attempt);
}

std::vector<std::pair<std::string, std::string>> RunExecution::needed_keys(int s) const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& need : pipeline_.stages[static_cast<std::size_t>(s)].needs) {
        const Slot& other = *slots_[static_cast<std::size_t>(pipeline_.index_of(need))];
        out.emplace_back(need, other.result_key.empty() ? other.record.status : other.result_key);
    }
    return out;
}

util::Status RunExecution::compute_key(int s) {
    Slot& slot = *slots_[static_cast<std::size_t>(s)];
    const pipeline::Stage& stage = pipeline_.stages[static_cast<std::size_t>(s)];
    std::vector<std::pair<std::string, std::optional<std::string>>> looked_up;
    auto input = key_input_for(pipeline_, stage, [&](std::string_view name) {
        auto value = lookup(s, name);
        looked_up.emplace_back(std::string(name), value);
        return value;
    });
    if (!input) return std::unexpected(input.error());
    auto needs = needed_keys(s);
    for (const auto& [need, key] : needs) input->needs[need] = key;
    bool remember = remembered_ && !remembered_->file().empty() && facts_.use_cache && stage.cache;
    std::vector<SeenPath> seen;
    auto key = cache_.key(stage, *input, facts_.workspace, remember ? &seen : nullptr);
    if (!key) {
        return util::fail(util::ErrorCode::io,
                          "cannot compute the stage's cache key: " + key.error().message);
    }
    slot.key = std::move(*key);
    if (remember) {
        StageMemo memo{stage.name, slot.key->key, std::move(needs), std::move(looked_up), {}, {}};
        memo.checks.reserve(seen.size());
        for (const auto& path : seen) {
            auto check = path_check(path, trusted_before_ns_);
            if (!check) return {};  // changed too recently to be vouched for by its stat data
            memo.checks.push_back(std::move(*check));
        }
        slot.memo = std::move(memo);
    }
    return {};
}

bool RunExecution::take_remembered(int s) {
    if (memo().size() == 0) return false;
    Slot& slot = *slots_[static_cast<std::size_t>(s)];
    const StageMemo* memo = this->memo().find(pipeline_.stages[static_cast<std::size_t>(s)].name);
    if (memo == nullptr || memo->needs != needed_keys(s)) return false;
    for (const auto& [name, value] : memo->lookups) {
        if (lookup(s, name) != value) return false;
    }
    if (!remembered_->holds(*memo)) return false;
    slot.key = StageKey{memo->key, nlohmann::json::object()};
    slot.from = memo->entry;
    slot.remembered = memo;
    conclude_cached(s, {0, memo->entry.paths.size()});
    return true;
}

void RunExecution::save_memo() {
    if (!remembered_ || remembered_->file().empty() || cancelling_ || store_error_) return;
    // This run's cached stages; what it did not include keeps its memo.
    std::vector<const StageMemo*> kept;
    bool changed = false;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        const Slot& slot = *slots_[i];
        const StageMemo* before = memo().find(pipeline_.stages[i].name);
        const StageMemo* now = nullptr;
        if (slot.record.status == "cached") {
            now = slot.remembered != nullptr ? slot.remembered : slot.memo ? &*slot.memo : nullptr;
        } else if (!slot.included) {
            now = before;
        }
        changed = changed || now != before;
        if (now != nullptr) kept.push_back(now);
    }
    // Entries marked used again: the next minute of runs need not mark them.
    bool touched = touch_remembered_ && !kept.empty();
    if (!changed && !touched) return;
    RunMemo next;
    for (const StageMemo* memo : kept) next.add(*memo);
    next.set_touched_ms(touched || memo().size() == 0 ? deps_.clock.epoch_ms() : memo().touched_ms());
    // Stored entries moved the generation on: what this run saw may be stale already.
    const std::string& generation = remembered_->generation();
    if (cache::read_generation(cache_.root()) != generation) return;
    (void)next.save(remembered_->file(), generation);  // best effort: a lost memo costs time only
}

void RunExecution::workspace_changes() {
    if (remembered_) remembered_->stop();
}

util::Status RunExecution::make_run_dirs() {
    if (run_dirs_made_) return {};
    for (const auto& dir : {deps_.state.log_file(facts_.id, "_").parent_path(),
                            deps_.state.output_file(facts_.id, "_").parent_path()}) {
        std::error_code ec;
        bool made = std::filesystem::create_directories(dir, ec);
        if (!ec && !made && !facts_.resumed && dir.filename() == std::to_string(facts_.id)) {
            // A new run's directory left from a store that was deleted since: its stage
            // outputs are not this run's (start_stage counts on an empty directory).
            std::filesystem::remove_all(dir, ec);
            if (!ec) std::filesystem::create_directories(dir, ec);
        }
        if (ec) {
            return util::fail(util::ErrorCode::io,
                              "cannot create " + dir.string() + ": " + ec.message());
        }
    }
    run_dirs_made_ = true;
    return {};
}

const RunMemo& RunExecution::memo() const {
    static const RunMemo none;
    return remembered_ ? remembered_->memo() : none;
}

util::Result<bool> RunExecution::take_from_cache(int s) {
    Slot& slot = *slots_[static_cast<std::size_t>(s)];
    const pipeline::Stage& stage = pipeline_.stages[static_cast<std::size_t>(s)];
    auto note = [&](const std::string& why) {
        // A cache that cannot be used is never a reason to fail: the stage runs.
        deps_.reporter.stage_output(stage.name, true, "sluice: cache: " + why + "; running the stage\n");
        check(deps_.store.add_event(facts_.id, stage.name, "cache_miss", {{"reason", why}}));
    };
    auto entry = cache_.find(slot.key->key);
    if (!entry) {
        note(entry.error().message);
        return false;
    }
    if (!*entry) return false;
    workspace_changes();
    auto restored = cache_.restore(**entry, facts_.workspace);
    if (!restored && restored.error().code == util::ErrorCode::bad_input) {
        // An output would be written through a link out of the workspace. Running the
        // stage would write there too: the stage fails instead (fail closed).
        return std::unexpected(restored.error());
    }
    if (!restored) {
        note(restored.error().message);
        return false;
    }
    if (slot.memo) {
        // The outputs as they are now in the workspace, for the next run to look at.
        for (const auto& path : (*entry)->paths) {
            SeenPath seen{path.path, false, false, {}};
            std::string full = facts_.workspace.native() + "/" + path.path;
            seen.present = ::lstat(full.c_str(), &seen.st) == 0;
            auto check = seen.present ? path_check(seen, trusted_before_ns_) : std::nullopt;
            if (!check) {
                slot.memo.reset();
                break;
            }
            slot.memo->checks.push_back(std::move(*check));
        }
        if (slot.memo) slot.memo->entry = **entry;
    }
    slot.from = std::move(**entry);
    conclude_cached(s, *restored);
    return true;
}

void RunExecution::conclude_cached(int s, const cache::RestoreCounts& counts) {
    Slot& slot = *slots_[static_cast<std::size_t>(s)];
    const pipeline::Stage& stage = pipeline_.stages[static_cast<std::size_t>(s)];
    if (slot.remembered == nullptr || touch_remembered_) cache_.touch(slot.key->key);
    slot.outputs = slot.from->stage_outputs;
    // A remembered stage is recorded with the others of its wake-up, in one go
    // (flush_cached); one with `metrics:` logs a candidate and is recorded as it goes.
    defer_record_ = slot.remembered != nullptr && !stage.metrics;
    if (defer_record_) {
        deferred_artifacts_ = to_artifacts(stage.name, slot.from->paths);
    } else {
        flush_cached();  // what was concluded before it is recorded before it
        if (!slot.from->paths.empty()) {
            check(deps_.store.set_artifacts(facts_.id, stage.name,
                                            to_artifacts(stage.name, slot.from->paths)));
        }
    }
    // (Assigned key by key: nlohmann's initializer lists copy every value twice, and a
    // no-op run builds a thousand of these.)
    nlohmann::json cache = nlohmann::json::object();
    cache["from_run"] = slot.from->run_id;
    cache["key"] = slot.key->key;
    cache["restored"] = counts.restored;
    cache["unchanged"] = counts.unchanged;
    // Vouched for by the last run's memo (stat data) rather than by hashing the inputs.
    if (slot.remembered != nullptr) cache["remembered"] = true;
    nlohmann::json report = nlohmann::json::object();
    report["cache"] = std::move(cache);
    if (stage.metrics) {
        auto logged = candidates_.log(pipeline_, stage, facts_.workspace, std::to_string(facts_.id),
                                      facts_.commit ? facts_.commit->sha : std::string());
        if (!logged) {
            record_start(s);
            return conclude(s, false, logged.error().message, nullptr, std::move(report));
        }
        report.update(*logged);
    }
    conclude(s, true, "from the cache (run " + std::to_string(slot.from->run_id) + ")", nullptr,
             std::move(report));
    defer_record_ = false;
}

void RunExecution::flush_cached() {
    if (pending_cached_.empty()) return;
    auto pending = std::move(pending_cached_);
    pending_cached_.clear();
    // One event for them all: what a stage_finished event would say of each is the same
    // (cached, attempt 1, no time) and is in its row.
    nlohmann::json names = nlohmann::json::array();
    std::int64_t count = 0;
    std::int64_t bytes = 0;
    for (const auto& stage : pending) {
        names.push_back(stage.stage);
        for (const auto& artifact : stage.artifacts) {
            ++count;
            bytes += artifact.size;
        }
    }
    store::EventNote event{"stages_remembered",
                           {{"stages", std::move(names)},
                            {"artifacts", {{"count", count}, {"bytes", bytes}}}}};
    check(deps_.store.finish_cached_stages(facts_.id, pending, event));
}

util::Status RunExecution::keep_result(int s) {
    Slot& slot = *slots_[static_cast<std::size_t>(s)];
    const pipeline::Stage& stage = pipeline_.stages[static_cast<std::size_t>(s)];
    std::vector<cache::CachedPath> paths;
    if (!result_paths(stage).empty()) {
        auto stored = cache_.store_outputs(stage, facts_.workspace);
        if (!stored) return std::unexpected(stored.error());
        paths = std::move(*stored);
        check(deps_.store.set_artifacts(facts_.id, stage.name, to_artifacts(stage.name, paths)));
    }
    slot.result_key = slot.key ? slot.key->key
                               : result_key(stage.name, artifact_digests(paths), slot.outputs);
    if (slot.key && stage.cache) {
        cache::CacheEntry entry;
        entry.key = slot.key->key;
        entry.pipeline = pipeline_.name;
        entry.stage = stage.name;
        entry.run_id = facts_.id;
        entry.created_ms = deps_.clock.epoch_ms();
        entry.used_ms = entry.created_ms;
        entry.paths = std::move(paths);
        entry.stage_outputs = slot.outputs;
        entry.inputs = slot.key->parts;
        if (auto kept = cache_.remember(entry); !kept) {
            deps_.reporter.stage_output(stage.name, true,
                                        "sluice: cache: cannot keep the result: " +
                                            kept.error().message + "\n");
        }
    }
    return {};
}

void RunExecution::record_settled() {
    flush_cached();
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        Slot& slot = *slots_[i];
        int s = static_cast<int>(i);
        if (!slot.included || slot.recorded || slot.active) continue;
        sched::State state = scheduler_.state(s);
        if (state != sched::State::skipped && state != sched::State::cancelled) continue;
        auto& rec = slot.record;
        rec.status = sched::to_string(state);
        if (state == sched::State::skipped) {
            int by = scheduler_.blocked_by(s);
            std::string need = by >= 0 ? pipeline_.stages[static_cast<std::size_t>(by)].name : "?";
            sched::State need_state = by >= 0 ? scheduler_.state(by) : sched::State::failed;
            rec.reason = "needs " + need + ", which " +
                         (need_state == sched::State::failed ? "failed" : "was skipped");
        } else {
            rec.reason = scheduler_.reason(s);
        }
        check(deps_.store.set_stage_status(
            facts_.id, rec.stage, rec.status, rec.reason,
            store::EventNote{"stage_finished", {{"status", rec.status}, {"reason", rec.reason}}}));
        slot.recorded = true;
        reports_.stage_finished(rec);
    }
}

void RunExecution::cancel(const std::string& reason) {
    cancelling_ = true;
    cancel_reason_ = reason;
    for (auto& slot : slots_) {
        if (slot->active) deps_.runner.cancel(slot->process);
    }
    scheduler_.cancel_all(reason);
    record_settled();
}

std::optional<std::string> RunExecution::lookup(int s, std::string_view name) const {
    auto starts = [&](std::string_view prefix) { return name.substr(0, prefix.size()) == prefix; };
    if (starts("vars.")) {
        std::string var(name.substr(5));
        for (const auto& [key, value] : pipeline_.variables) {
            if (key == var) {
                auto resolved = resolve(s, value);
                return resolved ? std::optional(*resolved) : std::nullopt;
            }
        }
        return std::nullopt;
    }
    if (starts("commit.")) return commit_value(facts_.commit, name.substr(7));
    if (name == "run.id") return std::to_string(facts_.id);
    if (name == "run.event") return facts_.event;
    if (name == "pipeline.name") return pipeline_.name;
    if (starts("stages.")) {
        return stage_output_value(pipeline_, name.substr(7), [&](std::size_t i) -> const nlohmann::json& {
            return slots_[i]->outputs;
        });
    }
    return std::nullopt;
}

util::Result<std::string> RunExecution::resolve(int s, const std::string& text) const {
    if (text.find("${{") == std::string::npos) return text;
    auto out = pipeline::interpolate(text, [&](std::string_view name) { return lookup(s, name); });
    if (!out) {
        return util::fail(util::ErrorCode::bad_input,
                          "cannot resolve an expression: " + out.error().message);
    }
    return *out;
}

util::Result<nlohmann::json> RunExecution::resolve_json(int s, const nlohmann::json& value) const {
    if (value.is_string()) {
        auto r = resolve(s, value.get<std::string>());
        if (!r) return std::unexpected(r.error());
        return nlohmann::json(*r);
    }
    if (value.is_array() || value.is_object()) {
        nlohmann::json out = value;
        for (auto it = out.begin(); it != out.end(); ++it) {
            auto r = resolve_json(s, *it);
            if (!r) return r;
            *it = std::move(*r);
        }
        return out;
    }
    return value;
}

util::Result<exec::Environment> RunExecution::environment_for(int s) {
    const pipeline::Stage& stage = pipeline_.stages[static_cast<std::size_t>(s)];
    const exec::Environment& outer = deps_.runner_env;
    exec::Environment env;
    if (stage.inherit_all_env) {
        env = outer;
    } else {
        for (const char* name : {"PATH", "HOME", "LANG", "TERM", "TMPDIR"}) {
            if (const std::string* v = find_var(outer, name)) set_var(env, name, *v);
        }
        for (const auto& name : stage.inherit_env) {
            if (const std::string* v = find_var(outer, name)) set_var(env, name, *v);
        }
    }
    if (find_var(env, "PATH") == nullptr) set_var(env, "PATH", "/usr/local/bin:/usr/bin:/bin");
    for (const auto& [key, value] : pipeline_.variables) {
        auto v = resolve(s, value);
        if (!v) return std::unexpected(v.error());
        set_var(env, key, std::move(*v));
    }
    for (const auto& [key, value] : stage.env) {
        auto v = resolve(s, value);
        if (!v) return std::unexpected(v.error());
        set_var(env, key, std::move(*v));
    }
    const auto* c = facts_.commit ? &*facts_.commit : nullptr;
    set_var(env, "CI", "true");
    set_var(env, "SLUICE", "true");
    set_var(env, "SLUICE_RUN_ID", std::to_string(facts_.id));
    set_var(env, "SLUICE_PIPELINE", pipeline_.name);
    set_var(env, "SLUICE_STAGE", stage.name);
    set_var(env, "SLUICE_ATTEMPT", std::to_string(scheduler_.attempts(s)));
    set_var(env, "SLUICE_TRIGGER", facts_.trigger);
    set_var(env, "SLUICE_EVENT", facts_.event);
    set_var(env, "SLUICE_WORKSPACE", facts_.workspace.string());
    set_var(env, "SLUICE_OUTPUT", deps_.state.output_file(facts_.id, stage.name).string());
    set_var(env, "SLUICE_COMMIT_SHA", c ? c->sha : "");
    set_var(env, "SLUICE_COMMIT_SHORT", c ? c->short_sha : "");
    set_var(env, "SLUICE_BRANCH", c ? c->branch : "");
    set_var(env, "SLUICE_TAG", !facts_.tag.empty() ? facts_.tag : c ? c->tag : "");
    set_var(env, "SLUICE_TARGET_BRANCH", facts_.target_branch);
    set_var(env, "SLUICE_COMMIT_AUTHOR", c ? c->author : "");
    set_var(env, "SLUICE_COMMIT_MESSAGE", c ? c->message : "");
    return env;
}

}  // namespace sluice::engine
