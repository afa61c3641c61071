// ResponseReader on plain byte buffers: framing, interim responses, content decoding and its
// limit, and the fuzz target's seed corpus read whole and in slices.

#include "conveyor/net/http_response_reader.hpp"
#include "support/paths.hpp"
#include "unit/net/net_test_util.hpp"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

namespace conveyor::net {
namespace {

using test_util::compress;
using test_util::Wrapper;

/// A response with Content-Length and the given extra header lines ("Name: value\r\n" each).
std::string response(std::string_view body, std::string_view headers = "", int status = 200) {
    return "HTTP/1.1 " + std::to_string(status) + " X\r\n" + std::string(headers) +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

HttpResult parse(std::string_view bytes, std::size_t max_body = 1u << 20, bool head = false) {
    ResponseLimits limits;
    limits.max_body_bytes = max_body;
    return parse_http_response(bytes, limits, head);
}

/// What ResponseReader makes of `bytes` fed `slice` bytes at a time, unused bytes kept.
HttpResult parse_in_slices(std::string_view bytes, std::size_t slice) {
    ResponseReader reader(ResponseLimits{}, false);
    std::string pending;
    std::size_t next = 0;
    while (reader.state() == ResponseReader::State::NeedMore) {
        if (next >= bytes.size()) {
            reader.put_eof();
            break;
        }
        const std::size_t n = std::min(slice, bytes.size() - next);
        pending.append(bytes.substr(next, n));
        next += n;
        pending.erase(0, reader.put(pending));
    }
    return reader.take_result();
}

TEST(ResponseReader, ReadsStatusHeadersAndBodyAndStopsAtTheEndOfTheResponse) {
    const std::string first = response("{\"a\":1}", "X-Trace: t1\r\n", 201);
    const std::string bytes = first + response("second");
    ResponseReader reader(ResponseLimits{}, false);
    EXPECT_EQ(reader.put(bytes), first.size());
    ASSERT_EQ(reader.state(), ResponseReader::State::Done);
    EXPECT_TRUE(reader.keep_alive());
    HttpResult r = reader.take_result();
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.response->status, 201);
    EXPECT_EQ(r.response->body, "{\"a\":1}");
    EXPECT_EQ(r.response->header("x-trace"), "t1");
}

TEST(ResponseReader, ReadsChunkedAndCloseDelimitedBodies) {
    HttpResult chunked = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    ASSERT_TRUE(chunked.ok()) << chunked.message;
    EXPECT_EQ(chunked.response->body, "abcde");

    ResponseReader reader(ResponseLimits{}, false);
    const std::string until_close = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it";
    EXPECT_EQ(reader.put(until_close), until_close.size());
    EXPECT_EQ(reader.state(), ResponseReader::State::NeedMore);
    reader.put_eof();
    ASSERT_EQ(reader.state(), ResponseReader::State::Done);
    EXPECT_FALSE(reader.keep_alive());
    EXPECT_EQ(reader.take_result().response->body, "all of it");
}

TEST(ResponseReader, AChunkedEndArrivingAByteAtATimeIsRead) {
    // Beast 1.81 asserted (in builds with assertions: the sanitizer and fuzz builds) when the
    // final chunk "0\r\n" was followed by fewer than two more bytes; found by fuzz_http_response.
    const std::string bytes = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "2\r\nab\r\n0\r\n\r\n";
    for (std::size_t slice : {1U, 2U, 3U, 7U}) {
        HttpResult r = parse_in_slices(bytes, slice);
        ASSERT_TRUE(r.ok()) << "slice " << slice << ": " << r.message;
        EXPECT_EQ(r.response->body, "ab") << "slice " << slice;
    }
    // A final chunk cut short is an incomplete response, whatever the slices.
    for (std::size_t slice : {1U, 9U}) {
        HttpResult r = parse_in_slices("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                       "0\r\n\n",
                                       slice);
        EXPECT_FALSE(r.ok()) << "slice " << slice;
    }
}

TEST(ResponseReader, InterimResponsesAreSkippedUpToTheFinalResponse) {
    const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n"
                                "HTTP/1.1 102 Processing\r\n\r\n"
                                "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n";
    const std::string final_response = response("final", "X-Final: yes\r\n");
    ResponseReader reader(ResponseLimits{}, false);
    // The bytes of the next response stay unused: they belong to no request of ours.
    EXPECT_EQ(reader.put(interim + final_response + "HTTP/1.1 200 OK\r\n"),
              interim.size() + final_response.size());
    ASSERT_EQ(reader.state(), ResponseReader::State::Done);
    HttpResult r = reader.take_result();
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.response->status, 200);
    EXPECT_EQ(r.response->body, "final");
    EXPECT_EQ(r.response->header("x-final"), "yes");
    EXPECT_FALSE(r.response->header("link")) << "headers of an interim response are not kept";
}

TEST(ResponseReader, AnUnaskedSwitchingProtocolsIsAProtocolError) {
    HttpResult r =
        parse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n" + response("after"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.failure, FailureKind::Protocol);
    EXPECT_NE(r.message.find("switched protocols (101)"), std::string::npos) << r.message;
}

TEST(ResponseReader, EndlessInterimResponsesAreAProtocolError) {
    std::string bytes;
    for (int i = 0; i < 17; ++i)
        bytes += "HTTP/1.1 100 Continue\r\n\r\n";
    HttpResult r = parse(bytes + response("late"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.failure, FailureKind::Protocol);
    EXPECT_NE(r.message.find("more than 16 interim (1xx) responses"), std::string::npos);
    EXPECT_TRUE(parse(bytes.substr(bytes.size() / 17) + response("in time")).ok());
}

TEST(ResponseReader, GzipAndDeflateBodiesAreDecoded) {
    const std::string text = R"({"name":"decoded","list":[1,2,3,4,5,6,7,8,9,10]})";
    struct Case {
        std::string header;
        std::string body;
    };
    const Case cases[] = {
        {"Content-Encoding: gzip\r\n", compress(text, Wrapper::Gzip)},
        {"Content-Encoding: x-gzip\r\n", compress(text, Wrapper::Gzip)},
        {"Content-Encoding: GZIP\r\n", compress(text, Wrapper::Gzip)},
        {"Content-Encoding: deflate\r\n", compress(text, Wrapper::Zlib)},
        {"Content-Encoding: deflate\r\n", compress(text, Wrapper::RawDeflate)},
        {"Content-Encoding: identity\r\n", text},
        // Codings are listed in the order applied: deflate first, then gzip.
        {"Content-Encoding: deflate, gzip\r\n",
         compress(compress(text, Wrapper::Zlib), Wrapper::Gzip)},
        {"Content-Encoding: deflate\r\nContent-Encoding: gzip\r\n",
         compress(compress(text, Wrapper::Zlib), Wrapper::Gzip)},
        // Two gzip members one after the other make one body.
        {"Content-Encoding: gzip\r\n",
         compress(text.substr(0, 10), Wrapper::Gzip) + compress(text.substr(10), Wrapper::Gzip)},
    };
    for (const Case& c : cases) {
        HttpResult r = parse(response(c.body, c.header));
        ASSERT_TRUE(r.ok()) << c.header << r.message;
        EXPECT_EQ(r.response->body, text) << c.header;
    }
}

TEST(ResponseReader, ADecodedBodyOverTheLimitFailsWithoutGrowingPastIt) {
    // 64 MiB of zeros compress to about 64 KiB: under the limit as sent, far over it decoded.
    const std::string bomb = compress(std::string(64u << 20, '\0'), Wrapper::Gzip);
    const std::size_t limit = 1u << 20;
    ASSERT_LT(bomb.size(), limit);
    HttpResult r = parse(response(bomb, "Content-Encoding: gzip\r\n"), limit);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.failure, FailureKind::TooLarge);
    EXPECT_EQ(r.message, "response body over 1048576 bytes after decoding gzip (the limit is "
                         "max_response_bytes)");
    // Exactly at the limit is fine.
    const std::string fits = compress(std::string(limit, 'a'), Wrapper::Zlib);
    HttpResult ok = parse(response(fits, "Content-Encoding: deflate\r\n"), limit);
    ASSERT_TRUE(ok.ok()) << ok.message;
    EXPECT_EQ(ok.response->body.size(), limit);
    HttpResult over = parse(response(fits, "Content-Encoding: deflate\r\n"), limit - 1);
    EXPECT_EQ(over.failure, FailureKind::TooLarge);
}

TEST(ResponseReader, AnUnknownContentEncodingIsAnErrorNamingIt) {
    for (const std::string coding : {"br", "zstd", "compress"}) {
        HttpResult r = parse(response("\x1b\x02\x03", "Content-Encoding: " + coding + "\r\n"));
        ASSERT_FALSE(r.ok()) << coding;
        EXPECT_EQ(r.failure, FailureKind::Protocol);
        EXPECT_EQ(r.message, "the response body uses Content-Encoding \"" + coding +
                                 "\", which cannot be decoded (gzip and deflate can)");
    }
}

TEST(ResponseReader, CorruptOrTruncatedCompressedBodiesAreErrors) {
    const std::string good = compress("some text that compresses, some text", Wrapper::Gzip);
    std::string flipped = good;
    flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x55);
    const std::string bodies[] = {"not gzip at all", flipped, good.substr(0, good.size() - 6),
                                  good + "junk"};
    for (const std::string& body : bodies) {
        HttpResult r = parse(response(body, "Content-Encoding: gzip\r\n"));
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.failure, FailureKind::Protocol);
        EXPECT_EQ(r.message.rfind("cannot decode the gzip response body: ", 0), 0u) << r.message;
    }
    HttpResult deflate = parse(response("\xff\xff\xff", "Content-Encoding: deflate\r\n"));
    EXPECT_EQ(deflate.failure, FailureKind::Protocol) << deflate.message;
}

TEST(ResponseReader, BodilessResponsesAreNotDecoded) {
    HttpResult head = parse(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 120\r\n\r\n", 1u << 20, true);
    ASSERT_TRUE(head.ok()) << head.message;
    EXPECT_EQ(head.response->body, "");
    HttpResult no_content = parse("HTTP/1.1 204 No Content\r\nContent-Encoding: gzip\r\n\r\n");
    ASSERT_TRUE(no_content.ok()) << no_content.message;
    EXPECT_EQ(no_content.response->status, 204);
}

TEST(ResponseReader, AResponseCutShortIsAReset) {
    HttpResult nothing = parse("");
    EXPECT_EQ(nothing.failure, FailureKind::Reset);
    HttpResult half = parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    EXPECT_EQ(half.failure, FailureKind::Reset) << half.message;
    HttpResult only_interim = parse("HTTP/1.1 100 Continue\r\n\r\n");
    EXPECT_EQ(only_interim.failure, FailureKind::Reset) << only_interim.message;
    HttpResult garbage = parse("SSH-2.0-OpenSSH\r\n\r\n");
    EXPECT_EQ(garbage.failure, FailureKind::Protocol) << garbage.message;
}

TEST(ResponseReader, TheFuzzSeedsReadTheSameWholeAndInSlices) {
    const std::filesystem::path dir =
        std::filesystem::path(test::source_dir()) / "tests/fuzz/corpus/http_response";
    std::size_t seeds = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        std::ifstream in(entry.path(), std::ios::binary);
        std::stringstream buffer;
        buffer << in.rdbuf();
        const std::string bytes = buffer.str();
        HttpResult whole = parse(bytes);
        ASSERT_TRUE(whole.ok()) << entry.path() << ": " << whole.message;
        EXPECT_EQ(whole.response->status, 200) << entry.path();
        EXPECT_FALSE(whole.response->body.empty()) << entry.path();
        for (std::size_t slice : {1u, 3u, 16u}) {
            HttpResult sliced = parse_in_slices(bytes, slice);
            ASSERT_TRUE(sliced.ok()) << entry.path() << " in slices of " << slice;
            EXPECT_EQ(sliced.response->body, whole.response->body) << entry.path();
        }
        ++seeds;
    }
    EXPECT_GE(seeds, 4u);
}

} // namespace
} // namespace conveyor::net
