#include "conveyor/net/http_response_reader.hpp"

#include "content_coding.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

namespace conveyor::net {

namespace {

/// Bytes a parser may leave unused while it waits for the end of a line (a chunk size, a
/// trailer field) beyond the header limit; more means the server is sending an endless line.
constexpr std::size_t kLineSlack = 4096;

HttpResult failed(FailureKind kind, std::string message) {
    HttpResult r;
    r.failure = kind;
    r.message = std::move(message);
    return r;
}

} // namespace

/// See Impl::starving.
constexpr std::size_t kMinResumeBytes = 5;

struct ResponseReader::Impl {
    ResponseLimits limits;
    bool head = false;
    std::optional<http::response_parser<http::string_body>> parser;
    std::size_t interim = 0;
    bool got_some = false;
    bool eof = false;
    /// The parser asked for more bytes last time. Beast 1.81's chunk parser asserts when it is
    /// then given fewer than 5 bytes in its final-chunk state ("0\r\n" then "\r"; fixed in
    /// Beast 1.86, boostorg/beast#2861): it is not called again until 5 unused bytes wait. No
    /// message can end sooner (the shortest final chunk, "0\r\n\r\n", is 5 bytes).
    bool starving = false;
    State state = State::NeedMore;
    HttpResult result;

    void start_message() {
        parser.emplace();
        // eager: one put() goes on from the header into the body.
        parser->eager(true);
        parser->body_limit(static_cast<std::uint64_t>(limits.max_body_bytes));
        parser->header_limit(
            static_cast<std::uint32_t>(std::min<std::size_t>(limits.max_header_bytes, UINT32_MAX)));
        if (head) parser->skip(true);
    }

    void fail(FailureKind kind, std::string message) {
        state = State::Failed;
        result = failed(kind, std::move(message));
    }

    void fail_parse(const error_code& ec) {
        if (ec == http::error::body_limit)
            fail(FailureKind::TooLarge, "the response body is larger than max_response_bytes (" +
                                            std::to_string(limits.max_body_bytes) + " bytes)");
        else if (ec == http::error::partial_message)
            fail(FailureKind::Reset,
                 "the connection was closed before the whole response arrived (" + ec.message() +
                     ")");
        else
            fail(FailureKind::Protocol, "invalid HTTP response: " + ec.message());
    }

    /// The message in the parser is complete: an interim response to skip, or the final one.
    void message_done() {
        const unsigned status = parser->get().result_int();
        if (status == 101) {
            // We never ask to upgrade; the bytes after a 101 are not HTTP any more.
            fail(FailureKind::Protocol,
                 "invalid HTTP response: the server switched protocols (101) without being asked");
            return;
        }
        if (status >= 100 && status < 200) {
            // RFC 9110 section 15.2: interim responses (100 Continue, 102, 103 Early Hints)
            // precede the final response to the same request.
            if (++interim > limits.max_interim) {
                fail(FailureKind::Protocol, "invalid HTTP response: more than " +
                                                std::to_string(limits.max_interim) +
                                                " interim (1xx) responses");
                return;
            }
            start_message();
            return;
        }
        finish();
    }

    void finish() {
        auto& msg = parser->get();
        HttpResponse resp;
        resp.status = static_cast<int>(msg.result_int());
        resp.reason = std::string(msg.reason());
        std::string encoding;
        for (const auto& field : msg) {
            resp.headers.push_back({std::string(field.name_string()), std::string(field.value())});
            if (field.name() == http::field::content_encoding) {
                if (!encoding.empty()) encoding += ", ";
                encoding += field.value();
            }
        }
        resp.body = std::move(msg.body());
        if (!head && !encoding.empty()) {
            if (auto bad = decode_content(encoding, resp.body, limits.max_body_bytes)) {
                fail(bad->kind, std::move(bad->message));
                return;
            }
        }
        state = State::Done;
        result = HttpResult{};
        result.response = std::move(resp);
    }

    std::size_t put(std::string_view bytes) {
        std::size_t used_total = 0;
        while (state == State::NeedMore && used_total < bytes.size()) {
            if (starving && bytes.size() - used_total < kMinResumeBytes) break;
            starving = false;
            error_code ec;
            const std::size_t used = parser->put(
                asio::const_buffer(bytes.data() + used_total, bytes.size() - used_total), ec);
            used_total += used;
            if (used > 0) got_some = true;
            if (ec == http::error::need_more) {
                starving = true;
                break;
            }
            if (ec) {
                fail_parse(ec);
                break;
            }
            if (parser->is_done()) {
                message_done();
                continue;
            }
            if (used == 0) break;
        }
        if (state == State::NeedMore &&
            bytes.size() - used_total > limits.max_header_bytes + kLineSlack)
            fail(FailureKind::Protocol, "invalid HTTP response: a line is longer than " +
                                            std::to_string(limits.max_header_bytes) + " bytes");
        return used_total;
    }

    void put_eof() {
        if (state != State::NeedMore) return;
        eof = true;
        if (!parser->got_some()) {
            fail(FailureKind::Reset,
                 "the connection was closed before the whole response arrived (end of stream)");
            return;
        }
        error_code ec;
        parser->put_eof(ec);
        if (ec) {
            fail_parse(ec);
            return;
        }
        if (parser->is_done())
            message_done();
        else
            fail(FailureKind::Reset, "the connection was closed before the whole response arrived");
        // An interim response followed by the close leaves no final response.
        if (state == State::NeedMore)
            fail(FailureKind::Reset,
                 "the connection was closed before the whole response arrived (end of stream)");
    }
};

ResponseReader::ResponseReader(ResponseLimits limits, bool head_request)
    : impl_(std::make_unique<Impl>()) {
    impl_->limits = limits;
    impl_->head = head_request;
    impl_->start_message();
}

ResponseReader::~ResponseReader() = default;

std::size_t ResponseReader::put(std::string_view bytes) {
    return impl_->put(bytes);
}

void ResponseReader::put_eof() {
    impl_->put_eof();
}

ResponseReader::State ResponseReader::state() const noexcept {
    return impl_->state;
}

bool ResponseReader::got_some() const noexcept {
    return impl_->got_some;
}

bool ResponseReader::keep_alive() const noexcept {
    return impl_->state == State::Done && !impl_->eof && impl_->parser->keep_alive();
}

HttpResult ResponseReader::take_result() {
    return std::move(impl_->result);
}

HttpResult parse_http_response(std::string_view bytes, const ResponseLimits& limits,
                               bool head_request) {
    ResponseReader reader(limits, head_request);
    std::size_t used = 0;
    while (reader.state() == ResponseReader::State::NeedMore) {
        const std::size_t n = reader.put(bytes.substr(used));
        used += n;
        if (n == 0 && reader.state() == ResponseReader::State::NeedMore) reader.put_eof();
    }
    return reader.take_result();
}

} // namespace conveyor::net
