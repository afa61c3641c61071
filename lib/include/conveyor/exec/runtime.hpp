#pragma once

// The execution contexts of one run. Includes Asio: only executors and I/O-bound plugins
// (http) include this header.

#include "conveyor/core/work_pool.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstddef>
#include <optional>
#include <thread>

namespace conveyor {

/// - io(): one thread for sockets, timers and signals. Never blocked by CPU work.
/// - workers(): `[global] workers` threads for transforms and sinks (CPU work), and for the
///   pieces of work stages split off (WorkPool: csv.read's chunks, json.write's encoding).
/// - sources(): one thread per source stage, because a source may block on its input
///   (stdin, a FIFO) without starving the rest of the graph.
class Runtime final : public WorkPool {
public:
    /// Throws (std::system_error, boost::system::system_error, std::bad_alloc) when the threads
    /// cannot be started.
    Runtime(std::size_t workers, std::size_t source_threads);
    ~Runtime() override;
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    boost::asio::io_context& io() noexcept { return io_; }
    boost::asio::thread_pool& workers() noexcept { return workers_; }
    boost::asio::thread_pool& sources() noexcept { return sources_; }
    [[nodiscard]] std::size_t worker_count() const noexcept { return worker_count_; }

    /// WorkPool: runs `fn` on workers().
    void post(std::function<void()> fn) override;
    [[nodiscard]] std::size_t size() const noexcept override { return worker_count_; }

    /// Lets io() return once its work is done and joins every thread.
    void shutdown();

private:
    std::size_t worker_count_;
    boost::asio::io_context io_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
        io_work_;
    boost::asio::thread_pool workers_;
    boost::asio::thread_pool sources_;
    /// Started last: a pool that cannot start its threads (ulimit -v, -u) throws before it,
    /// instead of leaving a joinable thread whose destruction would end the process.
    std::thread io_thread_;
    bool shut_down_ = false;
};

} // namespace conveyor
