#include "conveyor/registry/registry.hpp"
#include "csv_functions.hpp"

namespace conveyor::plugins {

void register_csv(Registry& registry) {
    registry.add("csv.read", csv::csv_read_descriptor);
    registry.add("csv.write", csv::csv_write_descriptor);
}

} // namespace conveyor::plugins
