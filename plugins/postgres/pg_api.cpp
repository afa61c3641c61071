#include "pg_api.hpp"

#include "conveyor/core/shared_library.hpp"

#include <mutex>
#include <string>

namespace conveyor::plugins::postgres {

namespace {

PqApi api;
std::once_flag loaded;
std::string load_error; ///< empty when api is complete

void load() {
    auto lib = SharedLibrary::open("libpq.so.5", "PostgreSQL's client library", "libpq5");
    if (!lib) {
        load_error = lib.error().message;
        return;
    }
    std::string missing;
    bool ok = true;
#define CONVEYOR_PQ_BIND(name) ok = ok && lib->bind("PQ" #name, api.name, missing);
    CONVEYOR_LIBPQ_FUNCTIONS(CONVEYOR_PQ_BIND)
#undef CONVEYOR_PQ_BIND
    if (!ok) load_error = lib->soname() + " has no function " + missing;
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
