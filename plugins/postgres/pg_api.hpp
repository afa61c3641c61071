#pragma once

// libpq, loaded when a postgres stage first needs it rather than linked into conveyor: linked,
// libpq and the libraries it pulls in (Kerberos, LDAP, GnuTLS, SASL: about twenty) are loaded
// and relocated at every start of conveyor, a millisecond or more of a one-record run that
// never touches PostgreSQL. The declarations still come from libpq-fe.h (libpq-dev), so every
// call is type-checked against the library's own header.

#include "conveyor/core/result.hpp"

#include <libpq-fe.h>

namespace conveyor::plugins::postgres {

/// The libpq functions the plugin calls, named after them without "PQ" (PQexec -> exec).
struct PqApi {
    decltype(&::PQclear) clear = nullptr;
    decltype(&::PQconnectdb) connectdb = nullptr;
    decltype(&::PQconninfoFree) conninfoFree = nullptr;
    decltype(&::PQconninfoParse) conninfoParse = nullptr;
    decltype(&::PQerrorMessage) errorMessage = nullptr;
    decltype(&::PQexec) exec = nullptr;
    decltype(&::PQexecParams) execParams = nullptr;
    decltype(&::PQfinish) finish = nullptr;
    decltype(&::PQfname) fname = nullptr;
    decltype(&::PQfreemem) freemem = nullptr;
    decltype(&::PQftype) ftype = nullptr;
    decltype(&::PQgetCopyData) getCopyData = nullptr;
    decltype(&::PQgetResult) getResult = nullptr;
    decltype(&::PQgetisnull) getisnull = nullptr;
    decltype(&::PQgetlength) getlength = nullptr;
    decltype(&::PQgetvalue) getvalue = nullptr;
    decltype(&::PQhost) host = nullptr;
    decltype(&::PQnfields) nfields = nullptr;
    decltype(&::PQntuples) ntuples = nullptr;
    decltype(&::PQport) port = nullptr;
    decltype(&::PQputCopyData) putCopyData = nullptr;
    decltype(&::PQputCopyEnd) putCopyEnd = nullptr;
    decltype(&::PQresultErrorField) resultErrorField = nullptr;
    decltype(&::PQresultErrorMessage) resultErrorMessage = nullptr;
    decltype(&::PQresultStatus) resultStatus = nullptr;
    decltype(&::PQsendQuery) sendQuery = nullptr;
    decltype(&::PQsetNoticeProcessor) setNoticeProcessor = nullptr;
    decltype(&::PQstatus) status = nullptr;
};

/// libpq.so.5, loaded once (thread-safe); a Config error naming the library and what the
/// loader said when it cannot be loaded or lacks a function.
Result<const PqApi*> load_libpq();

/// The loaded library; only after load_libpq() succeeded (every connection was opened so).
const PqApi& pq() noexcept;

} // namespace conveyor::plugins::postgres
