#include "local_backend.hpp"

#include "conveyor/io/shard_parts.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/registry/registry.hpp"
#include "finalize.hpp"
#include "run_command.hpp"
#include "session.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace conveyor::cli {

namespace {

/// The children a signal is forwarded to (written before the handlers are installed).
constexpr std::size_t kMaxChildren = 4096;
pid_t g_children[kMaxChildren];
std::atomic<std::size_t> g_child_count{0};

extern "C" void forward_signal(int sig) {
    const std::size_t n = g_child_count.load();
    for (std::size_t i = 0; i < n; ++i)
        if (g_children[i] > 0) ::kill(g_children[i], sig);
}

/// Starts `conveyor` again with our own arguments plus --shard i/N, with the signal mask
/// `mask`.
pid_t spawn_shard(ShardId id, const sigset_t& mask) {
    std::vector<std::string> args;
    for (char** a = start_argv(); a && *a; ++a)
        args.emplace_back(*a);
    args.emplace_back("--shard");
    args.push_back(fmt::format("{}/{}", id.index, id.count));
    std::vector<char*> argv;
    for (std::string& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
        // A process group of its own: a signal to ours (Ctrl-C on a terminal, timeout(1),
        // kill -- -PGID) reaches the shard once, forwarded by us, not twice (a second signal
        // aborts a run at once, throwing away what it could have resumed from).
        ::setpgid(0, 0);
        // SIGKILLed (a scheduler's hard kill, the OOM killer), we take the shards with us as
        // SIGTERM would, instead of leaving them running on their own.
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) _exit(exit_codes::kSigterm);
        // Until execv the parent's handler is ours too: a signal forwarded now would run it
        // here (and reach this shard's siblings instead of it). It acts as it would on the
        // shard before that installs its own.
        for (const int sig : {SIGINT, SIGTERM, SIGHUP}) {
            struct sigaction now {};
            if (::sigaction(sig, nullptr, &now) == 0 && now.sa_handler == forward_signal)
                ::signal(sig, SIG_DFL);
        }
        ::sigprocmask(SIG_SETMASK, &mask, nullptr);
        ::execv("/proc/self/exe", argv.data());
        _exit(exit_codes::kSoftware);
    }
    if (pid > 0) ::setpgid(pid, pid); // whichever of the two runs first
    return pid;
}

/// The exit code a wait status stands for (128 + signal for a killed child).
int code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return exit_codes::kSoftware;
}

} // namespace

int run_local(const RunArgs& args, const PipelineSpec& p) {
    std::size_t n = p.global.processes;
    if (n == 0) n = std::max(1U, std::thread::hardware_concurrency());
    n = std::min(n, kMaxChildren);
    const auto count = static_cast<std::uint32_t>(n);
    // Checked here once, not reported by every child: the pipeline can run sharded.
    LoadOptions options = load_options(args);
    options.shard = ShardId{0, count};
    if (Loaded checked = load(args.file, options); !checked.pipeline) return checked.exit_code;
    for (const StageSpec& st : p.stages) {
        const OptionValue* path = st.config.find("path");
        if (st.descriptor && st.descriptor->writes_files && path && path->is_string())
            remove_parts(path->as_string());
    }

    struct sigaction forward {};
    forward.sa_handler = forward_signal;
    sigemptyset(&forward.sa_mask);
    struct sigaction old_int {};
    struct sigaction old_term {};
    struct sigaction old_hup {};
    ::sigaction(SIGINT, &forward, &old_int);
    ::sigaction(SIGTERM, &forward, &old_term);
    // A closed terminal or ssh session (SIGHUP) killed this process at once, leaving the shards
    // to stop on their own (PR_SET_PDEATHSIG) unwaited for and without a word; now it reaches
    // them as SIGINT and SIGTERM do, and they stop as on SIGTERM. Under nohup it stays ignored.
    ::sigaction(SIGHUP, nullptr, &old_hup);
    if (old_hup.sa_handler != SIG_IGN) ::sigaction(SIGHUP, &forward, nullptr);
    // Held while the shards start: one that came before they were all known reached none of
    // them, and the run went on. Each shard starts with our mask as it was.
    sigset_t forwarded;
    sigset_t old_mask;
    sigemptyset(&forwarded);
    for (const int sig : {SIGINT, SIGTERM, SIGHUP})
        sigaddset(&forwarded, sig);
    ::sigprocmask(SIG_BLOCK, &forwarded, &old_mask);
    // Said once the signals are forwarded: from here on a signal reaches every shard.
    spdlog::info("running {} shards as processes (backend = \"local\")", count);
    int worst = exit_codes::kOk;
    bool signalled = false;
    for (std::uint32_t i = 0; i < count; ++i) {
        const pid_t pid = spawn_shard(ShardId{i, count}, old_mask);
        if (pid < 0) {
            spdlog::error("cannot start shard {}/{}: {}", i, count, std::strerror(errno));
            worst = exit_codes::kTempFail;
            forward_signal(SIGTERM);
            break;
        }
        g_children[g_child_count.load()] = pid;
        g_child_count.fetch_add(1);
    }
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr); // what came meanwhile is forwarded now
    for (std::size_t k = 0; k < g_child_count.load(); ++k) {
        int status = 0;
        while (::waitpid(g_children[k], &status, 0) < 0 && errno == EINTR) {
        }
        g_children[k] = 0;
        const int code = code_of(status);
        if (code != exit_codes::kOk)
            spdlog::error("shard {}/{} ended with exit code {}", k, count, code);
        if (WIFSIGNALED(status) || code == exit_codes::kSigint || code == exit_codes::kSigterm ||
            code == 128 + SIGHUP) {
            if (!signalled) worst = code;
            signalled = true;
        } else if (!signalled) {
            worst = std::max(worst, code);
        }
    }
    g_child_count.store(0);
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    ::sigaction(SIGHUP, &old_hup, nullptr);
    if (worst != exit_codes::kOk) {
        print_err(fmt::format("conveyor: not finalized: a shard failed (exit {}); the parts "
                              "committed so far are kept\n",
                              worst));
        return worst;
    }
    return finalize_outputs(p, count, false);
}

} // namespace conveyor::cli
