#include "queue_common.hpp"

#include "session.hpp"

#include <atomic>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace conveyor::cli {

Result<OpenedQueue> open_queue_arg(const std::string& text) {
    Result<queue::QueueUrl> url = queue::parse_queue_url(text);
    if (!url) return std::move(url).error();
    Result<std::unique_ptr<queue::WorkQueue>> q = queue::open_queue(*url);
    if (!q) return std::move(q).error();
    return OpenedQueue{std::move(url).value(), std::move(q).value()};
}

int report_error(const Error& e) {
    print_err("conveyor: " + e.to_string() + "\n");
    return exit_code(e.kind);
}

Result<std::string> read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(ErrorKind::NoInput, "cannot read the pipeline file " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

int check_as_chunk(const std::string& pipeline, std::uint32_t chunks) {
    LoadOptions options;
    options.shard = ShardId{0, chunks};
    Loaded loaded = load(pipeline, options);
    return loaded.pipeline ? exit_codes::kOk : loaded.exit_code;
}

namespace {

int g_pipe[2] = {-1, -1};
std::atomic<int> g_signal{0};

extern "C" void on_stop_signal(int sig) {
    int expected = 0;
    g_signal.compare_exchange_strong(expected, sig);
    const char c = 1;
    [[maybe_unused]] const ssize_t n = ::write(g_pipe[1], &c, 1);
}

std::thread g_watcher;

} // namespace

StopOnSignals::StopOnSignals(queue::Abandon& stop) {
    if (::pipe2(g_pipe, O_CLOEXEC) != 0) return;
    g_watcher = std::thread([&stop] {
        char c = 0;
        while (::read(g_pipe[0], &c, 1) == 1) {
            if (c == 1) stop.request(g_signal == SIGINT ? "SIGINT" : "SIGTERM");
            if (c == 0) return;
        }
    });
    install();
}

StopOnSignals::~StopOnSignals() {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    if (g_watcher.joinable()) {
        const char c = 0;
        [[maybe_unused]] const ssize_t n = ::write(g_pipe[1], &c, 1);
        g_watcher.join();
    }
    ::close(g_pipe[0]);
    ::close(g_pipe[1]);
}

void StopOnSignals::install() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
}

} // namespace conveyor::cli
