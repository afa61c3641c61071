#pragma once

// Running coroutines of the net library to completion in a test; compressing test bodies;
// requests and host names the net tests share.

#include "conveyor/net/http_client.hpp"

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

/// A GET of `url`.
inline HttpRequest get(std::string url) {
    HttpRequest r;
    r.url = std::move(url);
    return r;
}

/// A host name that resolves nowhere, with no network and no DNS: a label of more than 63
/// octets cannot be part of any DNS name (RFC 1035), so the system's resolver refuses it itself
/// (EAI_NONAME) without asking a name server. ("nonexistent.invalid" would need one: glibc asks
/// the configured server, and answers EAI_AGAIN, a temporary failure, when there is none.)
inline std::string unresolvable_host() {
    static_assert(
        sizeof("no-dns-label-can-be-longer-than-sixty-three-octets-and-this-one-is-longer") - 1 >
        63);
    return "no-dns-label-can-be-longer-than-sixty-three-octets-and-this-one-is-longer.invalid";
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
