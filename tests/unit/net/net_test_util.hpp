#pragma once

// Running coroutines of the net library to completion in a test; compressing test bodies.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <zlib.h>

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

/// The wrappers a compressed HTTP body comes in.
enum class Wrapper { Gzip, Zlib, RawDeflate };

/// `text` compressed with zlib in `wrapper` ("Content-Encoding: gzip" is Gzip, "deflate" is
/// Zlib, though some servers send RawDeflate).
inline std::string compress(std::string_view text, Wrapper wrapper) {
    const int bits = wrapper == Wrapper::Gzip ? 15 + 16 : wrapper == Wrapper::Zlib ? 15 : -15;
    z_stream zs{};
    if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2 failed");
    std::string out(deflateBound(&zs, static_cast<uLong>(text.size())) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    zs.avail_in = static_cast<uInt>(text.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
    return out;
}

} // namespace conveyor::net::test_util
