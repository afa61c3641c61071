#include "conveyor/registry/registry.hpp"
#include "sqlite_read.hpp"
#include "sqlite_write.hpp"

namespace conveyor::plugins {

void register_sqlite(Registry& registry) {
    registry.add("sqlite.read", sqlite::sqlite_read_descriptor);
    registry.add("sqlite.write", sqlite::sqlite_write_descriptor);
}

} // namespace conveyor::plugins
