#include "nats_api.hpp"

#include "conveyor/core/shared_library.hpp"

#include <string>

namespace conveyor::queue {

namespace {

bool bind_all(const SharedLibrary& lib, NatsApi& api, std::string& missing) {
    bool ok = true;
#define CONVEYOR_BIND(name) ok = ok && lib.bind(#name, api.name, missing);
    CONVEYOR_NATS_FUNCTIONS(CONVEYOR_BIND)
#undef CONVEYOR_BIND
    return ok;
}

LazyApi<NatsApi> library("libnats.so.3.4", "the NATS C client", "libnats3.4", bind_all);

} // namespace

Result<const NatsApi*> load_libnats() {
    return library.load();
}

const NatsApi& nats() noexcept {
    return library.api();
}

} // namespace conveyor::queue
