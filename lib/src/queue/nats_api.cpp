#include "nats_api.hpp"

#include "conveyor/core/shared_library.hpp"

#include <mutex>
#include <string>

namespace conveyor::queue {

namespace {

NatsApi api;
std::once_flag loaded;
std::string load_error; ///< empty when api is complete

void load() {
    auto lib = SharedLibrary::open("libnats.so.3.4", "the NATS C client", "libnats3.4");
    if (!lib) {
        load_error = lib.error().message;
        return;
    }
    std::string missing;
    bool ok = true;
#define CONVEYOR_NATS_BIND(name) ok = ok && lib->bind(#name, api.name, missing);
    CONVEYOR_NATS_FUNCTIONS(CONVEYOR_NATS_BIND)
#undef CONVEYOR_NATS_BIND
    if (!ok) load_error = lib->soname() + " has no function " + missing;
}

} // namespace

Result<const NatsApi*> load_libnats() {
    std::call_once(loaded, load);
    if (!load_error.empty()) return Error(ErrorKind::Config, load_error);
    return &api;
}

const NatsApi& nats() noexcept {
    return api;
}

} // namespace conveyor::queue
