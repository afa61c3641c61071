#pragma once

// Undoing the content codings of a response body (RFC 9110 section 8.4): gzip and deflate
// through zlib, bounded like the raw body so a small compressed body cannot expand without
// limit. Internal to the net library: zlib stays out of every public header.

#include "conveyor/net/http_client.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace conveyor::net {

/// Why a body could not be decoded: FailureKind::TooLarge when the decoded body would exceed the
/// limit, FailureKind::Protocol for an unknown coding or corrupt compressed data.
struct DecodeFailure {
    FailureKind kind = FailureKind::Protocol;
    std::string message;
};

/// Decodes `body` in place. `content_encoding` is the Content-Encoding field value (several
/// fields joined with ", "): codings in the order the server applied them, undone last first.
/// "identity" is a no-op; "gzip" (and its alias "x-gzip") may hold several gzip members;
/// "deflate" is the zlib format, or raw deflate data as some servers send. An empty body is left
/// as is (HEAD, 204 and 304 responses carry the header without a body). At most `max_bytes` are
/// ever produced per coding step; on failure `body` is unspecified.
std::optional<DecodeFailure> decode_content(std::string_view content_encoding, std::string& body,
                                            std::size_t max_bytes);

} // namespace conveyor::net
