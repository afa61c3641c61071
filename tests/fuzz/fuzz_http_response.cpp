// libFuzzer target: arbitrary bytes as what a server sent on a connection, through the same
// reader HttpClient uses (Beast's parser under our header and body limits, 1xx skipping,
// gzip/deflate decoding). Each input is read whole, then again in small slices the way the
// client feeds socket reads, and as the answer to a HEAD request. Seeds:
// tests/fuzz/corpus/http_response/.

#include "conveyor/net/http_response_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

/// Feeds `bytes` `slice` bytes at a time, keeping what the reader leaves unused, as the client
/// keeps it in its connection buffer between reads.
void read_in_slices(std::string_view bytes, std::size_t slice,
                    const conveyor::net::ResponseLimits& limits) {
    using conveyor::net::ResponseReader;
    ResponseReader reader(limits, false);
    std::string pending;
    std::size_t next = 0;
    while (reader.state() == ResponseReader::State::NeedMore) {
        if (next >= bytes.size()) {
            reader.put_eof();
            break;
        }
        const std::size_t n = slice < bytes.size() - next ? slice : bytes.size() - next;
        pending.append(bytes.substr(next, n));
        next += n;
        pending.erase(0, reader.put(pending));
    }
    (void)reader.take_result();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    conveyor::net::ResponseLimits limits;
    // Small limits reach the limit paths with small inputs (and keep bombs cheap).
    limits.max_body_bytes = 64 * 1024;
    limits.max_header_bytes = 4 * 1024;
    limits.max_interim = 4;
    (void)conveyor::net::parse_http_response(bytes, limits, false);
    (void)conveyor::net::parse_http_response(bytes, limits, true);
    read_in_slices(bytes, 1 + (size > 0 ? data[0] % 16 : 0), limits);
    return 0;
}
