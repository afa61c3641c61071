#pragma once

// The part of the HTTP client that turns the bytes a server sent into one HttpResponse, apart
// from any socket: HTTP/1.1 framing with the header and body limits, interim 1xx responses
// skipped, the body's content coding undone within the same limit. HttpClient feeds it what it
// reads; tests and the fuzz target feed it plain buffers. Beast stays in the .cpp file.

#include "conveyor/net/http_client.hpp"

#include <cstddef>
#include <memory>
#include <string_view>

namespace conveyor::net {

/// Bounds on what a reader accepts from the server.
struct ResponseLimits {
    /// The body, as received and again after decoding (HttpClient: max_response_bytes).
    std::size_t max_body_bytes = 10u << 20;
    /// The status line and header fields of one response.
    std::size_t max_header_bytes = 64u * 1024;
    /// Interim (1xx) responses before the final one; more is a protocol error.
    std::size_t max_interim = 16;
};

/// Reads one response to one request. Not thread-safe; one per request.
class ResponseReader {
public:
    enum class State { NeedMore, Done, Failed };

    /// `head_request`: the response to a HEAD has no body whatever its headers say.
    ResponseReader(ResponseLimits limits, bool head_request);
    ~ResponseReader();
    ResponseReader(const ResponseReader&) = delete;
    ResponseReader& operator=(const ResponseReader&) = delete;

    /// Parses what it can of `bytes` (which start where the previous call stopped using them)
    /// and returns how many it used. While the state is NeedMore, call again with the unused
    /// bytes followed by more. Once Done, the bytes not used are not part of this response.
    std::size_t put(std::string_view bytes);

    /// The server closed the connection: ends a body delimited by the close, or fails with
    /// FailureKind::Reset when the response is incomplete.
    void put_eof();

    [[nodiscard]] State state() const noexcept;
    /// Whether any byte of a response (interim ones included) has been used.
    [[nodiscard]] bool got_some() const noexcept;
    /// Done: the connection may carry another request (HTTP keep-alive, and the body was not
    /// delimited by the connection's end).
    [[nodiscard]] bool keep_alive() const noexcept;
    /// Done: the final response, body decoded. Failed: the failure kind and message (Protocol
    /// for malformed responses, an unasked 101 or an undecodable body; TooLarge for a body
    /// over the limit, raw or decoded; Reset for a response cut short by the close).
    HttpResult take_result();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Reads `bytes` as everything a server sent on a connection before closing it (the fuzz target
/// and tests use this): the HttpResult a request would get. Never throws.
HttpResult parse_http_response(std::string_view bytes, const ResponseLimits& limits,
                               bool head_request = false);

} // namespace conveyor::net
