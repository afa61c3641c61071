#include "conveyor/registry/registry.hpp"
#include "pg_read.hpp"
#include "pg_write.hpp"

namespace conveyor::plugins {

void register_postgres(Registry& registry) {
    registry.add("postgres.read", postgres::pg_read_descriptor);
    registry.add("postgres.write", postgres::pg_write_descriptor);
}

} // namespace conveyor::plugins
