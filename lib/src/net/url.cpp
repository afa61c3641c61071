#include "conveyor/net/url.hpp"

#include "conveyor/core/ascii.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace conveyor::net {

namespace {

bool is_unreserved(unsigned char c) {
    return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
}

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

std::string to_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), lower);
    return out;
}

/// Query parameter names whose values must not appear in logs.
bool looks_secret(std::string_view name) {
    const std::string n = to_lower(percent_decode(name));
    static constexpr std::array<std::string_view, 10> kWords = {
        "key", "token", "secret", "password",   "passwd",
        "pwd", "auth",  "sig",    "credential", "session"};
    return std::any_of(kWords.begin(), kWords.end(),
                       [&](std::string_view w) { return n.find(w) != std::string::npos; });
}

Failure bad_url(std::string_view text, std::string why) {
    return fail(ErrorKind::Data, "invalid URL \"" + redact_url(text) + "\": " + std::move(why));
}

} // namespace

std::string Url::host_header() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (explicit_port && port != (tls ? 443 : 80)) h += ":" + std::to_string(port);
    return h;
}

std::string Url::pool_key() const {
    return host + ":" + std::to_string(port) + (tls ? ":tls" : "");
}

Result<Url> parse_url(std::string_view text) {
    Url url;
    std::string_view rest = text;
    const std::size_t colon = rest.find("://");
    if (colon == std::string_view::npos)
        return bad_url(text, "it must start with http:// or https://");
    const std::string scheme = to_lower(rest.substr(0, colon));
    if (scheme == "https") {
        url.tls = true;
    } else if (scheme != "http") {
        return bad_url(text, "the scheme must be http or https, not \"" + scheme + "\"");
    }
    rest.remove_prefix(colon + 3);
    for (char c : rest) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f)
            return bad_url(text, "it contains a space or a control character");
    }
    if (const std::size_t hash = rest.find('#'); hash != std::string_view::npos)
        rest = rest.substr(0, hash);
    const std::size_t path_at = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, path_at);
    std::string_view target =
        path_at == std::string_view::npos ? std::string_view{} : rest.substr(path_at);
    if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
        url.userinfo = std::string(authority.substr(0, at));
        authority.remove_prefix(at + 1);
    }
    std::string_view host = authority;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return bad_url(text, "unclosed '[' in the host");
        host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':')
                return bad_url(text, "unexpected text after the IPv6 address");
            port = after.substr(1);
        }
    } else if (const std::size_t c = authority.rfind(':'); c != std::string_view::npos) {
        host = authority.substr(0, c);
        port = authority.substr(c + 1);
    }
    if (host.empty()) return bad_url(text, "the host is empty");
    for (char c : host) {
        const auto u = static_cast<unsigned char>(c);
        if (!(std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == ':' || u >= 0x80))
            return bad_url(text, "the host contains '" + std::string(1, c) + "'");
    }
    url.host = to_lower(host);
    url.port = url.tls ? 443 : 80;
    if (!port.empty()) {
        unsigned value = 0;
        for (char c : port) {
            if (c < '0' || c > '9') return bad_url(text, "the port is not a number");
            value = value * 10 + static_cast<unsigned>(c - '0');
            if (value > 65535) return bad_url(text, "the port is larger than 65535");
        }
        if (value == 0) return bad_url(text, "the port is 0");
        url.port = static_cast<std::uint16_t>(value);
        url.explicit_port = true;
    }
    if (target.empty()) {
        url.target = "/";
    } else if (target.front() == '?') {
        url.target = "/" + std::string(target);
    } else {
        url.target = std::string(target);
    }
    return url;
}

std::string redact_url(std::string_view url) {
    std::string out;
    out.reserve(url.size());
    const std::size_t scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) return std::string(url);
    std::size_t authority_at = scheme_end + 3;
    std::size_t authority_end = url.find_first_of("/?#", authority_at);
    if (authority_end == std::string_view::npos) authority_end = url.size();
    out.append(url.substr(0, authority_at));
    std::string_view authority = url.substr(authority_at, authority_end - authority_at);
    if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
        out += "***@";
        authority.remove_prefix(at + 1);
    }
    out.append(authority);
    std::string_view rest = url.substr(authority_end);
    const std::size_t q = rest.find('?');
    if (q == std::string_view::npos) {
        out.append(rest);
        return out;
    }
    out.append(rest.substr(0, q + 1));
    std::string_view query = rest.substr(q + 1);
    std::string_view fragment;
    if (const std::size_t hash = query.find('#'); hash != std::string_view::npos) {
        fragment = query.substr(hash);
        query = query.substr(0, hash);
    }
    bool first = true;
    while (!query.empty() || first) {
        const std::size_t amp = query.find('&');
        std::string_view param = query.substr(0, amp);
        if (!first) out += '&';
        first = false;
        const std::size_t eq = param.find('=');
        if (eq != std::string_view::npos && looks_secret(param.substr(0, eq))) {
            out.append(param.substr(0, eq + 1));
            out += "***";
        } else {
            out.append(param);
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    out.append(fragment);
    return out;
}

void append_percent_encoded(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (is_unreserved(u)) {
            out += c;
        } else {
            out += '%';
            out += kHex[u >> 4];
            out += kHex[u & 0x0f];
        }
    }
}

std::string percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            const int hi = hex_value(s[i + 1]);
            const int lo = hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

std::string base64_encode(std::string_view s) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((s.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < s.size(); i += 3) {
        const unsigned v = (static_cast<unsigned char>(s[i]) << 16) |
                           (static_cast<unsigned char>(s[i + 1]) << 8) |
                           static_cast<unsigned char>(s[i + 2]);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    if (i < s.size()) {
        unsigned v = static_cast<unsigned char>(s[i]) << 16;
        if (i + 1 < s.size()) v |= static_cast<unsigned char>(s[i + 1]) << 8;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += i + 1 < s.size() ? kAlphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

} // namespace conveyor::net
