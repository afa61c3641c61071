#pragma once

#include "conveyor/core/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace conveyor::net {

/// An absolute http:// or https:// URL split into what a request needs.
struct Url {
    bool tls = false;       ///< https
    std::string userinfo;   ///< "user:password" as written (still percent-encoded), or empty
    std::string host;       ///< without brackets for IPv6 literals, lower-cased
    std::uint16_t port = 0; ///< explicit or the scheme's default (80 / 443)
    bool explicit_port = false;
    std::string target; ///< path and query ("/a/b?x=1"); "/" when the URL has no path

    /// The Host header value: host (bracketed if IPv6) plus ":port" when not the default.
    [[nodiscard]] std::string host_header() const;
    /// "host:port:tls" - connections are pooled under this key.
    [[nodiscard]] std::string pool_key() const;
};

/// Parses an absolute http(s) URL. A fragment is dropped; a URL with spaces or control
/// characters is rejected (template values are percent-encoded, so only a bad template can
/// produce one). Errors are ErrorKind::Data with a plain-words message.
Result<Url> parse_url(std::string_view text);

/// The URL as it may appear in logs and error messages: userinfo becomes "***", and the value of
/// query parameters whose name suggests a secret (key, token, secret, password, auth, sig, ...)
/// becomes "***". Works on anything (never fails): text that is not a URL is returned as is.
std::string redact_url(std::string_view url);

/// Appends `s` percent-encoded for use inside a path segment or a query value: RFC 3986
/// unreserved characters (A-Z a-z 0-9 - . _ ~) are kept, every other byte becomes %XX
/// (upper-case hex), so the result can never change the structure of the URL it is put in.
void append_percent_encoded(std::string& out, std::string_view s);

/// Decodes %XX sequences (for userinfo -> Basic credentials); invalid sequences are kept.
std::string percent_decode(std::string_view s);

/// Standard base64 with padding (for Basic credentials).
std::string base64_encode(std::string_view s);

} // namespace conveyor::net
