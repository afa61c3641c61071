#pragma once

// The errors both engines report alike, and how both read the numbers of a queue's spec.

#include "conveyor/queue/work_queue.hpp"

#include <charconv>
#include <string>

namespace conveyor::queue {

inline Failure no_such_queue(const QueueUrl& url) {
    return fail(ErrorKind::NoInput,
                "there is no queue " + url.to_string() + " (create it with `conveyor queue push`)");
}

/// The queue's name was taken by a `queue push` that ended (killed, the engine failed or went
/// away) before every chunk was on it: no worker may take its chunks, which are not all there.
inline Failure incomplete_queue(const QueueUrl& url) {
    return fail(ErrorKind::NoInput,
                "queue " + url.to_string() +
                    " was never completely pushed (its `conveyor queue push` ended before every "
                    "chunk was on it): push the pipeline again under a new name");
}

/// A whole decimal number of a queue's spec as stored; false when it is missing or not one (a
/// queue never completely pushed has none).
template <class T>
bool parse_count(const std::string& text, T& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

inline Failure queue_exists(const QueueUrl& url) {
    return fail(ErrorKind::Usage,
                "queue " + url.to_string() + " exists already: push to a new name");
}

/// The engine does not answer at `url`'s address: worth trying again later.
inline Failure engine_unreachable(const QueueUrl& url, const char* engine, const std::string& why,
                                  const char* server) {
    return fail(ErrorKind::TempFail, std::string("cannot reach ") + engine + " at " + url.host +
                                         ":" + std::to_string(url.port) + " (" + why + "): is " +
                                         server + " running there?");
}

} // namespace conveyor::queue
