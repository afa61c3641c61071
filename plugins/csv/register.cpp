#include "conveyor/registry/registry.hpp"
#include "csv_read.hpp"
#include "csv_write.hpp"

namespace conveyor::plugins {

void register_csv(Registry& registry) {
    registry.add(csv::csv_read_descriptor());
    registry.add(csv::csv_write_descriptor());
}

} // namespace conveyor::plugins
