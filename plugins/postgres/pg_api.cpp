#include "pg_api.hpp"

#include <dlfcn.h>
#include <mutex>
#include <string>

namespace conveyor::plugins::postgres {

namespace {

constexpr const char* kLibrary = "libpq.so.5";

PqApi api;
std::once_flag loaded;
std::string load_error; ///< empty when api is complete

template <class Fn>
bool bind(void* lib, const char* name, Fn& into, std::string& missing) {
    void* sym = ::dlsym(lib, name);
    if (!sym) {
        missing = name;
        return false;
    }
    into = reinterpret_cast<Fn>(sym); // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
    return true;
}

void load() {
    // Kept for the life of the process: libpq keeps state (SSL, Kerberos) of its own.
    void* lib = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char* why = ::dlerror();
        load_error = std::string("cannot load ") + kLibrary + " (PostgreSQL's client library; " +
                     "Debian: apt-get install libpq5): " + (why ? why : "unknown error");
        return;
    }
    std::string missing;
    bool ok = true;
    ok = ok && bind(lib, "PQclear", api.clear, missing);
    ok = ok && bind(lib, "PQconnectdb", api.connectdb, missing);
    ok = ok && bind(lib, "PQconninfoFree", api.conninfoFree, missing);
    ok = ok && bind(lib, "PQconninfoParse", api.conninfoParse, missing);
    ok = ok && bind(lib, "PQerrorMessage", api.errorMessage, missing);
    ok = ok && bind(lib, "PQexec", api.exec, missing);
    ok = ok && bind(lib, "PQexecParams", api.execParams, missing);
    ok = ok && bind(lib, "PQfinish", api.finish, missing);
    ok = ok && bind(lib, "PQfname", api.fname, missing);
    ok = ok && bind(lib, "PQfreemem", api.freemem, missing);
    ok = ok && bind(lib, "PQftype", api.ftype, missing);
    ok = ok && bind(lib, "PQgetCopyData", api.getCopyData, missing);
    ok = ok && bind(lib, "PQgetResult", api.getResult, missing);
    ok = ok && bind(lib, "PQgetisnull", api.getisnull, missing);
    ok = ok && bind(lib, "PQgetlength", api.getlength, missing);
    ok = ok && bind(lib, "PQgetvalue", api.getvalue, missing);
    ok = ok && bind(lib, "PQhost", api.host, missing);
    ok = ok && bind(lib, "PQnfields", api.nfields, missing);
    ok = ok && bind(lib, "PQntuples", api.ntuples, missing);
    ok = ok && bind(lib, "PQport", api.port, missing);
    ok = ok && bind(lib, "PQputCopyData", api.putCopyData, missing);
    ok = ok && bind(lib, "PQputCopyEnd", api.putCopyEnd, missing);
    ok = ok && bind(lib, "PQresultErrorField", api.resultErrorField, missing);
    ok = ok && bind(lib, "PQresultErrorMessage", api.resultErrorMessage, missing);
    ok = ok && bind(lib, "PQresultStatus", api.resultStatus, missing);
    ok = ok && bind(lib, "PQsendQuery", api.sendQuery, missing);
    ok = ok && bind(lib, "PQsetNoticeProcessor", api.setNoticeProcessor, missing);
    ok = ok && bind(lib, "PQstatus", api.status, missing);
    if (!ok) load_error = std::string(kLibrary) + " has no function " + missing;
}

} // namespace

Result<const PqApi*> load_libpq() {
    std::call_once(loaded, load);
    if (!load_error.empty()) return Error(ErrorKind::Config, load_error);
    return &api;
}

const PqApi& pq() noexcept {
    return api;
}

} // namespace conveyor::plugins::postgres
