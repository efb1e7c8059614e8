// exec::Executor: stage processes under the stage shim (in the lanes of its fork server, or one
// shim started per stage), spawned with Boost.Process v1 and driven by Boost.Asio on one thread.
//
// Boost.Process 1.74 is used for what it does right (fork, execve, and reporting a failed
// execve back through its CLOEXEC pipe); descriptors, stdin, the working directory and process
// groups are set up by our own initializer (ChildSetup), because in 1.74:
//  - bp::limit_handles closes redirected stdout/stderr (posix pipe_out does not report its
//    handles), closes Boost's own exec-error pipe so a failed exec looks like success, and calls
//    opendir() (malloc) between fork and exec, which can deadlock a multi-threaded parent;
//  - bp::async_pipe and bp::std_in < bp::null create descriptors without O_CLOEXEC, so a
//    process spawned at the same time by another thread inherits them (and a pipe's write end
//    held elsewhere means EOF never comes);
//  - bp::start_dir ignores chdir()'s result: a missing directory runs the stage in the runner's
//    directory (the shim does the chdir and reports failures instead);
//  - a failed spawn leaves a zombie (Boost never waits for the forked child): ChildSetup reaps
//    it in on_error.
#include "runner/exec/executor.hpp"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
// GCC 12 reports a false -Wnull-dereference inside asio's scheduler (thread_info is never null
// there); keep it from failing -Werror builds.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/env.hpp>
#include <boost/process/environment.hpp>
#include <boost/process/error.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#pragma GCC diagnostic pop
#include <cstdio>
#include <exception>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runner/exec/platform_linux.hpp"
#include "runner/exec/shim_client.hpp"
#include "runner/exec/shim_protocol.hpp"
#include "runner/util/unique_fd.hpp"

namespace sluice::exec {

namespace asio = boost::asio;
namespace bp = boost::process;
using Clock = std::chrono::steady_clock;

namespace {

// One read per wakeup drains a full pipe (64 KiB is Linux's default pipe capacity).
constexpr std::size_t k_read_size = 64 * 1024;

// Exit status of the forked child when our setup between fork and exec failed; the shim never
// ran, so there is no status file and the outcome says so.
constexpr int k_exit_child_setup = 124;

// The slice the loop's thread asks for (ExecutorOptions::short_slices): the kernel's minimum.
constexpr std::chrono::nanoseconds k_loop_slice{100'000};

// Sets up the forked child before it executes the shim: its own process group (so the stage is
// a group the executor can kill as a last resort from the moment start() returns), stdin from
// /dev/null, stdout and stderr to our pipes, and every other descriptor close-on-exec. Runs
// between fork and exec, so only async-signal-safe calls; on failure the child exits at once.
// (Not setsid(): see the shim, runner/exec/shim_main.cpp, for why a group and not a session.)
struct ChildSetup : bp::extend::handler {
    int stdin_fd;
    int stdout_fd;
    int stderr_fd;

    ChildSetup(int in, int out, int err) : stdin_fd(in), stdout_fd(out), stderr_fd(err) {}

    template <class Sequence>
    void on_exec_setup(bp::extend::posix_executor<Sequence>&) const {
        if (::setpgid(0, 0) < 0) ::_exit(k_exit_child_setup);
        // Move the sources above 2 first, so that none is overwritten by an earlier dup2 (a
        // runner started with a closed stdin gets its pipes on descriptors 0..2).
        int in = ::fcntl(stdin_fd, F_DUPFD_CLOEXEC, 3);
        int out = ::fcntl(stdout_fd, F_DUPFD_CLOEXEC, 3);
        int err = ::fcntl(stderr_fd, F_DUPFD_CLOEXEC, 3);
        if (in < 0 || out < 0 || err < 0) ::_exit(k_exit_child_setup);
        if (::dup2(in, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 ||
            ::dup2(err, STDERR_FILENO) < 0) {
            ::_exit(k_exit_child_setup);
        }
        if (!platform::mark_cloexec_from(3)) ::_exit(k_exit_child_setup);
    }

    // Boost reports the failed exec but never waits for the child it forked.
    template <class Sequence>
    void on_error(bp::extend::posix_executor<Sequence>& exec, const std::error_code&) const {
        if (exec.pid <= 0) return;
        int status = 0;
        while (::waitpid(exec.pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
};

// Asio installs its signal handlers without SA_RESTART, so every SIGCHLD would make blocking
// calls in the runner's other threads (SQLite, libgit2, curl) fail with EINTR.
void add_restart_flag(int sig) {
    struct sigaction action {};
    if (::sigaction(sig, nullptr, &action) != 0) return;
    if (action.sa_handler == SIG_DFL || action.sa_handler == SIG_IGN) return;
    action.sa_flags |= SA_RESTART;
    if (sig == SIGCHLD) action.sa_flags |= SA_NOCLDSTOP;  // stopped children don't matter
    ::sigaction(sig, &action, nullptr);
}

std::string signal_name(int sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    return abbrev != nullptr ? "SIG" + std::string(abbrev) : "signal " + std::to_string(sig);
}

std::string seconds_text(Millis duration) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1fs", static_cast<double>(duration.count()) / 1000.0);
    return text;
}

std::string read_small_file(const std::filesystem::path& path) {
    util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return {};
    std::string text;
    char buffer[1024];
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
    }
    return text;
}

bool valid_env_name(const std::string& name) {
    return !name.empty() && name.find('=') == std::string::npos &&
           name.find('\0') == std::string::npos;
}

}  // namespace

class Executor::Impl {
public:
    Impl(std::filesystem::path shim, asio::io_context* io, ExecutorOptions options)
        : owned_io_(io == nullptr ? std::make_unique<asio::io_context>(1) : nullptr),
          io_(io == nullptr ? *owned_io_ : *io),
          options_(std::move(options)),
          child_signals_(io_),
          self_pid_(::getpid()) {
        std::error_code ec;
        shim_ = std::filesystem::absolute(shim, ec);
        if (ec) shim_ = std::move(shim);
        try {
            set_up();
        } catch (const std::exception& e) {
            setup_error_ = std::string("cannot set up the process executor: ") + e.what();
        }
    }

    ~Impl() {
        try {
            tear_down();
        } catch (...) {
            // A destructor must not throw; tear_down only throws on failures asio never has.
        }
    }

    ProcessId start(const ProcessSpec& spec, OutputHandler on_output, ExitHandler on_exit) {
        auto proc = std::make_shared<Proc>();
        proc->id = next_id_++;
        proc->on_output = std::move(on_output);
        proc->on_exit = std::move(on_exit);
        proc->started = Clock::now();
        proc->grace = std::max(spec.grace, Millis{0});
        proc->program = spec.argv.empty() ? std::string() : spec.argv.front();
        // Absolute, so both ways of starting a stage agree on a relative or empty cwd (the
        // fork server's own directory is the runner's at the time it started).
        std::error_code ec;
        proc->cwd = spec.cwd.empty() ? std::filesystem::current_path(ec)
                                     : std::filesystem::absolute(spec.cwd, ec);
        if (ec) proc->cwd = spec.cwd;
        procs_.emplace(proc->id, proc);
        std::string error;
        try {
            error = spawn(proc, spec);
        } catch (const std::exception& e) {
            error = std::string("cannot start ") + proc->program + ": " + e.what();
        }
        if (!error.empty()) fail_start(proc, std::move(error));
        return proc->id;
    }

    void cancel(ProcessId id) {
        auto it = procs_.find(id);
        if (it == procs_.end()) return;
        const ProcPtr& proc = it->second;
        if (proc->start_failure || proc->reaped || proc->terminating) return;
        proc->cancelled = true;
        terminate(proc);
    }

    void cancel_all() {
        std::vector<ProcessId> ids;
        ids.reserve(procs_.size());
        for (const auto& entry : procs_) ids.push_back(entry.first);
        for (ProcessId id : ids) cancel(id);
    }

    void wait_until(std::optional<Clock::time_point> deadline) {
        const auto exits_before = exits_delivered_;
        const auto stops_before = stop_signals_seen_;
        for (;;) {
            if (exits_delivered_ != exits_before || stop_signals_seen_ != stops_before) return;
            if (procs_.empty() && !deadline) return;
            if (deadline && Clock::now() >= *deadline) return;
            if (io_.stopped()) io_.restart();
            // The SIGCHLD wait is always pending, so the loop never runs out of work: these
            // block until an event (or the deadline) instead of returning at once.
            if (deadline) {
                io_.run_one_until(*deadline);
            } else {
                io_.run_one();
            }
        }
    }

    std::size_t poll() {
        if (io_.stopped()) io_.restart();
        return io_.poll();
    }

    bool stop_requested() const { return stop_requested_; }
    std::size_t running() const { return procs_.size(); }
    asio::io_context& io() { return io_; }

private:
    struct Proc {
        ProcessId id = 0;
        pid_t pid = -1;
        OutputHandler on_output;
        ExitHandler on_exit;
        std::optional<asio::posix::stream_descriptor> out;
        std::optional<asio::posix::stream_descriptor> err;
        std::unique_ptr<char[]> out_buffer;
        std::unique_ptr<char[]> err_buffer;
        bool out_open = false;
        bool err_open = false;
        bool reaped = false;     // the shim exited and was waited for (or, through the fork
                                 // server, closed its status pipe)
        bool delivered = false;  // on_exit was called
        bool lost = false;       // someone else reaped the shim (waitpid(-1) elsewhere)
        int wait_status = 0;
        rusage usage{};
        Clock::time_point started;
        Clock::time_point ended;
        Millis grace{0};
        std::optional<asio::steady_timer> timeout_timer;
        std::optional<asio::steady_timer> kill_timer;
        std::optional<asio::steady_timer> drain_timer;
        bool terminating = false;  // SIGTERM was sent to the shim
        bool timed_out = false;
        bool cancelled = false;
        bool killed = false;     // the last resort (SIGKILL to the group) was needed
        bool drain_cut = false;  // pipes were closed without EOF
        std::filesystem::path status_file;
        bool via_server = false;           // run by a lane of the fork server: no pid of ours
        std::uint64_t lane = 0;            // which lane
        std::optional<ShimStatus> status;  // what the lane reported
        std::string program;
        std::filesystem::path cwd;
        std::optional<std::string> start_failure;
    };
    using ProcPtr = std::shared_ptr<Proc>;

    // A lane of the fork server: our end of its socket, and the stage it runs (none: idle).
    struct Lane {
        std::uint64_t id = 0;
        std::optional<asio::posix::stream_descriptor> socket;
        ProcPtr stage;
        std::unique_ptr<char[]> buffer;  // one datagram: k_max_output_datagram
    };
    using LanePtr = std::shared_ptr<Lane>;

    // Wraps a completion handler so that it does nothing once the executor is gone: with a
    // shared io_context, cancelled handlers still run after the destructor.
    template <class F>
    auto guarded(F&& f) {
        return
            [alive = std::weak_ptr<int>(alive_), f = std::forward<F>(f)](auto&&... args) mutable {
                if (alive.expired()) return;
                f(std::forward<decltype(args)>(args)...);
            };
    }

    void set_up() {
        if (options_.short_slices) scheduling_ = platform::ask_for_short_slices(k_loop_slice);
        util::UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
        if (!null_fd) {
            setup_error_ = std::string("cannot open /dev/null: ") + std::strerror(errno);
            return;
        }
        dev_null_ = std::move(null_fd);
        child_signals_.add(SIGCHLD);
        add_restart_flag(SIGCHLD);
        wait_for_children();
        if (options_.handle_stop_signals) {
            stop_signals_.emplace(io_);
            for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
                stop_signals_->add(sig);
                add_restart_flag(sig);
            }
            wait_for_stop();
        }
    }

    // Made on first use: only stages started with a shim of their own need it.
    std::string make_status_dir() {
        if (!status_dir_.empty()) return {};
        std::error_code ec;
        if (!options_.status_dir.empty()) {
            status_dir_ = std::filesystem::absolute(options_.status_dir, ec);
            if (!ec) std::filesystem::create_directories(status_dir_, ec);
            if (ec) {
                std::string error = "cannot create the status directory " +
                                    options_.status_dir.string() + ": " + ec.message();
                status_dir_.clear();
                return error;
            }
            return {};
        }
        auto base = std::filesystem::temp_directory_path(ec);
        if (ec) base = "/tmp";
        std::string pattern = (base / "sluice-exec-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            return "cannot create a status directory in " + base.string() + ": " +
                   std::strerror(errno);
        }
        status_dir_ = pattern;
        own_status_dir_ = true;
        return {};
    }

    // Returns an error message, empty on success.
    std::string spawn(const ProcPtr& proc, const ProcessSpec& spec) {
        if (setup_error_) return *setup_error_;
        if (spec.argv.empty() || spec.argv.front().empty()) return "nothing to run: empty command";
        for (const auto& [name, value] : spec.env) {
            if (!valid_env_name(name)) return "invalid environment variable name '" + name + "'";
        }
        if (options_.fork_server && spawn_in_lane(proc, spec)) {
            arm_timeout(proc, spec.timeout);
            return {};
        }
        if (auto error = make_status_dir(); !error.empty()) return error;
        int out_fds[2];
        int err_fds[2];
        if (::pipe2(out_fds, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
        util::UniqueFd out_read(out_fds[0]);
        util::UniqueFd out_write(out_fds[1]);
        if (::pipe2(err_fds, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
        util::UniqueFd err_read(err_fds[0]);
        util::UniqueFd err_write(err_fds[1]);

        proc->status_file = status_dir_ / (std::to_string(proc->id) + ".status");
        // Nothing is inherited from the runner: the stage's environment is exactly spec.env.
        bp::environment env;
        for (const auto& [name, value] : spec.env) env[name] = value;

        std::error_code ec;
        bp::child child(bp::exe = shim_.string(),
                        bp::args = shim_arguments(spec, proc->cwd, proc->status_file, self_pid_),
                        env, ChildSetup(dev_null_.get(), out_write.get(), err_write.get()), ec);
        // Our copies of the write ends must go, or EOF would never come.
        out_write.reset();
        err_write.reset();
        if (ec || !child.valid()) {
            return "cannot start the stage shim " + shim_.string() + ": " + ec.message();
        }
        proc->pid = child.id();
        child.detach();  // we wait for it ourselves (~child would otherwise kill it)

        proc->out.emplace(io_, out_read.release());
        proc->err.emplace(io_, err_read.release());
        proc->out_buffer = take_buffer();
        proc->err_buffer = take_buffer();
        proc->out_open = true;
        proc->err_open = true;
        read_output(proc, Stream::out);
        read_output(proc, Stream::err);
        arm_timeout(proc, spec.timeout);
        return {};
    }

    void arm_timeout(const ProcPtr& proc, Millis timeout) {
        if (timeout <= Millis{0}) return;
        proc->timeout_timer.emplace(io_);
        proc->timeout_timer->expires_after(timeout);
        proc->timeout_timer->async_wait(
            guarded([this, proc](const boost::system::error_code& error) {
                if (error || proc->reaped || proc->terminating) return;
                proc->timed_out = true;
                terminate(proc);
            }));
    }

    // ---- the fork server and its lanes (shim_protocol.hpp) ----

    bool start_server() {
        server_tried_ = true;
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return false;
        util::UniqueFd mine(pair[0]);
        util::UniqueFd theirs(pair[1]);
        std::error_code ec;
        std::vector<std::string> args{std::string(shim::k_opt_serve),
                                      std::string(shim::k_opt_parent_pid),
                                      std::to_string(self_pid_)};
        bp::child child(bp::exe = shim_.string(), bp::args = args, bp::environment{},
                        ChildSetup(theirs.get(), dev_null_.get(), dev_null_.get()), ec);
        if (ec || !child.valid()) return false;
        server_pid_ = child.id();
        child.detach();
        server_ = std::move(mine);
        return true;
    }

    // Runs the stage in a lane (an idle one, else a new one); false when it must be started
    // the classic way (no server, or a request too large for a lane).
    bool spawn_in_lane(const ProcPtr& proc, const ProcessSpec& spec) {
        if (!server_ && !server_tried_ && !start_server()) return false;
        if (!server_) return false;
        std::string request = run_request(proc->id, spec, proc->cwd, options_.drain_timeout);
        if (request.size() > shim::k_max_request) return false;
        LanePtr lane = send_to_a_lane(request);
        if (!lane) return false;
        lane->stage = proc;
        proc->via_server = true;
        proc->lane = lane->id;
        return true;
    }

    // Sends a "run" to an idle lane, or to a new one when none is idle or the idle one turns
    // out to be gone; the lane it went to, or null.
    LanePtr send_to_a_lane(const std::string& request) {
        for (;;) {
            LanePtr lane = idle_lane();
            bool fresh = !lane;
            if (fresh) lane = new_lane();
            if (!lane) return nullptr;
            if (send_datagram(lane->socket->native_handle(), request, nullptr, 0)) return lane;
            close_lane(lane);
            if (fresh) return nullptr;
        }
    }

    LanePtr idle_lane() const {
        for (const LanePtr& lane : lanes_) {
            if (!lane->stage) return lane;
        }
        return nullptr;
    }

    // Asks the server to fork a lane on a new socket pair.
    LanePtr new_lane() {
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return nullptr;
        util::UniqueFd mine(pair[0]);
        util::UniqueFd theirs(pair[1]);
        // Room for the largest request (root may exceed net.core.wmem_max, others are capped).
        int size = static_cast<int>(shim::k_max_request + 64 * 1024);
        if (::setsockopt(mine.get(), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0) {
            ::setsockopt(mine.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        }
        auto lane = std::make_shared<Lane>();
        lane->id = next_lane_id_++;
        std::string request = two_fields(shim::k_request_lane, lane->id);
        int fd = theirs.get();
        if (!send_to_server(request, &fd, 1)) return nullptr;
        lane->socket.emplace(io_, mine.release());
        lane->buffer = std::make_unique_for_overwrite<char[]>(shim::k_max_output_datagram);
        lanes_.push_back(lane);
        read_lane(lane);
        return lane;
    }

    // Each read of the lane's (SOCK_SEQPACKET) socket is one datagram: a chunk of the stage's
    // output, or its status, which comes last; EOF means the lane is gone (then its stage, if
    // any, ended without a status).
    void read_lane(const LanePtr& lane) {
        lane->socket->async_read_some(
            asio::buffer(lane->buffer.get(), shim::k_max_output_datagram),
            guarded([this, lane](const boost::system::error_code& error, std::size_t size) {
                if (!lane->socket) return;  // closed
                if (error) return close_lane(lane);
                take_datagram(lane, std::string_view(lane->buffer.get(), size));
            }));
    }

    void take_datagram(const LanePtr& lane, std::string_view datagram) {
        auto nul = datagram.find('\0');
        std::string_view kind = datagram.substr(0, nul);
        std::string_view payload =
            nul == std::string_view::npos ? std::string_view() : datagram.substr(nul + 1);
        if (kind != shim::k_datagram_status) {
            const ProcPtr& stage = lane->stage;
            bool out = kind == shim::k_datagram_out;
            if (stage && stage->on_output && !stage->delivered &&
                (out || kind == shim::k_datagram_err)) {
                stage->on_output(out ? Stream::out : Stream::err, payload);
            }
            read_lane(lane);
            return;
        }
        ProcPtr stage = std::move(lane->stage);
        lane->stage = nullptr;
        std::optional<ShimStatus> status = parse_shim_status(payload);
        if (status && !status->lane_ends) {
            read_lane(lane);
        } else {
            close_lane(lane);
        }
        if (!stage || stage->reaped) return;
        stage->drain_cut = status && status->output_cut;
        stage->status = std::move(status);
        stage_ended(stage);
    }

    // By value: `lane` may be an element of lanes_, which this erases.
    void close_lane(LanePtr lane) {
        boost::system::error_code ignored;
        if (lane->socket) lane->socket->close(ignored);
        lane->socket.reset();
        std::erase(lanes_, lane);
        // A stage still in it ended without a status (read_lane, or the server died).
        if (ProcPtr stage = std::move(lane->stage); stage && !stage->reaped) stage_ended(stage);
    }

    // The stage's shim (or lane) is done with it: what remains is draining its output.
    void stage_ended(const ProcPtr& proc) {
        proc->reaped = true;
        proc->ended = Clock::now();
        if (proc->timeout_timer) proc->timeout_timer->cancel();
        if (proc->kill_timer) proc->kill_timer->cancel();
        maybe_finish(proc);
    }

    LanePtr lane_of(const Proc& proc) const {
        for (const LanePtr& lane : lanes_) {
            if (lane->id == proc.lane) return lane;
        }
        return nullptr;
    }

    static std::string two_fields(std::string_view verb, std::uint64_t id) {
        std::string request;
        request.append(verb);
        request.push_back('\0');
        request.append(std::to_string(id));
        request.push_back('\0');
        return request;
    }

    static std::string run_request(ProcessId id, const ProcessSpec& spec,
                                   const std::filesystem::path& cwd, Millis drain) {
        std::string request;
        auto field = [&request](std::string_view text) {
            request.append(text);
            request.push_back('\0');
        };
        field(shim::k_request_run);
        field(std::to_string(id));
        field(std::to_string(std::max(spec.grace, Millis{0}).count()));
        field(std::to_string(std::max(drain, Millis{0}).count()));
        field(cwd.string());
        field(std::to_string(spec.argv.size()));
        for (const auto& arg : spec.argv) field(arg);
        // Like bp::environment on the classic path: a name given twice keeps its last value.
        std::vector<bool> keep(spec.env.size(), true);
        std::size_t kept = spec.env.size();
        for (std::size_t i = 0; i < spec.env.size(); ++i) {
            for (std::size_t j = i + 1; j < spec.env.size(); ++j) {
                if (spec.env[i].first == spec.env[j].first) {
                    keep[i] = false;
                    --kept;
                    break;
                }
            }
        }
        field(std::to_string(kept));
        for (std::size_t i = 0; i < spec.env.size(); ++i) {
            if (!keep[i]) continue;
            request.append(spec.env[i].first);
            request.push_back('=');
            field(spec.env[i].second);
        }
        return request;
    }

    // Never blocks the loop on a peer, never dies of SIGPIPE if it is gone.
    static bool send_datagram(int socket, const std::string& data, const int* fds, int fd_count) {
        iovec vector{const_cast<char*>(data.data()), data.size()};
        msghdr message{};
        message.msg_iov = &vector;
        message.msg_iovlen = 1;
        alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
        if (fd_count > 0) {
            message.msg_control = control;
            message.msg_controllen = CMSG_SPACE(sizeof(int) * static_cast<std::size_t>(fd_count));
            cmsghdr* header = CMSG_FIRSTHDR(&message);
            header->cmsg_level = SOL_SOCKET;
            header->cmsg_type = SCM_RIGHTS;
            header->cmsg_len = CMSG_LEN(sizeof(int) * static_cast<std::size_t>(fd_count));
            std::memcpy(CMSG_DATA(header), fds, sizeof(int) * static_cast<std::size_t>(fd_count));
        }
        ssize_t sent;
        do {
            sent = ::sendmsg(socket, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
        } while (sent < 0 && errno == EINTR);
        return sent >= 0;
    }

    bool send_to_server(const std::string& request, const int* fds, int fd_count) {
        if (!server_) return false;
        if (send_datagram(server_.get(), request, fds, fd_count)) return true;
        if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) server_.reset();
        return false;  // EAGAIN: this stage goes the classic way
    }

    // "term" to the stage's lane. A lost request only matters if the lane is gone, and then its
    // stage is over too.
    void send_term(const Proc& proc) {
        LanePtr lane = lane_of(proc);
        if (!lane || !lane->socket) return;
        (void)send_datagram(lane->socket->native_handle(),
                            two_fields(shim::k_request_term, proc.id), nullptr, 0);
    }

    // The last resort, through the lane's parent (the server), which can kill it safely.
    void send_kill(const Proc& proc) {
        (void)send_to_server(two_fields(shim::k_request_kill, proc.lane), nullptr, 0);
    }

    void fail_start(const ProcPtr& proc, std::string message) {
        proc->start_failure = std::move(message);
        proc->out.reset();
        proc->err.reset();
        // Delivered from the loop like every other exit, never from inside start().
        asio::post(io_, guarded([this, proc] { finish(proc); }));
    }

    std::unique_ptr<char[]> take_buffer() {
        if (free_buffers_.empty()) return std::make_unique_for_overwrite<char[]>(k_read_size);
        auto buffer = std::move(free_buffers_.back());
        free_buffers_.pop_back();
        return buffer;
    }

    void give_back(std::unique_ptr<char[]>& buffer) {
        if (buffer && free_buffers_.size() < 64) free_buffers_.push_back(std::move(buffer));
        buffer.reset();
    }

    void read_output(const ProcPtr& proc, Stream stream) {
        auto& descriptor = stream == Stream::out ? proc->out : proc->err;
        char* buffer = (stream == Stream::out ? proc->out_buffer : proc->err_buffer).get();
        if (!descriptor || buffer == nullptr) return;
        descriptor->async_read_some(
            asio::buffer(buffer, k_read_size),
            guarded([this, proc, stream, buffer](const boost::system::error_code& error,
                                                 std::size_t size) {
                if (size > 0 && proc->on_output && !proc->delivered) {
                    proc->on_output(stream, std::string_view(buffer, size));
                }
                if (!error) {
                    read_output(proc, stream);
                    return;
                }
                // EOF, or the pipe was closed because the drain timed out.
                close_stream(proc, stream);
                maybe_finish(proc);
            }));
    }

    void close_stream(const ProcPtr& proc, Stream stream) {
        auto& descriptor = stream == Stream::out ? proc->out : proc->err;
        boost::system::error_code ignored;
        if (descriptor) descriptor->close(ignored);
        (stream == Stream::out ? proc->out_open : proc->err_open) = false;
        give_back(stream == Stream::out ? proc->out_buffer : proc->err_buffer);
    }

    void wait_for_children() {
        child_signals_.async_wait(guarded([this](const boost::system::error_code& error, int) {
            if (error) return;
            reap_children();
            wait_for_children();
        }));
    }

    void wait_for_stop() {
        stop_signals_->async_wait(guarded([this](const boost::system::error_code& error, int) {
            if (error) return;
            stop_requested_ = true;
            ++stop_signals_seen_;
            wait_for_stop();
        }));
    }

    // SIGCHLD coalesces, so every unreaped shim is asked, without blocking.
    void reap_children() {
        if (server_pid_ > 0) {
            int status = 0;
            pid_t pid = ::waitpid(server_pid_, &status, WNOHANG);
            if (pid == server_pid_ || (pid < 0 && errno == ECHILD)) {
                // Its lanes end through PDEATHSIG (a busy one after reporting its stage); new
                // stages take the classic way.
                server_pid_ = -1;
                server_.reset();
                std::vector<LanePtr> idle;
                for (const LanePtr& lane : lanes_) {
                    if (!lane->stage) idle.push_back(lane);
                }
                for (const LanePtr& lane : idle) close_lane(lane);
            }
        }
        std::vector<ProcPtr> ended;
        for (const auto& [id, proc] : procs_) {
            if (proc->via_server || proc->pid <= 0 || proc->reaped) continue;
            int status = 0;
            rusage usage{};
            pid_t pid;
            do {
                pid = ::wait4(proc->pid, &status, WNOHANG, &usage);
            } while (pid < 0 && errno == EINTR);
            if (pid == proc->pid) {
                proc->wait_status = status;
                proc->usage = usage;
            } else if (pid < 0 && errno == ECHILD) {
                proc->lost = true;
            } else {
                continue;
            }
            proc->reaped = true;
            proc->ended = Clock::now();
            ended.push_back(proc);
        }
        for (const ProcPtr& proc : ended) {
            if (proc->timeout_timer) proc->timeout_timer->cancel();
            if (proc->kill_timer) proc->kill_timer->cancel();
            maybe_finish(proc);
        }
    }

    // SIGTERM to the shim, which forwards it to the tree and SIGKILLs it after the grace; the
    // group SIGKILL here is only for a shim that does not manage to (it was stopped, say).
    void terminate(const ProcPtr& proc) {
        if (proc->reaped || proc->terminating) return;
        if (!proc->via_server && proc->pid <= 0) return;
        proc->terminating = true;
        if (proc->via_server) {
            send_term(*proc);
        } else {
            ::kill(proc->pid, SIGTERM);
        }
        proc->kill_timer.emplace(io_);
        // A lane reports only once the stage's output is drained, which may take drain_timeout
        // after the tree is gone.
        proc->kill_timer->expires_after(proc->grace + options_.kill_margin +
                                        (proc->via_server ? options_.drain_timeout : Millis{0}));
        proc->kill_timer->async_wait(guarded([this, proc](const boost::system::error_code& error) {
            if (error || proc->reaped) return;
            if (proc->via_server) {
                send_kill(*proc);
                proc->killed = true;
            } else {
                kill_hard(*proc);
            }
        }));
    }

    // The shim is not reaped yet, so its pid (and group id) cannot have been reused.
    static void kill_hard(Proc& proc) {
        ::kill(-proc.pid, SIGKILL);
        ::kill(proc.pid, SIGKILL);
        proc.killed = true;
    }

    void maybe_finish(const ProcPtr& proc) {
        if (proc->delivered) return;
        if (proc->start_failure) {
            finish(proc);
            return;
        }
        if (!proc->reaped) return;
        if (proc->out_open || proc->err_open) {
            // The shim is gone but a pipe is still open: a process escaped the tree. Give the
            // output a moment, then stop waiting for it.
            if (!proc->drain_timer) {
                proc->drain_timer.emplace(io_);
                proc->drain_timer->expires_after(options_.drain_timeout);
                proc->drain_timer->async_wait(
                    guarded([this, proc](const boost::system::error_code& error) {
                        if (error || proc->delivered) return;
                        proc->drain_cut = true;
                        boost::system::error_code ignored;
                        if (proc->out) proc->out->close(ignored);
                        if (proc->err) proc->err->close(ignored);
                    }));
            }
            return;
        }
        finish(proc);
    }

    void finish(const ProcPtr& proc) {
        if (proc->delivered) return;
        proc->delivered = true;
        if (proc->drain_timer) proc->drain_timer->cancel();
        if (proc->timeout_timer) proc->timeout_timer->cancel();
        if (proc->kill_timer) proc->kill_timer->cancel();
        ProcessOutcome outcome;
        if (proc->start_failure) {
            outcome.start_failed = true;
            outcome.message = *proc->start_failure;
        } else {
            outcome = outcome_of(*proc);
        }
        procs_.erase(proc->id);
        ++exits_delivered_;
        proc->on_output = nullptr;
        auto on_exit = std::move(proc->on_exit);
        if (on_exit) on_exit(proc->id, outcome);
    }

    ProcessOutcome outcome_of(Proc& proc) {
        ProcessOutcome outcome;
        outcome.duration = std::chrono::duration_cast<Millis>(proc.ended - proc.started);
        outcome.timed_out = proc.timed_out;
        outcome.cancelled = proc.cancelled;
        std::optional<ShimStatus> status;
        if (proc.via_server) {
            status = std::move(proc.status);
        } else {
            status = parse_shim_status(read_small_file(proc.status_file));
            ::unlink(proc.status_file.c_str());
        }
        std::string why;
        if (status) {
            outcome.max_rss_kb = status->max_rss_kb;
            outcome.user_seconds = static_cast<double>(status->user_us) / 1e6;
            outcome.system_seconds = static_cast<double>(status->system_us) / 1e6;
            if (status->spawn_errno != 0) {
                outcome.start_failed = true;
                why = std::string("cannot start the stage: fork: ") +
                      std::strerror(status->spawn_errno);
            } else if (status->chdir_errno != 0) {
                outcome.start_failed = true;
                why = "cannot change to the working directory " + proc.cwd.string() + ": " +
                      std::strerror(status->chdir_errno);
            } else if (status->exec_errno != 0) {
                outcome.start_failed = true;
                outcome.exit_code = status->exit_code.value_or(127);
                why = status->exec_errno == ENOENT && proc.program.find('/') == std::string::npos
                          ? "command not found: " + proc.program
                          : "cannot run " + proc.program + ": " + std::strerror(status->exec_errno);
            } else if (status->signal) {
                outcome.signal = *status->signal;
            } else if (status->exit_code) {
                outcome.exit_code = *status->exit_code;
            }
        } else {
            // The shim died without reporting: our last-resort SIGKILL, the OOM killer, or a
            // setup failure before it ran.
            if (!proc.via_server) ::unlink((proc.status_file.string() + ".tmp").c_str());
        }
        if (!status && proc.via_server) {
            // No wait status either: the fork server reaped the lane.
            if (proc.killed) {
                outcome.signal = SIGKILL;
                why = "the stage shim was killed by SIGKILL after it did not end the stage in time";
            } else {
                why = "the stage shim ended without reporting (killed, or its server died)";
            }
        } else if (!status) {
            outcome.max_rss_kb = proc.usage.ru_maxrss;
            outcome.user_seconds = static_cast<double>(proc.usage.ru_utime.tv_sec) +
                                   static_cast<double>(proc.usage.ru_utime.tv_usec) / 1e6;
            outcome.system_seconds = static_cast<double>(proc.usage.ru_stime.tv_sec) +
                                     static_cast<double>(proc.usage.ru_stime.tv_usec) / 1e6;
            if (proc.lost) {
                why =
                    "the stage's exit status was lost (another part of the runner waited for "
                    "it)";
            } else if (WIFSIGNALED(proc.wait_status)) {
                outcome.signal = WTERMSIG(proc.wait_status);
                why = "the stage shim was killed by " + signal_name(outcome.signal) +
                      (proc.killed ? " after it did not end the stage in time" : "");
            } else {
                int code = WEXITSTATUS(proc.wait_status);
                outcome.start_failed = true;
                why = code == k_exit_child_setup
                          ? "cannot set up the stage process (descriptors or process group)"
                          : "the stage shim " + shim_.string() + " failed with exit status " +
                                std::to_string(code) + " (see the stage's stderr)";
            }
        }
        if (outcome.timed_out) {
            outcome.message = "timed out after " + seconds_text(outcome.duration);
        } else if (outcome.cancelled) {
            outcome.message = "cancelled";
        }
        if (why.empty()) {
            if (outcome.signal != 0) {
                why = "killed by " + signal_name(outcome.signal);
            } else if (outcome.exit_code != 0 && !outcome.timed_out && !outcome.cancelled) {
                why = "exited with status " + std::to_string(outcome.exit_code);
            }
        }
        if (!why.empty()) {
            outcome.message = outcome.message.empty() ? why : outcome.message + " (" + why + ")";
        }
        if (proc.drain_cut) {
            outcome.message += std::string(outcome.message.empty() ? "" : "; ") +
                               "output may be incomplete: a process that escaped the stage "
                               "still held its output open";
        }
        return outcome;
    }

    void tear_down() {
        for (auto& [id, proc] : procs_) {
            proc->on_output = nullptr;
            proc->on_exit = nullptr;
        }
        end_running_trees();
        alive_.reset();
        for (auto& [id, proc] : procs_) {
            boost::system::error_code ignored;
            if (proc->out) proc->out->close(ignored);
            if (proc->err) proc->err->close(ignored);
            if (proc->timeout_timer) proc->timeout_timer->cancel();
            if (proc->kill_timer) proc->kill_timer->cancel();
            if (proc->drain_timer) proc->drain_timer->cancel();
            if (!proc->status_file.empty() && !proc->via_server) {
                ::unlink(proc->status_file.c_str());
                ::unlink((proc->status_file.string() + ".tmp").c_str());
            }
        }
        procs_.clear();
        boost::system::error_code ignored;
        child_signals_.cancel(ignored);
        if (stop_signals_) stop_signals_->cancel(ignored);
        // Let the cancelled handlers run now (they see the executor gone and return), so none
        // refers to it later.
        if (owned_io_) {
            owned_io_->restart();
            owned_io_->poll();
        }
        if (own_status_dir_) {
            std::error_code ec;
            std::filesystem::remove_all(status_dir_, ec);
        }
        if (scheduling_) platform::restore_scheduling(*scheduling_);
    }

    // The destructor's way of ending stages: SIGTERM now, SIGKILL once the grace is over, and
    // wait for the shims without running the loop (which may belong to someone else).
    void end_running_trees() {
        Millis longest_grace{0};
        std::vector<pid_t> waiting;
        for (auto& [id, proc] : procs_) {
            if (proc->reaped || proc->start_failure) continue;
            longest_grace = std::max(longest_grace, proc->grace);
            if (proc->via_server) {
                if (!proc->terminating) send_term(*proc);
                continue;
            }
            if (proc->pid <= 0) continue;
            if (!proc->terminating) ::kill(proc->pid, SIGTERM);
            waiting.push_back(proc->pid);
        }
        // Closing the sockets tells the lanes and the server to end whatever still runs and exit;
        // the server exits once its lanes are gone, so waiting for it is waiting for them.
        for (const LanePtr& lane : lanes_) {
            boost::system::error_code ignored;
            if (lane->socket) lane->socket->close(ignored);
            lane->socket.reset();
            lane->stage.reset();
        }
        lanes_.clear();
        server_.reset();
        if (server_pid_ > 0) waiting.push_back(server_pid_);
        const auto deadline = Clock::now() + longest_grace + options_.kill_margin;
        bool killed = false;
        long pause_ns = 50'000;
        while (!waiting.empty()) {
            std::erase_if(waiting, [](pid_t pid) {
                int status = 0;
                pid_t done = ::waitpid(pid, &status, WNOHANG);
                return done == pid || (done < 0 && errno == ECHILD);
            });
            if (waiting.empty()) break;
            if (!killed && Clock::now() >= deadline) {
                // The server's stages still get PR_SET_PDEATHSIG when it goes.
                for (pid_t pid : waiting) {
                    ::kill(-pid, SIGKILL);
                    ::kill(pid, SIGKILL);
                }
                killed = true;
            }
            // A poll keeps this independent of the (possibly shared) io_context. At the end of
            // every run the server and its idle lanes exit within a millisecond, so the first
            // pauses are short; stages still running take longer.
            timespec pause{0, pause_ns};
            ::nanosleep(&pause, nullptr);
            pause_ns = std::min(pause_ns * 2, 2'000'000L);
        }
        server_pid_ = -1;
        for (auto& [id, proc] : procs_) proc->reaped = true;
    }

    std::unique_ptr<asio::io_context> owned_io_;
    asio::io_context& io_;
    std::filesystem::path shim_;
    ExecutorOptions options_;
    std::filesystem::path status_dir_;
    bool own_status_dir_ = false;
    std::optional<std::string> setup_error_;
    util::UniqueFd dev_null_;  // read-write: stdin of stages, stdout/stderr of the server
    util::UniqueFd server_;    // our end of the fork server's socket; empty when none
    // This thread's scheduling before the executor asked for short slices (none: unchanged).
    std::optional<platform::Scheduling> scheduling_;
    std::vector<LanePtr> lanes_;  // at most as many as stages ever ran at once
    std::uint64_t next_lane_id_ = 1;
    pid_t server_pid_ = -1;
    bool server_tried_ = false;
    asio::signal_set child_signals_;
    std::optional<asio::signal_set> stop_signals_;
    std::unordered_map<ProcessId, ProcPtr> procs_;
    std::vector<std::unique_ptr<char[]>> free_buffers_;
    ProcessId next_id_ = 1;
    std::uint64_t exits_delivered_ = 0;
    std::uint64_t stop_signals_seen_ = 0;
    bool stop_requested_ = false;
    pid_t self_pid_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

Executor::Executor(std::filesystem::path shim, ExecutorOptions options)
    : impl_(std::make_unique<Impl>(std::move(shim), nullptr, std::move(options))) {}

Executor::Executor(std::filesystem::path shim, boost::asio::io_context& io, ExecutorOptions options)
    : impl_(std::make_unique<Impl>(std::move(shim), &io, std::move(options))) {}

Executor::~Executor() = default;

ProcessId Executor::start(const ProcessSpec& spec, OutputHandler on_output, ExitHandler on_exit) {
    if (!spec.argv.empty() && spec.argv.front().find('/') == std::string::npos) {
        std::string path;
        for (const auto& [key, value] : spec.env) {
            if (key == "PATH") path = value;
        }
        if (auto found = command_paths_.find(spec.argv.front(), path)) {
            ProcessSpec resolved = spec;
            resolved.argv.front() = *found;
            return impl_->start(resolved, std::move(on_output), std::move(on_exit));
        }
    }
    return impl_->start(spec, std::move(on_output), std::move(on_exit));
}

void Executor::cancel(ProcessId id) { impl_->cancel(id); }

void Executor::cancel_all() { impl_->cancel_all(); }

void Executor::wait_until(std::optional<std::chrono::steady_clock::time_point> deadline) {
    impl_->wait_until(deadline);
}

bool Executor::stop_requested() const { return impl_->stop_requested(); }

std::size_t Executor::running() const { return impl_->running(); }

std::size_t Executor::poll() { return impl_->poll(); }

boost::asio::io_context& Executor::io_context() { return impl_->io(); }

}  // namespace sluice::exec
