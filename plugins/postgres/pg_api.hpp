#pragma once

// libpq, loaded when a postgres stage first needs it rather than linked into conveyor (see
// conveyor/core/shared_library.hpp for why). The declarations still come from libpq-fe.h
// (libpq-dev), so every call is type-checked against the library's own header.

#include "conveyor/core/result.hpp"

#include <libpq-fe.h>

namespace conveyor::plugins::postgres {

/// The libpq functions the plugin calls, each listed once: X(name) is PQname.
#define CONVEYOR_LIBPQ_FUNCTIONS(X)                                                                \
    X(clear)                                                                                       \
    X(connectPoll)                                                                                 \
    X(connectStart)                                                                                \
    X(conninfoFree)                                                                                \
    X(conninfoParse)                                                                               \
    X(consumeInput)                                                                                \
    X(errorMessage)                                                                                \
    X(finish)                                                                                      \
    X(flush)                                                                                       \
    X(fname)                                                                                       \
    X(freemem)                                                                                     \
    X(ftype)                                                                                       \
    X(getCopyData)                                                                                 \
    X(getResult)                                                                                   \
    X(getisnull)                                                                                   \
    X(getlength)                                                                                   \
    X(getvalue)                                                                                    \
    X(host)                                                                                        \
    X(isBusy)                                                                                      \
    X(nfields)                                                                                     \
    X(ntuples)                                                                                     \
    X(port)                                                                                        \
    X(putCopyData)                                                                                 \
    X(putCopyEnd)                                                                                  \
    X(resultErrorField)                                                                            \
    X(resultErrorMessage)                                                                          \
    X(resultStatus)                                                                                \
    X(sendQueryParams)                                                                             \
    X(sendQuery)                                                                                   \
    X(setnonblocking)                                                                              \
    X(setNoticeProcessor)                                                                          \
    X(socket)                                                                                      \
    X(status)

/// The loaded functions, named after them without "PQ" (PQexec -> exec).
struct PqApi {
#define CONVEYOR_PQ_MEMBER(name) decltype(&::PQ##name) name = nullptr;
    CONVEYOR_LIBPQ_FUNCTIONS(CONVEYOR_PQ_MEMBER)
#undef CONVEYOR_PQ_MEMBER
};

/// libpq.so.5, loaded once (thread-safe); a Config error naming the library and what the
/// loader said when it cannot be loaded or lacks a function.
Result<const PqApi*> load_libpq();

/// The loaded library; only after load_libpq() succeeded (every connection was opened so).
const PqApi& pq() noexcept;

} // namespace conveyor::plugins::postgres
