#pragma once

// The errors both engines report alike.

#include "conveyor/queue/work_queue.hpp"

namespace conveyor::queue {

inline Failure no_such_queue(const QueueUrl& url) {
    return fail(ErrorKind::NoInput,
                "there is no queue " + url.to_string() + " (create it with `conveyor queue push`)");
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
