#pragma once

// Running coroutines of the net library to completion in a test.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <exception>
#include <functional>
#include <optional>

namespace conveyor::net::test_util {

/// Runs `make(strand)` on a fresh io_context until everything on it is done; returns its value.
template <class T>
T run(const std::function<boost::asio::awaitable<T>(boost::asio::any_io_executor)>& make) {
    boost::asio::io_context ioc;
    boost::asio::any_io_executor strand = boost::asio::make_strand(ioc);
    std::optional<T> out;
    std::exception_ptr error;
    boost::asio::co_spawn(strand, make(strand), [&](std::exception_ptr ep, T v) {
        error = ep;
        if (!ep) out.emplace(std::move(v));
    });
    ioc.run();
    if (error) std::rethrow_exception(error);
    return std::move(*out);
}

} // namespace conveyor::net::test_util
