#include "conveyor/queue/work_queue.hpp"

#include "nats_queue.hpp"
#include "redis_queue.hpp"

#include <cctype>
#include <charconv>
#include <cstdio>

namespace conveyor::queue {

namespace {

const char* scheme(QueueUrl::Engine e) {
    return e == QueueUrl::Engine::Redis ? "redis" : "nats";
}

Failure bad_url(std::string_view text, const std::string& why) {
    return fail(ErrorKind::Usage,
                "--queue '" + std::string(text) + "': " + why +
                    " (expected redis://HOST:PORT/NAME or nats://HOST:PORT/NAME)");
}

} // namespace

std::string QueueUrl::to_string() const {
    return std::string(scheme(engine)) + "://" + host + ":" + std::to_string(port) + "/" + name;
}

Result<QueueUrl> parse_queue_url(std::string_view text) {
    QueueUrl url;
    std::string_view rest;
    if (text.starts_with("redis://")) {
        url.engine = QueueUrl::Engine::Redis;
        rest = text.substr(8);
    } else if (text.starts_with("nats://")) {
        url.engine = QueueUrl::Engine::Nats;
        rest = text.substr(7);
    } else {
        return bad_url(text, "unknown scheme");
    }
    const std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return bad_url(text, "no queue name");
    const std::string_view authority = rest.substr(0, slash);
    url.name = std::string(rest.substr(slash + 1));
    if (url.name.empty()) return bad_url(text, "no queue name");
    for (char c : url.name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
            return bad_url(text, "a queue name has letters, digits, '-' and '_' only");
    const std::size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    url.port = url.engine == QueueUrl::Engine::Redis ? 6379 : 4222;
    if (colon != std::string_view::npos) {
        const std::string_view port = authority.substr(colon + 1);
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), url.port);
        if (ec != std::errc() || end != port.data() + port.size() || url.port < 1 ||
            url.port > 65535)
            return bad_url(text, "bad port '" + std::string(port) + "'");
    }
    if (url.host.empty()) return bad_url(text, "no host");
    return url;
}

std::string pipeline_digest(std::string_view bytes) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
    return out;
}

std::string Lease::attempt() const {
    return message_id + "_" + std::to_string(delivery);
}

Result<std::unique_ptr<WorkQueue>> open_queue(const QueueUrl& url,
                                              std::chrono::milliseconds timeout) {
    if (url.engine == QueueUrl::Engine::Redis) return open_redis_queue(url, timeout);
    return open_nats_queue(url, timeout);
}

} // namespace conveyor::queue
