#include "conveyor/exec/runtime.hpp"

#include <boost/asio/post.hpp>

namespace conveyor {

Runtime::Runtime(std::size_t workers, std::size_t source_threads)
    : worker_count_(workers), io_(1), io_work_(boost::asio::make_work_guard(io_)),
      workers_(workers), sources_(source_threads), io_thread_([this] { io_.run(); }) {}

Runtime::~Runtime() {
    shutdown();
}

void Runtime::post(std::function<void()> fn) {
    boost::asio::post(workers_, std::move(fn));
}

void Runtime::shutdown() {
    if (shut_down_) return;
    shut_down_ = true;
    workers_.join();
    sources_.join();
    io_work_.reset();
    io_.stop();
    if (io_thread_.joinable()) io_thread_.join();
}

} // namespace conveyor
