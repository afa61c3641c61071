// A worker process for the queue's chaos test: the real worker loop (queue::run_worker) over a
// real queue, with a ChunkRunner of the test's own that needs no pipeline. Chunk I's output is
// 100 lines "chunk I row K", staged in OUTDIR/.attempt-A/part-I (data plus a manifest naming the
// attempt) and committed by renaming that directory to OUTDIR/part-I without replacing
// (renameat2 RENAME_NOREPLACE): the same two steps as the pipeline's shard runner.
//
//   queue_test_worker URL OUTDIR [--hold-first FIFO] [--poison I]
// --hold-first: the first chunk this worker takes waits, after staging, until FIFO's writer
// closes it ("holding chunk I" on stderr first), paying no attention to a request to abandon
// it, so that only the commit fence can stop a worker that was paused past its lease.
// --poison: chunk I always fails.

#include "conveyor/queue/worker.hpp"

#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sstream>
#include <string>
#include <unistd.h>

using namespace conveyor;
namespace fs = std::filesystem;

namespace {

class TestRunner final : public queue::ChunkRunner {
public:
    TestRunner(std::string out, std::string hold, long poison)
        : out_(std::move(out)), hold_(std::move(hold)), poison_(poison) {}

    Result<queue::StagedChunk> stage(const queue::ChunkJob& job, queue::Abandon&) override {
        const bool hold = !hold_.empty() && !held_;
        held_ = true;
        if (static_cast<long>(job.chunk) == poison_ && !hold)
            return fail(ErrorKind::Data, "chunk " + std::to_string(job.chunk) +
                                             ": row 3 is poison (the test's bad chunk)");
        const fs::path dir =
            fs::path(out_) / (".attempt-" + job.attempt) / ("part-" + std::to_string(job.chunk));
        fs::create_directories(dir);
        {
            std::ofstream data(dir / "data");
            for (int k = 0; k < 100; ++k)
                data << "chunk " << job.chunk << " row " << k << "\n";
            std::ofstream(dir / "manifest") << job.attempt << "\n";
        }
        if (hold) {
            std::fprintf(stderr, "holding chunk %u\n", job.chunk);
            std::fflush(stderr);
            const int fd = ::open(hold_.c_str(), O_RDONLY);
            char c;
            while (fd >= 0 && ::read(fd, &c, 1) > 0) {
            }
            if (fd >= 0) ::close(fd);
        }
        return queue::StagedChunk{job.chunk, job.attempt, {dir.string()}};
    }

    Result<queue::CommitOutcome> commit(const queue::StagedChunk& staged) override {
        const fs::path part = fs::path(out_) / ("part-" + std::to_string(staged.chunk));
        if (::renameat2(AT_FDCWD, staged.files.at(0).c_str(), AT_FDCWD, part.c_str(),
                        RENAME_NOREPLACE) == 0) {
            discard(staged);
            return queue::CommitOutcome{true, staged.attempt};
        }
        if (errno != EEXIST) return fail(ErrorKind::CantCreate, "rename " + part.string());
        discard(staged);
        std::ifstream in(part / "manifest");
        std::string by;
        std::getline(in, by);
        return queue::CommitOutcome{false, by};
    }

    void discard(const queue::StagedChunk& staged) noexcept override {
        std::error_code ec;
        fs::remove_all(fs::path(out_) / (".attempt-" + staged.attempt), ec);
    }

private:
    std::string out_, hold_;
    long poison_;
    bool held_ = false;
};

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) return 64;
    std::string hold;
    long poison = -1;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (std::string(argv[i]) == "--hold-first") hold = argv[i + 1];
        if (std::string(argv[i]) == "--poison") poison = std::stol(argv[i + 1]);
    }
    spdlog::set_default_logger(spdlog::stderr_color_st("worker"));
    Result<queue::QueueUrl> url = queue::parse_queue_url(argv[1]);
    if (!url) return 64;
    Result<std::unique_ptr<queue::WorkQueue>> q = queue::open_queue(*url);
    if (!q) {
        std::fprintf(stderr, "%s\n", q.error().to_string().c_str());
        return 75;
    }
    TestRunner runner(argv[2], hold, poison);
    queue::WorkerOptions options;
    options.consumer = "test-worker-" + std::to_string(::getpid());
    options.exit_when_empty = true;
    options.idle_wait = std::chrono::milliseconds(100);
    queue::Abandon stop;
    Result<queue::WorkerReport> r = queue::run_worker(**q, runner, options, stop);
    if (!r) {
        std::fprintf(stderr, "%s\n", r.error().to_string().c_str());
        return 1;
    }
    std::fprintf(stderr, "report: committed %u, already %u, lost %u, failed %u, abandoned %u\n",
                 r->committed, r->already_committed, r->lease_lost, r->failed, r->abandoned);
    return 0;
}
