#include "pg_api.hpp"

#include "conveyor/core/shared_library.hpp"

#include <string>

namespace conveyor::plugins::postgres {

namespace {

bool bind_all(const SharedLibrary& lib, PqApi& api, std::string& missing) {
    bool ok = true;
#define CONVEYOR_BIND(name) ok = ok && lib.bind("PQ" #name, api.name, missing);
    CONVEYOR_LIBPQ_FUNCTIONS(CONVEYOR_BIND)
#undef CONVEYOR_BIND
    return ok;
}

LazyApi<PqApi> library("libpq.so.5", "PostgreSQL's client library", "libpq5", bind_all);

} // namespace

Result<const PqApi*> load_libpq() {
    return library.load();
}

const PqApi& pq() noexcept {
    return library.api();
}

} // namespace conveyor::plugins::postgres
