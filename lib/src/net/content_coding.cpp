#include "content_coding.hpp"

#include "conveyor/core/ascii.hpp"

#include <algorithm>
#include <array>
#include <vector>
#include <zlib.h>

namespace conveyor::net {

namespace {

/// More codings than this on one body is not a real server (it would be a way to make us spend
/// CPU on nested layers).
constexpr std::size_t kMaxCodings = 4;

enum class Inflated { Ok, TooLarge, Corrupt };

/// zlib's stream state, ended however the function using it returns.
class ZStream {
public:
    explicit ZStream(int window_bits) { ready_ = inflateInit2(&zs_, window_bits) == Z_OK; }
    ~ZStream() {
        if (ready_) inflateEnd(&zs_);
    }
    ZStream(const ZStream&) = delete;
    ZStream& operator=(const ZStream&) = delete;
    [[nodiscard]] bool ready() const noexcept { return ready_; }
    z_stream& get() noexcept { return zs_; }

private:
    z_stream zs_{};
    bool ready_ = false;
};

/// Inflates `in` (window_bits as for inflateInit2) into `out`, never letting `out` grow past
/// `max_bytes`. `members`: after the end of one stream another may follow (gzip members).
Inflated inflate_all(std::string_view in, int window_bits, bool members, std::size_t max_bytes,
                     std::string& out, std::string& why) {
    ZStream z(window_bits);
    if (!z.ready()) {
        why = "zlib could not start";
        return Inflated::Corrupt;
    }
    z_stream& zs = z.get();
    std::size_t fed = 0;
    std::array<unsigned char, 16 * 1024> chunk{};
    for (;;) {
        if (zs.avail_in == 0 && fed < in.size()) {
            // avail_in is 32 bits wide: feed large bodies in slices.
            const std::size_t n = std::min<std::size_t>(in.size() - fed, 1u << 30);
            zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + fed));
            zs.avail_in = static_cast<uInt>(n);
            fed += n;
        }
        zs.next_out = chunk.data();
        zs.avail_out = static_cast<uInt>(chunk.size());
        const int rc = inflate(&zs, Z_NO_FLUSH);
        const std::size_t produced = chunk.size() - zs.avail_out;
        if (produced > max_bytes - out.size()) return Inflated::TooLarge;
        out.append(reinterpret_cast<const char*>(chunk.data()), produced);
        const bool input_left = zs.avail_in > 0 || fed < in.size();
        if (rc == Z_STREAM_END) {
            if (!input_left) return Inflated::Ok;
            if (members && inflateReset(&zs) == Z_OK) continue;
            why = "data follows the end of the compressed stream";
            return Inflated::Corrupt;
        }
        if (rc == Z_OK) continue;
        if (rc == Z_BUF_ERROR && produced == 0 && !input_left) {
            why = "the compressed data ends early";
            return Inflated::Corrupt;
        }
        if (rc == Z_BUF_ERROR) continue;
        why = zs.msg ? zs.msg : "invalid compressed data";
        return Inflated::Corrupt;
    }
}

/// A zlib stream starts with a CMF/FLG pair: deflate method, and a check that makes the pair a
/// multiple of 31 (RFC 1950). Anything else labelled deflate is taken as raw deflate data.
bool has_zlib_header(std::string_view s) {
    if (s.size() < 2) return false;
    const auto cmf = static_cast<unsigned char>(s[0]);
    const auto flg = static_cast<unsigned char>(s[1]);
    return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

} // namespace

std::optional<DecodeFailure> decode_content(std::string_view content_encoding, std::string& body,
                                            std::size_t max_bytes) {
    std::vector<std::string> codings;
    for (std::size_t start = 0; start <= content_encoding.size();) {
        std::size_t comma = content_encoding.find(',', start);
        if (comma == std::string_view::npos) comma = content_encoding.size();
        const std::string coding = ascii_lower(trim(content_encoding.substr(start, comma - start)));
        if (!coding.empty() && coding != "identity") codings.push_back(coding);
        start = comma + 1;
    }
    if (codings.empty() || body.empty()) return std::nullopt;
    if (codings.size() > kMaxCodings)
        return DecodeFailure{
            FailureKind::Protocol,
            "the response body has " + std::to_string(codings.size()) +
                " content codings (Content-Encoding: " + std::string(content_encoding) +
                "); at most " + std::to_string(kMaxCodings) + " are decoded"};
    for (const std::string& c : codings) {
        if (c != "gzip" && c != "x-gzip" && c != "deflate")
            return DecodeFailure{FailureKind::Protocol,
                                 "the response body uses Content-Encoding \"" + c +
                                     "\", which cannot be decoded (gzip and deflate can)"};
    }
    for (auto it = codings.rbegin(); it != codings.rend(); ++it) {
        const bool gzip = *it != "deflate";
        // 15 = the largest window; +16 = gzip wrapper only; negative = raw deflate.
        const int window_bits = gzip ? 15 + 16 : (has_zlib_header(body) ? 15 : -15);
        std::string decoded;
        std::string why;
        switch (inflate_all(body, window_bits, gzip, max_bytes, decoded, why)) {
        case Inflated::Ok:
            break;
        case Inflated::TooLarge:
            return DecodeFailure{FailureKind::TooLarge, "response body over " +
                                                            std::to_string(max_bytes) +
                                                            " bytes after decoding " + *it +
                                                            " (the limit is max_response_bytes)"};
        case Inflated::Corrupt:
            return DecodeFailure{FailureKind::Protocol,
                                 "cannot decode the " + *it + " response body: " + why};
        }
        body = std::move(decoded);
    }
    return std::nullopt;
}

} // namespace conveyor::net
